/**
 * The HTTP side of the uWebSockets.js transport: one HttpExchange per
 * request carries the app's events to the socket. The rules of what an app
 * may send when live in @tsgi/core's HttpResponseCycle and the body queue in
 * flow-control.ts; this module only moves bytes, and keeps the promises uWS
 * demands: onAborted attached synchronously, HttpRequest copied at entry,
 * onData chunks copied, writes corked, write()/tryEnd() backpressure waited
 * on through onWritable, and no exception ever unwinding into native code.
 */
import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import {
  ClientDisconnected,
  HttpResponseCycle,
  ProtocolError,
  buildHttpScope,
  type HttpAction,
  type HttpReceiveEvent,
  type NormalizedHeaders,
  type Receive,
  type Send,
} from '@tsgi/core';
import {
  RequestBodyQueue,
  accessLine,
  accessPrefix,
  httpEnding,
  quiet,
  refusalOf,
  runApp,
  statusReason,
  type AppExit,
  type ReadControl,
  type ServerContext,
  type TrackedConnection,
} from '@tsgi/core/server';
import type { HttpRequest, HttpResponse } from './binding.js';
import { copyBytes } from './copy-bytes.js';
import { headRules, readRequestHead } from './request-head.js';

const noop = (): void => {};

/** fs.read on a raw descriptor as a promise; `position` null reads from (and advances) the descriptor's own position. */
function readFd(fd: number, buf: Buffer, length: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/** Size of the reads when streaming a file (pathsend): memory per response is this, whatever the file size. */
const FILE_CHUNK = 256 * 1024;

const NON_ASCII = /[\u0080-\u00ff]/;
const EMPTY_BODY = new Uint8Array(0);

/** A byte string as uWS must receive it: it encodes JS strings as UTF-8, so one with a char >= 0x80 goes as its latin-1 bytes. */
function latin1Bytes(s: string): string | Buffer {
  return NON_ASCII.test(s) ? Buffer.from(s, 'latin1') : s;
}
const statusLines = new Map<number, string>();

/** `200 OK`-style status line for writeStatus (cached per status). */
function statusLine(status: number): string {
  let s = statusLines.get(status);
  if (s === undefined) {
    s = `${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
    if (s.length === 3) s += ' ';
    statusLines.set(status, s);
  }
  return s;
}

/** The server's own headers of every response (server, --header), encoded once for writeHeader, and their size. */
interface DefaultHeaders {
  list: Array<[string, string | Buffer]>;
  bytes: number;
}

function defaultHeadersOf(headers: ReadonlyArray<[string, string]>): DefaultHeaders {
  let bytes = 0;
  for (const [name, value] of headers) bytes += name.length + value.length + 4;
  return { list: headers.map(([name, value]) => [name, latin1Bytes(value)]), bytes };
}

/** The response head the app sent, held until the first body bytes so framing can be chosen. */
interface PendingStart {
  status: number;
  /** The app's reason phrase (http.response.reason_phrase), or null for the standard one. */
  reason: string | null;
  headers: NormalizedHeaders;
  contentLength: number | null;
}

/**
 * The most body bytes one `res.write()`/`res.end()` of a chunked response
 * carries, each in a cork of its own: with its chunk framing it fits
 * uWebSockets.js's 16 KiB cork buffer. A write that overflows that buffer
 * makes v20.30 flush the buffer first (AsyncSocket::uncork), and when the
 * socket takes less than the whole buffer, the write's own bytes are dropped
 * after its chunk-size line went out: the client reads a corrupt chunked
 * body (docs/choosing-a-server.md tells how it was found).
 */
export const CHUNK_SLICE = 16 * 1024 - 64;

/** What send() returns when the event was carried out at once: one settled promise for every such send. */
const SENT: Promise<void> = Promise.resolve();

/** One request/response on a uWS connection; also the ReadControl of its body queue. */
class HttpExchange implements TrackedConnection, ReadControl {
  trackingId = 0;
  readonly cycle: HttpResponseCycle;
  readonly body: RequestBodyQueue;
  /** The client went away (onAborted) or we closed the connection: res is unusable. */
  private aborted = false;
  /** The response was ended on the wire: res is unusable. */
  private ended = false;
  private headWritten = false;
  private start: PendingStart | null = null;
  /** Close the connection after this response (shutdown, app's `connection: close`, keep-alive off). */
  private closeAfter: boolean;
  private received = 0;
  // A send() waiting for onWritable; with tryEnd, the part of the chunk not yet taken.
  private waitResolve: (() => void) | undefined;
  private waitReject: ((e: unknown) => void) | undefined;
  private retryChunk: Uint8Array | undefined;
  private retryBase = 0;
  private retryTotal = 0;
  private writableHooked = false;
  /** Read buffer of zerocopysend, reused across its events. */
  private fileBuffer: Buffer | undefined;
  /** The write a send() is waiting on (backpressure), if any. */
  private writing: Promise<void> | undefined;
  // The slice writeSlice() hands to res.write() (a field, so each slice's cork needs no new closure).
  private slice: Uint8Array = EMPTY_BODY;
  private sliceOk = true;
  private readonly writeSlice = (): void => {
    this.sliceOk = this.res.write(this.slice) && this.sliceOk;
  };

  readonly receive: Receive<HttpReceiveEvent>;
  readonly send: Send;

  constructor(
    private readonly ctx: ServerContext,
    private readonly res: HttpResponse,
    method: string,
    hasBody: boolean,
    /** `client - "METHOD target HTTP/1.1"` for the access log, or null when it is off. */
    private readonly accessPrefix: string | null,
    /** performance.now() when the request arrived, for the access log's duration. */
    private readonly startedMs: number,
    private readonly defaults: DefaultHeaders,
  ) {
    this.cycle = new HttpResponseCycle({ method, extensions: ctx.httpScope.extensions });
    this.body = new RequestBodyQueue(this, hasBody);
    this.closeAfter = ctx.options.timeoutKeepAlive === 0 || ctx.connections.closing;
    this.receive = () => this.body.receive();
    this.send = (event) => this.onSend(event);
  }

  // ---- ReadControl: the body queue throttles the socket -------------------

  pause(): void {
    if (!this.aborted && !this.ended) this.res.pause();
  }
  resume(): void {
    if (!this.aborted && !this.ended) this.res.resume();
  }

  // ---- TrackedConnection: graceful shutdown -------------------------------

  shutdown(): void {
    this.closeAfter = true;
  }
  abort(): void {
    if (!this.aborted && !this.ended) this.res.close();
  }

  // ---- uWS callbacks (each wrapped by the caller in try/catch) ------------

  onAborted(): void {
    this.aborted = true;
    this.cycle.disconnect();
    this.body.disconnect();
    this.rejectWaiter();
  }

  onData(chunk: ArrayBuffer, last: boolean): void {
    if (this.aborted || this.ended) return; // after the response, the rest of the body is dropped
    const n = chunk.byteLength;
    this.received += n;
    const limit = this.ctx.options.limitMaxBodySize;
    if (limit !== null && this.received > limit) {
      this.refuseBody();
      return;
    }
    // uWS neuters the ArrayBuffer when this callback returns: copy it.
    this.body.push(copyBytes(chunk), last);
  }

  onWritable(offset: number): boolean {
    if (this.aborted || this.ended) return true;
    const chunk = this.retryChunk;
    if (chunk === undefined) {
      // write() keeps the whole chunk: the socket drained, the send can resolve.
      this.resolveWaiter();
      return true;
    }
    const [ok, done] = this.res.tryEnd(chunk.subarray(offset - this.retryBase), this.retryTotal);
    if (done) this.markEnded();
    if (ok || done) {
      this.retryChunk = undefined;
      this.resolveWaiter();
    }
    return ok;
  }

  // ---- The app's side -----------------------------------------------------

  /**
   * The app's send(). The event is checked at once; when no earlier write is
   * waiting on the socket it is also carried out at once, and an event that
   * needs no waiting (the usual start and single body) gets the shared
   * settled promise instead of an async function's.
   */
  private onSend(event: unknown): Promise<void> {
    try {
      const action = this.cycle.send(event);
      // An app that sends again before the previous send() resolved waits its turn, in order.
      if (this.writing !== undefined) return quiet(this.performInTurn(action));
      const p = this.perform(action);
      return p === undefined ? SENT : quiet(p);
    } catch (e) {
      return quiet(Promise.reject(e));
    }
  }

  private async performInTurn(action: HttpAction): Promise<void> {
    while (this.writing !== undefined) await this.writing.catch(noop);
    return this.perform(action);
  }

  /** Carries out one checked event; a promise when it has to wait (backpressure, files). */
  private perform(action: HttpAction): Promise<void> | void {
    if (this.aborted && action.kind !== 'start') throw new ClientDisconnected();
    switch (action.kind) {
      case 'start':
        this.start = action;
        return;
      case 'body':
        if (!action.transmit) {
          if (!action.more) this.endBodyless(this.start!.contentLength);
          return;
        }
        if (this.start!.contentLength !== null) return this.writeWithLength(action.body, this.start!.contentLength);
        return this.writeChunked(action.body, action.more);
      case 'pathsend':
        return this.sendFile(action.path, action.transmit);
      case 'zerocopysend':
        return this.sendFd(action.file, action.offset, action.count, action.more, action.transmit);
      default:
        // Extensions this transport does not announce never get here: the cycle refuses them.
        return;
    }
  }

  /** The app's run ended: carry out what the shared rules say (asgi.app.return.*). */
  readonly appExited = (exit: AppExit): void => {
    const finish = (): void => {
      this.ctx.connections.delete(this);
      const ending = httpEnding(this.cycle, exit, this.ended);
      if (ending.log !== null) this.ctx.logger.error(ending.log.message, ending.log.error);
      if (ending.action === 'none' || this.aborted || this.ended) return;
      // Nothing on the wire yet (the head is held until the first body): a 500 is still possible.
      if (!this.headWritten) this.respondError(500);
      else this.closeConnection();
    };
    // A send() the app did not await is still writing: let it end first.
    const writing = this.writing;
    if (writing === undefined) finish();
    else writing.then(finish, finish).catch((e: unknown) => this.ctx.logger.error('Internal error after the ASGI application finished', e));
  };

  // ---- Writing ------------------------------------------------------------

  /**
   * Status and headers (inside a cork). Content-Length and framing headers are
   * uWS's to write. `closeHeader`: the response ends through a uWS call that
   * cannot close the connection (tryEnd, endWithoutBody), so when it must
   * close, `Connection: close` tells the client to.
   */
  private writeHead(extraContentLength: number | null, closeHeader = false): void {
    const start = this.start!;
    const res = this.res;
    // uWS writes "200 OK" itself when no status was written: one native call fewer for the usual answer.
    if (start.reason !== null) res.writeStatus(latin1Bytes(`${start.status} ${start.reason}`));
    else if (start.status !== 200) res.writeStatus(statusLine(start.status));
    const defaults = this.defaults.list;
    for (let i = 0; i < defaults.length; i++) res.writeHeader(defaults[i]![0], defaults[i]![1]);
    const headers = start.headers;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const name = h[0];
      if (name === 'content-length' || name === 'transfer-encoding') continue;
      if (name === 'connection') {
        if (/\bclose\b/i.test(h[1])) this.closeAfter = true;
        continue;
      }
      res.writeHeader(name, latin1Bytes(h[1]));
    }
    if (extraContentLength !== null) res.writeHeader('content-length', String(extraContentLength));
    if (closeHeader && this.closeAfter) res.writeHeader('connection', 'close');
    this.headWritten = true;
    if (this.accessPrefix !== null) this.ctx.logger.access(accessLine(this.accessPrefix, start.status, this.startedMs));
  }

  /** A response without body bytes on the wire (HEAD, 204, 304). */
  private endBodyless(contentLength: number | null): void {
    if (this.aborted || this.ended) return;
    const status = this.start!.status;
    // 204 never carries Content-Length; HEAD and 304 report the length the body would have.
    const cl = status === 204 ? null : contentLength;
    this.res.cork(() => {
      this.resumeBeforeEnd();
      this.writeHead(cl, true);
      // endWithoutBody() with arguments writes a Content-Length of its own (garbage for undefined): call it bare.
      this.res.endWithoutBody();
    });
    this.markEnded();
  }

  /** Body without Content-Length: one shot with a computed length, else chunked, waiting on backpressure. */
  private writeChunked(chunk: Uint8Array, more: boolean): Promise<void> | void {
    if (this.aborted) throw new ClientDisconnected();
    if (this.ended) return;
    const res = this.res;
    if (!more && !this.headWritten) {
      // The whole body in one event: Content-Length framing. A large one goes through tryEnd, which
      // reports what the socket took instead of losing it (CHUNK_SLICE).
      if (chunk.byteLength > CHUNK_SLICE - this.headBytes()) return this.writeWithLength(chunk, chunk.byteLength);
      res.cork(() => {
        this.resumeBeforeEnd();
        this.writeHead(null);
        res.end(chunk, this.closeAfter);
      });
      this.markEnded();
      return;
    }
    if (!more) {
      // The last event of a chunked body: its bytes but the last slice as chunks, then end() with that slice.
      const cut = Math.max(0, chunk.byteLength - CHUNK_SLICE);
      if (cut > 0) this.writeSlices(chunk.subarray(0, cut));
      res.cork(() => {
        this.resumeBeforeEnd();
        // end(…, true) would make uWS write its "Connection: close" line into the body; the head said so when it was known.
        res.end(chunk.subarray(cut), false);
      });
      this.markEnded();
      return;
    }
    if (chunk.byteLength === 0) return; // write('') would not start chunked framing: wait for bytes.
    if (this.writeSlices(chunk)) return;
    return this.waitWritable(undefined, 0, 0);
  }

  /**
   * Writes `body` as chunks of at most CHUNK_SLICE bytes, each in a cork of
   * its own (the first shares its cork with the response head when both
   * fit). False when uWS buffered some of it: write() keeps every byte it
   * was given, so the rest is written too and the send waits for onWritable.
   */
  private writeSlices(body: Uint8Array): boolean {
    const res = this.res;
    const n = body.byteLength;
    let at = 0;
    this.sliceOk = true;
    if (!this.headWritten) {
      at = Math.max(0, Math.min(n, CHUNK_SLICE - this.headBytes()));
      this.slice = body.subarray(0, at);
      res.cork(() => {
        this.writeHead(null, true);
        if (at > 0) this.writeSlice();
      });
    }
    while (at < n) {
      this.slice = body.subarray(at, Math.min(n, at + CHUNK_SLICE));
      at += this.slice.byteLength;
      res.cork(this.writeSlice);
    }
    this.slice = EMPTY_BODY;
    return this.sliceOk;
  }

  /** An upper bound of the bytes writeHead puts in the cork buffer (status line, headers, and the lines uWS adds). */
  private headBytes(): number {
    const start = this.start!;
    let bytes = 160 + (start.reason?.length ?? 0) + this.defaults.bytes;
    for (let i = 0; i < start.headers.length; i++) bytes += start.headers[i]![0].length + start.headers[i]![1].length + 4;
    return bytes;
  }

  /** Body with the app's Content-Length: uWS's tryEnd frames it and may take only part of a chunk. */
  private writeWithLength(chunk: Uint8Array, total: number): Promise<void> | void {
    if (this.aborted) throw new ClientDisconnected();
    if (this.ended) return;
    const res = this.res;
    let ok = false;
    let done = false;
    let base = 0;
    res.cork(() => {
      if (!this.headWritten) this.writeHead(null, true);
      base = res.getWriteOffset();
      if (base + chunk.byteLength >= total) this.resumeBeforeEnd();
      [ok, done] = res.tryEnd(chunk, total);
    });
    if (done) this.markEnded();
    if (ok || done) return;
    return this.waitWritable(chunk, base, total);
  }

  private waitWritable(chunk: Uint8Array | undefined, base: number, total: number): Promise<void> {
    const writing = new Promise<void>((resolve, reject) => {
      this.waitResolve = resolve;
      this.waitReject = reject;
    });
    this.writing = writing;
    const clear = () => {
      if (this.writing === writing) this.writing = undefined;
    };
    writing.then(clear, clear);
    this.retryChunk = chunk;
    this.retryBase = base;
    this.retryTotal = total;
    if (!this.writableHooked) {
      this.writableHooked = true;
      this.res.onWritable((offset) => {
        try {
          return this.onWritable(offset);
        } catch (e) {
          this.ctx.logger.error('Internal error in onWritable', e);
          return true;
        }
      });
    }
    return writing;
  }

  /** http.response.pathsend: stream the file in FILE_CHUNK reads, each written before the next is read. */
  private async sendFile(path: string, transmit: boolean): Promise<void> {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      if (this.aborted) throw new ClientDisconnected();
      const declared = this.start!.contentLength;
      if (declared !== null && declared !== size) {
        throw new ProtocolError(
          size > declared ? 'asgi.http.length.2' : 'asgi.http.length.3',
          `the file of http.response.pathsend has ${size} bytes but content-length says ${declared}`,
          path,
        );
      }
      if (!transmit) {
        this.endBodyless(size);
        return;
      }
      if (size === 0) {
        await this.writeWithLength(new Uint8Array(0), 0);
        return;
      }
      const buf = Buffer.allocUnsafe(Math.min(size, FILE_CHUNK));
      let pos = 0;
      while (pos < size) {
        const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, size - pos), pos);
        if (bytesRead === 0) throw new Error(`${path} shrank while being sent (${pos} of ${size} bytes)`);
        if (this.aborted) throw new ClientDisconnected();
        await this.writeWithLength(buf.subarray(0, bytesRead), size);
        pos += bytesRead;
      }
    } finally {
      await file.close();
    }
  }

  /**
   * http.response.zerocopysend: uWS has no sendfile, so the descriptor is
   * read in FILE_CHUNK pieces, each written (with backpressure) before the
   * next read, framed like any body (the app's Content-Length, else chunked).
   * `offset` null reads from the descriptor's position; `count` null to EOF.
   */
  private async sendFd(fd: number, offset: number | null, count: number | null, more: boolean, transmit: boolean): Promise<void> {
    const declared = this.start!.contentLength;
    if (!transmit) {
      if (!more) this.endBodyless(declared);
      return;
    }
    const buf = (this.fileBuffer ??= Buffer.allocUnsafe(FILE_CHUNK));
    let position = offset;
    let left = count ?? Infinity;
    while (left > 0) {
      const want = Math.min(buf.length, left);
      const n = await readFd(fd, buf, want, position);
      if (n === 0) {
        if (count !== null) throw new Error(`zerocopysend: file descriptor ${fd} ended ${left} bytes short of count ${count}`);
        break;
      }
      if (this.aborted) throw new ClientDisconnected();
      if (position !== null) position += n;
      left -= n;
      const chunk = buf.subarray(0, n);
      if (declared !== null) await this.writeWithLength(chunk, declared);
      else await this.writeChunked(chunk, true);
    }
    if (!more && declared === null) await this.writeChunked(new Uint8Array(0), false);
  }

  // ---- Endings ------------------------------------------------------------

  /** A paused socket must read again before the response ends, or the next request on it would stall. */
  private resumeBeforeEnd(): void {
    if (this.body.paused) this.res.resume();
  }

  private markEnded(): void {
    this.ended = true;
    this.body.responseComplete();
  }

  /** A fixed-body error response (nothing of the app's exception reaches the client). */
  respondError(status: number, close = this.closeAfter): void {
    const text = statusReason(status);
    if (this.aborted || this.ended) return;
    this.start = { status, reason: null, headers: [['content-type', 'text/plain; charset=utf-8']], contentLength: null };
    this.res.cork(() => {
      this.resumeBeforeEnd();
      this.writeHead(null);
      this.res.end(text, close);
    });
    this.markEnded();
  }

  /** Drops the connection; the client sees a truncated response. */
  private closeConnection(): void {
    if (this.aborted || this.ended) return;
    this.aborted = true;
    this.cycle.disconnect();
    this.body.disconnect();
    this.rejectWaiter();
    this.res.close();
  }

  /** The body went past limitMaxBodySize: 413 (and close) when nothing was sent yet, else drop the connection. */
  private refuseBody(): void {
    this.ctx.logger.warning(`Request body larger than limitMaxBodySize (${this.ctx.options.limitMaxBodySize} bytes): refused.`);
    if (!this.headWritten) {
      this.respondError(413, true);
      this.aborted = true;
      this.cycle.disconnect();
      this.body.disconnect();
      this.rejectWaiter();
    } else {
      this.closeConnection();
    }
  }

  private resolveWaiter(): void {
    const r = this.waitResolve;
    this.waitResolve = this.waitReject = undefined;
    r?.();
  }

  private rejectWaiter(): void {
    const r = this.waitReject;
    this.waitResolve = this.waitReject = undefined;
    this.retryChunk = undefined;
    r?.(new ClientDisconnected());
  }
}

// Answers given without calling the app (limits, shutdown): fixed bodies, written inside the handler's own cork.
function refuse(res: HttpResponse, status: number, close: boolean, defaults: DefaultHeaders): void {
  res.writeStatus(statusLine(status));
  for (const [name, value] of defaults.list) res.writeHeader(name, value);
  res.writeHeader('content-type', 'text/plain; charset=utf-8').end(statusReason(status), close);
}

/** The uWS route handler for every HTTP request of one server. */
export function createHttpHandler(ctx: ServerContext): (res: HttpResponse, req: HttpRequest) => void {
  const { logger, connections, options } = ctx;
  const app = ctx.app;
  const defaults = defaultHeadersOf(options.defaultHeaders);
  return (res, req) => {
    let ex: HttpExchange | undefined;
    try {
      const startedMs = options.accessLog ? performance.now() : 0;
      const head = readRequestHead(req, res, ctx);
      const rules = headRules();
      const refusal = refusalOf(ctx, rules);
      if (refusal !== null) {
        // Closing drops whatever uWS made of the rest of the stream.
        if (refusal.warning !== null) logger.warning(refusal.warning);
        refuse(res, refusal.status, refusal.close, defaults);
        return;
      }
      const hasBody = rules.chunked || rules.contentLength > 0;
      const prefix = options.accessLog ? accessPrefix(head.client, head.method, head.target, '1.1') : null;
      const exchange = new HttpExchange(ctx, res, head.method, hasBody, prefix, startedMs, defaults);
      ex = exchange;
      res.onAborted(() => {
        try {
          exchange.onAborted();
        } catch (e) {
          logger.error('Internal error in onAborted', e);
        }
      });
      if (hasBody) {
        res.onData((chunk, last) => {
          try {
            exchange.onData(chunk, last);
          } catch (e) {
            logger.error('Internal error in onData', e);
          }
        });
      }
      connections.add(exchange);
      runApp(app, buildHttpScope(head, ctx.httpScope), exchange.receive as Receive, exchange.send, exchange.appExited, logger);
    } catch (e) {
      logger.error('Internal error while handling a request', e);
      if (ex !== undefined) ex.respondError(500);
      else {
        try {
          refuse(res, 500, true, defaults);
        } catch {
          // The response was already answered or aborted: nothing more to do.
        }
      }
    }
  };
}
