/**
 * One HTTP request: the app's events carried onto a request source and a
 * response sink (an Http1Response on HTTP/1.x, an Http2StreamIO on HTTP/2,
 * node:http's IncomingMessage/ServerResponse pair for a request served after
 * an upgrade handed its socket over). What an app may send when is
 * @tsgi/core's HttpResponseCycle, how its run ends is httpEnding, the body
 * it reads is a RequestBodyQueue; this module moves bytes and keeps the
 * promises a response object leaves to its user:
 *
 * - the status line and headers are held until the first body event
 *   (asgi.http.start.4), then written in one writeHead() with the app's
 *   headers as a flat array (order, duplicates and latin-1 bytes kept);
 * - framing: the app's Content-Length; else one final body gets a computed
 *   Content-Length; else chunked on HTTP/1.1 and close-delimited on HTTP/1.0
 *   (node does both when no Content-Length is set);
 * - send() resolves once node took the bytes below its high-water mark, else
 *   once they left for the kernel, so an app that awaits each send() never
 *   makes the server hold more than about one chunk of its output; the app
 *   owns its buffer again as soon as send() resolves (asgi.events.body.1):
 *   a chunk under the high-water mark is copied (a small final one into
 *   latin-1 text), and a larger final one goes uncopied, send() waiting
 *   for the flush unless end() wrote it through at once;
 * - `Expect: 100-continue` is answered when the app first calls receive();
 * - the request is paused while the app leaves more than the body queue's
 *   high-water mark unread.
 *
 * An HTTP/2 stream comes as an Http2StreamIO, which takes the same calls;
 * what differs (no connection-specific fields, a stream reset instead of a
 * cut connection, the stream's close as the client leaving) is in the few
 * places that check `facts.h2`.
 */
import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import { STATUS_CODES, ServerResponse, type IncomingMessage } from 'node:http';
import { constants as http2Constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  ClientDisconnected,
  HttpResponseCycle,
  ProtocolError,
  buildHttpScope,
  type ByteString,
  type HttpAction,
  type HttpReceiveEvent,
  type NormalizedHeaders,
  type Receive,
  type RequestHead,
  type Send,
} from '@tsgi/core';
import {
  RequestBodyQueue,
  accessLine,
  accessPrefix,
  connectionAddresses,
  httpEnding,
  quiet,
  readHttp1Head,
  readHttp2StreamHead,
  readNodeRequestHead,
  refusalOf,
  runApp,
  statusReason,
  tlsExtension,
  type AppExit,
  type HeadRules,
  type NodeHeadOptions,
  type ReadControl,
  type ResolvedTls,
  type ServerContext,
  type TrackedConnection,
} from '@tsgi/core/server';
import type { Http1Connection } from './http1-connection.js';
import type { Http1Response } from './http1-response.js';
import { Http2StreamIO } from './http2-stream.js';
import type { ConnectionState, SocketMember, SocketRegistry } from './socket-registry.js';

/**
 * node's write high-water mark for this server's responses (the server's
 * `highWaterMark`): a write() that leaves more than this buffered makes send()
 * wait until it reached the kernel. uvicorn's is 64 KiB too.
 */
export const WRITE_HIGH_WATER = 64 * 1024;

/** Size of the reads when streaming a file (pathsend, zerocopysend): memory per response is this, whatever the file size. */
const FILE_CHUNK = 256 * 1024;

const EMPTY = new Uint8Array(0);
const CLOSE_TOKEN = /(?:^|[\s,])close(?:$|[\s,])/i;
const TRAILERS_TOKEN = /(?:^|[\s,])trailers(?:$|[\s,;])/i;
const SENT: Promise<void> = Promise.resolve();
// node:http's test of an Expect field for 100-continue.
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/** What every exchange of one server shares. */
export interface RequestEnv {
  readonly ctx: ServerContext;
  /** Checks each request head (one instance: heads are read synchronously, one at a time). */
  readonly rules: HeadRules;
  readonly headOptions: NodeHeadOptions;
  readonly sockets: SocketRegistry;
  /** Closes the keep-alive connections with nothing in flight (during shutdown, as each response finishes). */
  readonly closeIdle: () => void;
  /** The server's own headers of every response (server, --header), flat: computed once at start. */
  readonly defaultHeaders: readonly string[];
  /** The server's TLS setup; null on plain HTTP. */
  readonly tls: ResolvedTls | null;
}

/** What the exchange reads the request body from: an Http1Response, an Http2StreamIO, or node:http's IncomingMessage. */
export interface RequestSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
  /** The body was read to its end. */
  readonly complete: boolean;
}

/** What the exchange writes the response to: an Http1Response, an Http2StreamIO, or node:http's ServerResponse. */
export interface ResponseSink {
  /** The head, its fields a flat [name, value, ...] list (order and duplicates kept); `trailers`: a trailer block will follow (HTTP/2). */
  writeHead(status: number, reason: string, fields: string[], trailers?: boolean): unknown;
  writeContinue(): void;
  writeEarlyHints(hints: { link: string[] }): void;
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(chunk?: Uint8Array | string, encoding?: BufferEncoding): unknown;
  once(event: 'finish', listener: () => void): unknown;
  addTrailers(fields: ReadonlyArray<[ByteString, ByteString]>): void;
  destroy(): unknown;
  readonly headersSent: boolean;
  readonly writableFinished: boolean;
  /** The connection's socket once the response has it; null while it waits behind pipelined responses (and on HTTP/2). */
  readonly socket: Socket | null;
  /** HTTP/1.x: the connection stays open after this response (set false to close it); absent on HTTP/2. */
  shouldKeepAlive?: boolean;
}

// Fields HTTP/2 forbids in a response (RFC 9113 section 8.2.2): node:http2 throws on them, so an app's are left out.
const HTTP2_CONNECTION_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

/** The response head the app sent (the cycle's action, kept as is), held until the first body event so framing can be chosen. */
type PendingStart = Extract<HttpAction, { kind: 'start' }>;

/** What the request head says that the exchange needs. */
interface RequestFacts {
  method: string;
  /** HTTP/1.1 or HTTP/2: not 1.0 (chunked framing or its HTTP/2 equal, trailers, 103). */
  http11: boolean;
  /** An HTTP/2 stream. */
  h2: boolean;
  hasBody: boolean;
  /** The request asked for `100 Continue` (node's 'checkContinue'). */
  expectContinue: boolean;
  /** `TE: trailers`: the client takes trailer fields (asgi.ext.trailers.5). */
  teTrailers: boolean;
}

/** fs.read on a raw descriptor as a promise; `position` null reads from (and advances) the descriptor's own position. */
function readFd(fd: number, buf: Buffer, length: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * A final body up to this size goes to node as latin-1 text (endWith says
 * why); a larger one is cheaper handed over as bytes than copied into text.
 */
const TEXT_BODY_MAX = 1024;

/** node's latin-1 decoder of Buffer, which takes any Uint8Array: each byte becomes the char of the same code. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

/** A copy the app cannot reach (asgi.events.body.1). */
function copyOf(chunk: Uint8Array): Buffer {
  return Buffer.from(chunk);
}

/** One request/response; also the ReadControl of its body queue. */
export class HttpExchange implements TrackedConnection, ReadControl, SocketMember {
  trackingId = 0;
  prevOnSocket: SocketMember | null = null;
  nextOnSocket: SocketMember | null = null;
  readonly cycle: HttpResponseCycle;
  /** The request body for receive(): made at once for a request with a body, else when the app first calls receive(). */
  private body: RequestBodyQueue | null = null;
  readonly receive: Receive<HttpReceiveEvent>;
  readonly send: Send;
  /** The client went away, or the server cut the connection: res is not to be touched. */
  private gone = false;
  /** res.end() was called. */
  private ended = false;
  /** The whole response is in the kernel (end() wrote it through, or 'finish'): read instead of asking res, which is slower. */
  private onWire = false;
  private headWritten = false;
  private start: PendingStart | null = null;
  /** Close the connection after this response (shutdown, keep-alive off, the app's `connection: close`, a refused body). */
  private closeAfter: boolean;
  /** The response goes out chunked with trailer fields at its end. */
  private trailersOut = false;
  private trailerFields: Array<[ByteString, ByteString]> | null = null;
  private continueSent = false;
  private received = 0;
  /** Body bytes written (the cycle cannot count a file's: pathsend, zerocopysend without count). */
  private sent = 0;
  private appDone = false;
  private left = false;
  /** The last send() still carrying out its event: the next one waits its turn. */
  private writing: Promise<void> | undefined;
  // The write a send() waits on: its sequence number, and how to settle it.
  private writeSeq = 0;
  private waitSeq = -1;
  private waitResolve: (() => void) | undefined;
  private waitReject: ((e: unknown) => void) | undefined;
  /** Read buffer of zerocopysend, reused across its events. */
  private fileBuffer: Buffer | undefined;

  constructor(
    private readonly env: RequestEnv,
    private readonly req: RequestSource,
    private readonly res: ResponseSink,
    /** The connection it came on, told when the exchange is over. */
    private readonly conn: ConnectionState,
    private readonly facts: RequestFacts,
    /** `client - "METHOD target HTTP/x"` for the access log, or null when it is off. */
    private readonly logPrefix: string | null,
    private readonly startedMs: number,
  ) {
    const ctx = env.ctx;
    this.cycle = new HttpResponseCycle({ method: facts.method, extensions: ctx.httpScope.extensions });
    if (facts.hasBody) this.body = new RequestBodyQueue(this, true);
    this.closeAfter = ctx.options.timeoutKeepAlive === 0 || ctx.connections.closing;
    this.receive = () => quiet(this.onReceive());
    this.send = (event) => this.onSend(event);
  }

  /** Hooks the exchange to node's objects; call once, before the app runs. */
  attach(): void {
    const req = this.req;
    if (this.facts.hasBody) {
      req.on('data', (chunk: Buffer) => this.guard('data', () => this.onData(chunk)));
      req.on('end', () => this.guard('end', () => this.onEnd()));
    }
    // An HTTP/2 stream closes on its own (RST_STREAM, or its end): that, not the connection's close, is the client leaving.
    if (this.facts.h2) (this.res as Http2StreamIO).stream.once('close', () => this.guard('close', () => this.socketClosed()));
    else this.conn.join(this);
  }

  // ---- ReadControl: the body queue throttles the request ------------------

  pause(): void {
    if (!this.gone && !this.ended) this.req.pause();
  }
  resume(): void {
    if (!this.gone) this.req.resume();
  }

  // ---- TrackedConnection: graceful shutdown --------------------------------

  shutdown(): void {
    this.closeAfter = true;
  }
  abort(): void {
    this.cut();
  }

  // ---- node's events ---------------------------------------------------------

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.env.ctx.logger.error(`Internal error in the '${what}' handler of a request`, e);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.ended || this.gone) return; // after the response, the rest of the body is read and dropped
    this.received += chunk.byteLength;
    const limit = this.env.ctx.options.limitMaxBodySize;
    if (limit !== null && this.received > limit) {
      this.refuseBody(limit);
      return;
    }
    // node hands each chunk over once and never reuses it: it becomes the app's.
    this.body!.push(chunk, false);
  }

  private onEnd(): void {
    if (this.ended || this.gone) return;
    this.body!.push(EMPTY, true);
  }

  /** The whole response went to the kernel. */
  private onFinish(): void {
    this.onWire = true;
    this.settleWait(this.waitSeq, null);
    this.maybeDone();
  }

  /** The socket closed: a response not yet complete on the wire is lost, and the app is told (asgi.http.disconnect.1). */
  socketClosed(): void {
    if (this.ended && (this.onWire || this.res.writableFinished)) {
      this.gone = true;
      this.maybeDone();
      return;
    }
    this.lose();
    this.maybeDone();
  }

  // ---- The app's side ----------------------------------------------------------

  /** The body queue of a request without a body, made on the first receive(): told what it missed. */
  private emptyBody(): RequestBodyQueue {
    const body = new RequestBodyQueue(this, false);
    this.body = body;
    // Either way receive() answers http.disconnect from now on.
    if (this.gone) body.disconnect();
    else if (this.ended) body.responseComplete();
    return body;
  }

  private onReceive(): Promise<HttpReceiveEvent> {
    if (this.facts.expectContinue && !this.continueSent && !this.headWritten && !this.gone && !this.ended) {
      // The app asks for the body: now the client may send it (asgi.http.request.5).
      this.continueSent = true;
      this.res.writeContinue();
    }
    return (this.body ?? this.emptyBody()).receive();
  }

  /**
   * The app's send(): the event is checked at once; it is carried out at once
   * unless an earlier send() is still writing, then in turn.
   */
  private onSend(event: unknown): Promise<void> {
    try {
      const action = this.cycle.send(event);
      const prev = this.writing;
      if (prev === undefined) {
        const p = this.perform(action);
        return p === undefined ? SENT : quiet(this.track(p));
      }
      const run = (): Promise<void> | void => this.perform(action);
      return quiet(this.track(prev.then(run, run)));
    } catch (e) {
      return quiet(Promise.reject(e));
    }
  }

  private track(p: Promise<void>): Promise<void> {
    this.writing = p;
    const clear = (): void => {
      if (this.writing === p) this.writing = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /** Carries out one checked event; a promise when it has to wait (backpressure, files). */
  private perform(action: HttpAction): Promise<void> | void {
    if (this.gone) throw new ClientDisconnected('send() after the HTTP client disconnected');
    switch (action.kind) {
      case 'start':
        this.start = action;
        return;
      case 'body':
        return this.sendBody(action.body, action.more, action.transmit);
      case 'pathsend':
        return this.sendFile(action.path, action.transmit);
      case 'zerocopysend':
        return this.sendFd(action.file, action.offset, action.count, action.more, action.transmit);
      case 'trailers':
        return this.sendTrailers(action.headers, action.more);
      case 'early_hint':
        this.earlyHint(action.links);
        return;
      default:
        // push and debug are never announced: the cycle refuses them before they get here.
        return;
    }
  }

  /** The app's run ended: carry out what the shared rules say (asgi.app.return.*). */
  readonly appExited = (exit: AppExit): void => {
    this.appDone = true;
    // A send() the app did not await is still writing: let it end first.
    const writing = this.writing;
    if (writing === undefined) {
      this.endRun(exit);
      return;
    }
    const finish = (): void => this.endRun(exit);
    writing.then(finish, finish).catch((e: unknown) => this.env.ctx.logger.error('Internal error after the ASGI application finished', e));
  };

  private endRun(exit: AppExit): void {
    const ending = httpEnding(this.cycle, exit, this.ended);
    if (ending.log !== null) this.env.ctx.logger.error(ending.log.message, ending.log.error);
    if (ending.action !== 'none' && !this.gone && !this.ended) {
      // Nothing on the wire yet (the head is held until the first body): a 500 is still possible.
      if (!this.headWritten) this.respondError(500);
      else this.cut();
    }
    this.maybeDone();
  }

  // ---- Writing ---------------------------------------------------------------

  private sendBody(chunk: Uint8Array, more: boolean, transmit: boolean): Promise<void> | void {
    if (!transmit) {
      // HEAD, 204, 304: counted by the cycle, nothing on the wire (asgi.http.body.3).
      if (!more) this.endBodyless(null);
      return;
    }
    // Read once: byteLength is a getter that optimized code calls rather than inlines here.
    const n = chunk.byteLength;
    if (!this.headWritten) {
      const start = this.start!;
      // One final body and no Content-Length: frame it with its length (asgi.http.body.5), unless trailers need chunks.
      this.writeHead(!more && start.contentLength === null && !this.wantsTrailers() ? n : null);
    }
    if (!more && !this.trailersOut) return this.endWith(chunk, n);
    if (n === 0) return; // nothing to write; with trailers due, they end the response
    return this.write(chunk, n);
  }

  /** True when the response will carry trailers: announced, asked for by the client, on HTTP/1.1 (asgi.ext.trailers.5). */
  private wantsTrailers(): boolean {
    return this.start!.trailers && this.facts.teTrailers && this.facts.http11;
  }

  /**
   * The status line and headers, in one writeHead() with a flat header array
   * (node keeps its order and duplicates and writes it as latin-1). Framing is
   * the server's: the app's `transfer-encoding` and `connection` go (a
   * `connection: close` is honored), a 204 loses any Content-Length, and
   * `trailer` stays only on a chunked response (node refuses it elsewhere).
   * `computedLength`: a Content-Length to add when the app gave none.
   */
  private writeHead(computedLength: number | null): void {
    const start = this.start!;
    const res = this.res;
    const status = start.status;
    const lengthKnown = start.contentLength !== null || (computedLength !== null && status !== 204);
    const chunked = !start.bodyless && !lengthKnown && this.facts.http11;
    this.trailersOut = chunked && this.wantsTrailers();
    const headers = start.headers;
    const addLength = computedLength !== null && start.contentLength === null && status !== 204;
    // Sized up front (the fields left out shorten it at the end): one allocation, no growing.
    const defaults = this.env.defaultHeaders;
    const h2 = this.facts.h2;
    const flat: string[] = new Array(defaults.length + 2 * headers.length + (addLength ? 2 : 0));
    let n = 0;
    for (; n < defaults.length; n++) flat[n] = defaults[n]!;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      const name = h[0];
      const value = h[1];
      if (name === 'connection') {
        if (CLOSE_TOKEN.test(value)) this.closeAfter = true;
        continue;
      }
      if (name === 'transfer-encoding') continue;
      if (h2 && HTTP2_CONNECTION_FIELDS.has(name)) continue;
      if (name === 'content-length' && status === 204) continue;
      if (name === 'trailer' && !chunked) continue;
      flat[n++] = name;
      flat[n++] = value;
    }
    if (addLength) {
      flat[n++] = 'content-length';
      flat[n++] = String(computedLength);
    }
    if (n < flat.length) flat.length = n;
    // An HTTP/2 stream ends on its own: the connection stays (GOAWAY closes it at shutdown).
    if (!h2 && (this.closeAfter || this.env.ctx.connections.closing)) res.shouldKeepAlive = false;
    res.writeHead(status, start.reason ?? STATUS_CODES[status] ?? '', flat, this.trailersOut);
    this.headWritten = true;
    if (this.logPrefix !== null) this.env.ctx.logger.access(accessLine(this.logPrefix, status, this.startedMs));
  }

  /** A response without body bytes on the wire (HEAD, 204, 304); `computedLength` reports a length the app did not give (pathsend). */
  private endBodyless(computedLength: number | null): void {
    if (!this.headWritten) this.writeHead(computedLength);
    this.beforeEnd();
    this.res.end();
    this.markEnded();
  }

  /** Writes a body chunk; waits when node holds more than its high-water mark or the chunk was not copied. */
  private write(chunk: Uint8Array, n: number): Promise<void> | void {
    this.sent += n;
    const small = n < WRITE_HIGH_WATER;
    const seq = ++this.writeSeq;
    const ok = this.res.write(small ? copyOf(chunk) : chunk, (err) => this.settleWait(seq, err ?? null));
    if (ok && small) return;
    return this.waitFor(seq);
  }

  /**
   * The last chunk: end() with it. A small one goes as latin-1 text (the same
   * bytes, copied): node then writes head and body as one string, without
   * the work a Buffer behind a pending head costs it, and the app owns its
   * buffer again at once (asgi.events.body.1). A larger one is handed over as
   * is: end() writes it through to the kernel unless the socket is backed up,
   * and then send() waits for the flush. On a pipelined response (node holds
   * the chunk until the responses before it are out) a chunk under the
   * high-water mark is copied instead, so that send() does not wait on other
   * requests; so is one on an HTTP/2 stream, where there is no head to join.
   */
  private endWith(chunk: Uint8Array, n: number): Promise<void> | void {
    this.sent += n;
    this.beforeEnd();
    const res = this.res;
    if (n === 0) {
      res.end();
      this.markEnded();
      return;
    }
    if (n <= TEXT_BODY_MAX && !this.facts.h2) {
      res.end(latin1Slice.call(chunk, 0, n), 'latin1');
      this.markEnded();
      return;
    }
    if (res.socket === null && n < WRITE_HIGH_WATER) {
      res.end(copyOf(chunk));
      this.markEnded();
      return;
    }
    // A sequence number of its own, so the callback of an earlier write cannot settle this wait; 'finish' does.
    const seq = ++this.writeSeq;
    res.end(chunk);
    // Everything is in the kernel: node keeps no reference to the app's buffer (asgi.events.body.1).
    if (this.markEnded()) return;
    return this.waitFor(seq);
  }

  private waitFor(seq: number): Promise<void> {
    if (this.gone) return Promise.reject(new ClientDisconnected('the HTTP client disconnected during send()'));
    this.waitSeq = seq;
    return new Promise<void>((resolve, reject) => {
      this.waitResolve = resolve;
      this.waitReject = reject;
    });
  }

  /** A write callback (or 'finish'): settles the send() waiting on write `seq`, if any. */
  private settleWait(seq: number, err: Error | null): void {
    if (seq !== this.waitSeq || this.waitResolve === undefined) return;
    const resolve = this.waitResolve;
    const reject = this.waitReject!;
    this.waitResolve = this.waitReject = undefined;
    this.waitSeq = -1;
    if (err === null) resolve();
    else reject(new ClientDisconnected(`the HTTP client disconnected during send() (${err.message})`));
  }

  private rejectWait(): void {
    const reject = this.waitReject;
    this.waitResolve = this.waitReject = undefined;
    this.waitSeq = -1;
    reject?.(new ClientDisconnected('the HTTP client disconnected during send()'));
  }

  /** http.response.trailers: collected until the last one, then written after the final chunk (or dropped, asgi.ext.trailers.5). */
  private sendTrailers(headers: NormalizedHeaders, more: boolean): void {
    if (!this.trailersOut) return; // dropped: the response already ended at its final body
    const fields = (this.trailerFields ??= []);
    for (const h of headers) fields.push(h);
    if (more) return;
    this.res.addTrailers(fields);
    this.beforeEnd();
    this.res.end();
    this.markEnded();
  }

  /** http.response.early_hint: a 103 before the final head, when it is still to come and the client speaks HTTP/1.1 (asgi.ext.early_hint.4). */
  private earlyHint(links: ByteString[]): void {
    if (this.headWritten || !this.facts.http11 || links.length === 0) return;
    try {
      // node writes one Link field with the links comma-separated (RFC 8288 allows either form).
      this.res.writeEarlyHints({ link: links });
    } catch (e) {
      // node refuses a link that is not `<uri>; param=value...`: the hint is dropped, as the spec allows.
      this.env.ctx.logger.debug(`Early hint dropped: ${(e as Error).message}`);
    }
  }

  /** http.response.pathsend: the file in FILE_CHUNK reads, each written (with backpressure) before the next is read. */
  private async sendFile(path: string, transmit: boolean): Promise<void> {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      if (this.gone) throw new ClientDisconnected('the HTTP client disconnected during http.response.pathsend');
      const declared = this.start!.contentLength;
      if (declared !== null && this.sent + size !== declared) {
        throw new ProtocolError(
          this.sent + size > declared ? 'asgi.http.length.2' : 'asgi.http.length.3',
          `the file of http.response.pathsend has ${size} bytes${this.sent > 0 ? ` after ${this.sent} sent` : ''} but content-length says ${declared}`,
          path,
        );
      }
      const computed = declared === null ? size : null;
      if (!transmit) {
        this.endBodyless(computed);
        return;
      }
      if (!this.headWritten) this.writeHead(computed);
      const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), FILE_CHUNK));
      let pos = 0;
      while (pos < size) {
        const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, size - pos), pos);
        if (bytesRead === 0) throw new Error(`${path} shrank while being sent (${pos} of ${size} bytes)`);
        if (this.gone) throw new ClientDisconnected('the HTTP client disconnected during http.response.pathsend');
        pos += bytesRead;
        this.sent += bytesRead;
        // Each read is written and flushed before the buffer is read into again.
        const seq = ++this.writeSeq;
        this.res.write(buf.subarray(0, bytesRead), (err) => this.settleWait(seq, err ?? null));
        await this.waitFor(seq);
      }
      if (!this.trailersOut) {
        this.beforeEnd();
        this.res.end();
        this.markEnded();
      }
    } finally {
      await file.close();
    }
  }

  /**
   * http.response.zerocopysend: node:http has no sendfile for a response, so
   * the descriptor is read in FILE_CHUNK pieces, each written and flushed
   * before the next read, framed like any body. `offset` null reads from the
   * descriptor's position; `count` null to end of file.
   */
  private async sendFd(fd: number, offset: number | null, count: number | null, more: boolean, transmit: boolean): Promise<void> {
    const start = this.start!;
    if (!transmit) {
      if (!more) this.endBodyless(null);
      return;
    }
    if (!this.headWritten) {
      // A single descriptor event with a count is a body of known length.
      this.writeHead(!more && count !== null && start.contentLength === null && !this.wantsTrailers() ? count : null);
    }
    const buf = (this.fileBuffer ??= Buffer.allocUnsafe(FILE_CHUNK));
    let position = offset;
    let left = count ?? Infinity;
    while (left > 0) {
      const n = await readFd(fd, buf, Math.min(buf.length, left), position);
      if (n === 0) {
        if (count !== null) throw new Error(`zerocopysend: file descriptor ${fd} ended ${left} bytes short of count ${count}`);
        break;
      }
      if (this.gone) throw new ClientDisconnected('the HTTP client disconnected during http.response.zerocopysend');
      const declared = start.contentLength;
      if (declared !== null && this.sent + n > declared) {
        // Without a count the cycle could not check: the server does, at the chunk that overflows (asgi.http.length.2).
        throw new ProtocolError('asgi.http.length.2', `body exceeds content-length ${declared}: ${this.sent + n} bytes with http.response.zerocopysend`, this.sent + n);
      }
      if (position !== null) position += n;
      left -= n;
      this.sent += n;
      const seq = ++this.writeSeq;
      this.res.write(buf.subarray(0, n), (err) => this.settleWait(seq, err ?? null));
      await this.waitFor(seq);
    }
    if (!more) {
      if (start.contentLength !== null && this.sent < start.contentLength) {
        throw new ProtocolError('asgi.http.length.3', `body ended short of content-length ${start.contentLength}: ${this.sent} bytes sent`, this.sent);
      }
      if (!this.trailersOut) {
        this.beforeEnd();
        this.res.end();
        this.markEnded();
      }
    }
  }

  // ---- Endings ---------------------------------------------------------------

  /** The request must be read to its end for the connection to serve another one: resume it (its rest is dropped). */
  private beforeEnd(): void {
    if (this.facts.hasBody && !this.req.complete) this.req.resume();
  }

  /**
   * res.end() was called. 'finish' is listened for only when node did not
   * write the response through at once (the socket is backed up, or the
   * response waits behind pipelined ones); otherwise it is on the wire now.
   * Returns true in that case.
   */
  private markEnded(): boolean {
    this.ended = true;
    this.body?.responseComplete();
    if (this.res.writableFinished) {
      this.onWire = true;
      return true;
    }
    this.res.once('finish', () => this.guard('finish', () => this.onFinish()));
    return false;
  }

  /** A fixed-body answer of the server's own (nothing of the app's exception reaches the client). */
  respondError(status: number): void {
    if (this.gone || this.ended) return;
    const text = Buffer.from(statusReason(status), 'latin1');
    this.start = {
      kind: 'start',
      status,
      reason: statusReason(status),
      headers: [['content-type', 'text/plain; charset=utf-8']],
      contentLength: null,
      trailers: false,
      bodyless: this.facts.method === 'HEAD',
    };
    if (this.start.bodyless) {
      this.endBodyless(text.length);
      return;
    }
    this.writeHead(text.length);
    this.beforeEnd();
    this.res.end(text);
    this.markEnded();
  }

  /** The client is gone (or the connection was cut): the app hears it from receive() and send(). */
  private lose(): void {
    this.gone = true;
    this.cycle.disconnect();
    this.body?.disconnect();
    this.rejectWait();
  }

  /** Drops the connection; the client sees a truncated response (asgi.app.return.2). */
  private cut(): void {
    if (this.gone) return;
    const finishedOnWire = this.ended && (this.onWire || this.res.writableFinished);
    this.lose();
    if (!finishedOnWire && this.facts.h2) {
      // Only this stream is reset (RST_STREAM); the connection's other streams go on.
      (this.res as Http2StreamIO).stream.close(http2Constants.NGHTTP2_INTERNAL_ERROR);
    } else if (!finishedOnWire) {
      const socket = this.res.socket;
      if (socket !== null) {
        // What node still holds in this tick's cork goes to the kernel first: the client sees the response truncated,
        // not a connection that closed before any byte.
        socket.uncork();
        socket.destroy();
      } else {
        // A response not yet given the socket (pipelined) takes it down once it gets it.
        this.res.destroy();
      }
    }
    this.maybeDone();
  }

  /** The body went past limitMaxBodySize: 413 (and close) if nothing was sent yet, else the connection is cut. */
  private refuseBody(limit: number): void {
    this.env.ctx.logger.warning(`Request body larger than limitMaxBodySize (${limit} bytes): refused.`);
    if (this.headWritten) {
      this.cut();
      return;
    }
    this.closeAfter = true;
    this.respondError(413);
    // The app gets http.disconnect, and its send() ClientDisconnected (asgi.http.request.6).
    this.cycle.disconnect();
    this.body?.disconnect();
    this.rejectWait();
  }

  /**
   * Once the app is done and the response is on the wire (or lost), the
   * exchange is no longer in flight: graceful shutdown waits until then, so
   * the last bytes of a response are not cut by closing its connection.
   */
  private maybeDone(): void {
    if (this.left || !this.appDone || !(this.gone || this.onWire || (this.ended && this.res.writableFinished))) return;
    this.left = true;
    this.conn.leave(this);
    const connections = this.env.ctx.connections;
    if (!connections.closing) {
      connections.delete(this);
      return;
    }
    // Shutdown: node first hands this tick's corked bytes, and a 503 queued behind this response, to the socket; then the
    // connection goes if nothing else is in flight on it (a head written before shutdown had promised keep-alive), and
    // graceful shutdown may close what is left.
    setImmediate(() => {
      this.env.closeIdle();
      connections.delete(this);
    });
  }
}

/** True when a TE field of the request offers trailers (read from the parsed head rather than through node's req.headers). */
function takesTrailers(headers: ReadonlyArray<readonly [string, string]>): boolean {
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h[0] === 'te' && TRAILERS_TOKEN.test(h[1])) return true;
  }
  return false;
}

/** Reads what a connection's requests share, at its first: its addresses and, over TLS, its `tls` extension (fixed for the connection's life). */
function firstRequestOf(env: RequestEnv, conn: ConnectionState, socket: Socket): void {
  conn.addresses = connectionAddresses(socket, env.headOptions);
  if (env.tls !== null && conn.addresses.scheme === 'https') {
    const base = env.ctx.httpScope;
    conn.httpScope = { ...base, extensions: { ...base.extensions, tls: tlsExtension(socket as TLSSocket, env.tls.serverCertPem) } };
  }
}

/** One of the server's own answers, given without calling the app (limits, shutdown, refused heads). */
export function refuse(res: ResponseSink, status: number, close: boolean, defaults: readonly string[] = []): void {
  const text = statusReason(status);
  const fields = [...defaults, 'content-type', 'text/plain; charset=utf-8', 'content-length', String(text.length)];
  if (close && res.shouldKeepAlive !== undefined) res.shouldKeepAlive = false;
  res.writeHead(status, text, fields);
  res.end(text, 'latin1');
}

/**
 * Serves one HTTP/1.x request on node:http's objects: one served after an
 * upgrade handed its socket over (llhttp stopped at its head, so no body
 * follows and nobody waits for 100 Continue).
 */
export function serveRequest(env: RequestEnv, req: IncomingMessage, res: ServerResponse): void {
  try {
    const socket = req.socket;
    const conn = env.sockets.of(socket);
    if (conn.addresses === null) firstRequestOf(env, conn, socket);
    const head = readNodeRequestHead(req, env.rules, env.headOptions, conn.addresses!);
    // HTTP/1.0 has no chunked coding (asgi.http.body.5): node would use it for a 1.0 client that sent `TE: chunked`.
    if (head.httpVersion === '1.0') res.useChunkedEncodingByDefault = false;
    const rules = env.rules;
    startExchange(env, req, res, conn, head, rules.chunked || rules.contentLength > 0, false, false);
  } catch (e) {
    internalError(env, e, res);
  }
}

/**
 * Serves one request an Http1Connection parsed (its head as llhttp gives
 * it), on the connection's Http1Response for it.
 */
export function serveHttp1Request(env: RequestEnv, conn: Http1Connection, res: Http1Response, method: string, target: string, major: number, minor: number, raw: string[]): void {
  try {
    const state = conn.state;
    if (state.addresses === null) firstRequestOf(env, state, conn.socket);
    const rules = env.rules;
    const head = readHttp1Head(method, target, major, minor, raw, rules, env.headOptions, state.addresses!);
    // Only an HTTP/1.1 client waits for 100 Continue (RFC 9110 section 10.1.1); other expectations are served as usual.
    const expectContinue = head.httpVersion === '1.1' && rules.expect !== null && CONTINUE_EXPECTATION.test(rules.expect);
    res.expectContinue = expectContinue;
    startExchange(env, res, res, state, head, rules.chunked || rules.contentLength > 0, expectContinue, false);
  } catch (e) {
    internalError(env, e, res);
  }
}

/**
 * Serves one HTTP/2 stream (node:http2's 'stream' event: the stream, its
 * headers, and the same as a flat raw list). A CONNECT (no `:path`) is not
 * served: 405, as node:http2 answers it.
 */
export function serveHttp2Stream(env: RequestEnv, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): void {
  const io = new Http2StreamIO(stream, env.ctx.options.dateHeader);
  try {
    const conn = env.sockets.ofSession(stream.session!);
    if (conn.addresses === null) firstRequestOf(env, conn, stream.session!.socket as Socket);
    const method = headers[':method'];
    const path = headers[':path'];
    if (typeof path !== 'string' || typeof method !== 'string') {
      refuse(io, 405, false, env.defaultHeaders);
      return;
    }
    const rules = env.rules;
    const head = readHttp2StreamHead(method, path, raw, rules, env.headOptions, conn.addresses!);
    // HTTP/2 needs no Content-Length: a body follows unless the HEADERS frame ended the stream.
    const hasBody = rules.contentLength > 0 || (rules.contentLength === -1 && !stream.endAfterHeaders);
    startExchange(env, io, io, conn, head, hasBody, headers.expect === '100-continue', true);
  } catch (e) {
    internalError(env, e, io);
  }
}

/**
 * Refuses what must never reach the app (a head the shared rules refuse, a
 * declared body over limitMaxBodySize, the concurrency limit, shutdown),
 * else starts the app on a new exchange.
 */
function startExchange(
  env: RequestEnv,
  req: RequestSource,
  res: ResponseSink,
  conn: ConnectionState,
  head: RequestHead,
  hasBody: boolean,
  expectContinue: boolean,
  h2: boolean,
): void {
  const { ctx, rules } = env;
  const { logger, connections, options } = ctx;
  const startedMs = options.accessLog ? performance.now() : 0;
  // No 'error' listeners on node:http's objects (each costs a listener insert per request): an IncomingMessage emits
  // 'error' only to listeners it has, and a ServerResponse only for a write after end(), which the exchange never
  // makes (`ended` guards every write); a lost client surfaces through the socket's 'close' instead.
  const refusal = refusalOf(ctx, rules);
  if (refusal !== null) {
    if (refusal.warning !== null) logger.warning(refusal.warning);
    refuse(res, refusal.status, refusal.close, env.defaultHeaders);
    // The body is read and dropped: an HTTP/2 stream then ends cleanly (an unread one would be reset under the
    // client), and an HTTP/1 connection that stays open reaches its next request.
    if (hasBody) req.resume();
    return;
  }
  const facts: RequestFacts = {
    method: head.method,
    http11: head.httpVersion !== '1.0',
    h2,
    hasBody,
    expectContinue: expectContinue && hasBody,
    teTrailers: takesTrailers(head.headers),
  };
  const prefix = options.accessLog ? accessPrefix(head.client, head.method, head.target, head.httpVersion) : null;
  const exchange = new HttpExchange(env, req, res, conn, facts, prefix, startedMs);
  exchange.attach();
  connections.add(exchange);
  try {
    runApp(ctx.app, buildHttpScope(head, conn.httpScope ?? ctx.httpScope), exchange.receive as Receive, exchange.send, exchange.appExited, logger);
  } catch (e) {
    logger.error('Internal error while handling a request', e);
    try {
      exchange.respondError(500);
    } catch {
      res.destroy();
    }
  }
}

/** An error of the server's own before an exchange took the request: a 500 if nothing was sent yet. */
function internalError(env: RequestEnv, e: unknown, res: ResponseSink): void {
  env.ctx.logger.error('Internal error while handling a request', e);
  try {
    if (!res.headersSent) refuse(res, 500, true, env.defaultHeaders);
    else res.destroy();
  } catch {
    res.destroy();
  }
}
