/**
 * HTTP/1.0 and 1.1 connections on node's own parser (llhttp.ts), without
 * node:http's request and response objects, as uvicorn's httptools
 * protocol drives llhttp: the parser reads the socket in C++ and calls back
 * at each head, body piece and message end; each request becomes an
 * Http1Response for an HttpExchange. What node:http would do around that is
 * here: the responses of pipelined requests in order, keep-alive and its
 * timeout, the bound on the time a head may take, reading paused while the
 * app leaves a body unread or pipelined responses pile up, heads llhttp
 * refuses answered, and upgrades (WebSocket, CONNECT, h2c) handed over.
 */
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { clientErrorFault, rawAnswer, type Logger } from '@tsgi/core/server';
import { Http1Response, type ResponseConnection } from './http1-response.js';
import { METHODS, kOnBody, kOnExecute, kOnHeaders, kOnHeadersComplete, kOnMessageBegin, kOnMessageComplete, requestParser, type ParseError, type Parser } from './llhttp.js';
import { ConnectionState } from './socket-registry.js';

/** What a server does with what its connections parse. */
export interface Http1Handlers {
  /** A request head: serve it on `res`, which carries its body too. */
  request(conn: Http1Connection, res: Http1Response, method: string, target: string, major: number, minor: number, raw: string[]): void;
  /** An Upgrade or CONNECT request: the socket is the handler's from now on, `bodyHead` the bytes read after the head. */
  upgrade(req: IncomingMessage, socket: Socket, bodyHead: Buffer): void;
  /** The connection opened with the HTTP/2 preface: the socket is the handler's, `start` the bytes to read first (the preface and what followed it). Null: answer 400. */
  h2c: ((socket: Socket, start: Buffer) => void) | null;
}

/** How the connections of one server behave. */
export interface Http1Settings {
  /** The largest request head, in bytes (llhttp's bound). */
  maxHeaderSize: number;
  /** Milliseconds an idle kept-alive connection stays open; 0: not kept alive by the server's choice. */
  keepAliveMs: number;
  /** Seconds a request head may take from its first byte (and a new connection its first byte). */
  headersTimeoutS: number;
  sendDate: boolean;
  logger: Logger;
}

/** Why reading is paused (a bit each): the app leaves a body unread; pipelined responses pile up. */
const PAUSED_BODY = 1;
const PAUSED_PIPELINE = 2;
/** Responses waiting on one connection past which its socket is no longer read (a flood of pipelined requests). */
const PIPELINE_MAX = 32;
/** node's margin on the keep-alive timeout, so the client, told the advertised one, closes first. */
const KEEP_ALIVE_MARGIN_MS = 1000;
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const noop = (): void => {};

/** A head parsed as an Upgrade or CONNECT, handed over once llhttp returns. */
interface PendingUpgrade {
  major: number;
  minor: number;
  raw: string[];
  method: string;
  target: string;
}

/** The HTTP/1.x side of one server: its connections, and the clock their head deadlines run on. */
export class Http1Server {
  readonly connections = new Set<Http1Connection>();
  /** Seconds since start, advanced by the sweep: read per request instead of the system clock. */
  clock = 0;
  readonly keepAliveLines: string;
  private sweep: NodeJS.Timeout | null = null;

  constructor(
    readonly settings: Http1Settings,
    readonly handlers: Http1Handlers,
  ) {
    const ka = settings.keepAliveMs;
    this.keepAliveLines = ka > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(ka / 1000)}\r\n` : 'Connection: keep-alive\r\n';
  }

  /** Serves a new connection. */
  accept(socket: Socket): void {
    this.connections.add(new Http1Connection(socket, this));
    // One timer for every connection's head deadline, as node:http checks its connections (once a second here).
    this.sweep ??= setInterval(() => this.tick(), 1000).unref();
  }

  /** Closes the connections with no request in flight (graceful shutdown). */
  closeIdle(): void {
    for (const conn of this.connections) if (conn.idle()) conn.socket.destroy();
  }

  /** Closes every connection now, and stops the clock (the server is closed). */
  closeAll(): void {
    for (const conn of this.connections) conn.socket.destroy();
    if (this.sweep !== null) clearInterval(this.sweep);
    this.sweep = null;
  }

  private tick(): void {
    const now = ++this.clock;
    const limit = this.settings.headersTimeoutS;
    for (const conn of this.connections) if (conn.headSince >= 0 && now - conn.headSince > limit) conn.headTimedOut();
  }
}

/** One HTTP/1.x connection. */
export class Http1Connection implements ResponseConnection {
  /** The exchanges in flight (each told when the socket closes) and the addresses of the connection's heads. */
  readonly state = new ConnectionState();
  /** Requests served so far. */
  served = 0;
  /** The server clock when the head being read began (a new connection: when it came); -1 between heads. */
  headSince: number;
  private parser: Parser | null;
  /** The response on the wire, and the last of those waiting behind it. */
  private first: Http1Response | null = null;
  private lastQueued: Http1Response | null = null;
  private queued = 0;
  /** The response whose request body is being read. */
  private incoming: Http1Response | null = null;
  /** A message has begun and not yet ended. */
  private inMessage = false;
  /** Fields and target of a long head, which llhttp hands over in pieces. */
  private rawPieces: string[] | null = null;
  private targetPieces = '';
  private upgrading: PendingUpgrade | null = null;
  private paused = 0;
  private consumed = false;
  private keepAliveTimer = false;
  /** A refused head's answer, waiting for the responses before it: its status, 0 when none. */
  private faultStatus = 0;
  private readonly onData: ((data: Buffer) => void) | null;
  private readonly onEnd = (): void => this.ended();
  private readonly onClose = (): void => this.closed();
  private readonly onTimeout = (): void => void this.socket.destroy();

  constructor(
    readonly socket: Socket,
    private readonly server: Http1Server,
  ) {
    this.headSince = server.clock;
    const parser = requestParser(server.settings.maxHeaderSize);
    this.parser = parser;
    (parser as Bound).conn = this;
    parser[kOnMessageBegin] = onMessageBegin;
    parser[kOnHeaders] = onHeaders;
    parser[kOnHeadersComplete] = onHeadersComplete;
    parser[kOnBody] = onBody;
    parser[kOnMessageComplete] = onMessageComplete;
    parser[kOnExecute] = onExecute;
    socket.on('error', noop);
    socket.on('close', this.onClose);
    socket.on('end', this.onEnd);
    socket.on('timeout', this.onTimeout);
    const handle = (socket as Socket & { _handle?: { isStreamBase?: boolean; _consumed?: boolean } | null })._handle;
    if (handle?.isStreamBase === true && handle._consumed !== true) {
      // llhttp reads the socket in C++: no 'data' events, no Buffers for the head.
      handle._consumed = true;
      this.consumed = true;
      this.onData = null;
      parser.consume(handle);
    } else {
      this.onData = (data) => {
        const p = this.parser;
        try {
          if (p !== null) this.executed(p.execute(data), data);
        } catch (e) {
          this.internalError(e);
        }
      };
      socket.on('data', this.onData);
    }
  }

  get keepAliveLines(): string {
    return this.server.keepAliveLines;
  }
  get sendDate(): boolean {
    return this.server.settings.sendDate;
  }

  /** No request in flight and none begun: graceful shutdown may close it. */
  idle(): boolean {
    return this.first === null && !this.inMessage;
  }

  // ---- The parser's callbacks -------------------------------------------------

  messageBegun(): void {
    this.inMessage = true;
    this.headSince = this.server.clock;
  }

  headPiece(raw: string[], target: string): void {
    if (this.rawPieces === null) this.rawPieces = raw.slice();
    else for (const s of raw) this.rawPieces.push(s);
    this.targetPieces += target;
  }

  headComplete(major: number, minor: number, raw: string[] | undefined, methodId: number, target: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    this.headSince = -1;
    if (raw === undefined) raw = this.rawPieces ?? [];
    if (target === undefined) target = this.targetPieces;
    this.rawPieces = null;
    this.targetPieces = '';
    if (this.keepAliveTimer) {
      this.keepAliveTimer = false;
      this.socket.setTimeout(0);
    }
    const method = METHODS[methodId];
    if (method === undefined) {
      // A method number this llhttp parses and node's list does not name (none on Node.js 20): not implemented, as a
      // method llhttp does not know (decision 5). 2 stops llhttp at this head.
      this.stopReading();
      this.answerWith(501, 'a request method this server does not implement');
      return 2;
    }
    if (upgrade) {
      // The socket leaves llhttp once it returns (executed()); 2 tells it to stop at the head.
      this.upgrading = { major, minor, raw, method, target };
      return 2;
    }
    this.served++;
    const res = new Http1Response(this, major > 1 || (major === 1 && minor >= 1), method === 'HEAD', keepAlive);
    this.incoming = res;
    if (this.first === null) {
      this.first = this.lastQueued = res;
      res.activate();
    } else {
      this.lastQueued!.next = res;
      this.lastQueued = res;
    }
    if (++this.queued > PIPELINE_MAX || this.socket.writableNeedDrain) this.pause(PAUSED_PIPELINE);
    this.server.handlers.request(this, res, method, target, major, minor, raw);
    return 0;
  }

  bodyPiece(chunk: Buffer): void {
    this.incoming?.bodyChunk(chunk);
  }

  messageComplete(): void {
    this.inMessage = false;
    // Trailer fields of a chunked body come as a head piece: not passed on.
    this.rawPieces = null;
    this.targetPieces = '';
    const res = this.incoming;
    this.incoming = null;
    res?.bodyEnd();
  }

  /** llhttp returned from a read: `ret` the bytes parsed, or the error it stopped at. */
  executed(ret: number | ParseError, data: Buffer | undefined): void {
    if (typeof ret !== 'number') this.refused(ret, data);
    else if (this.upgrading !== null) this.handOverUpgrade(ret, data);
  }

  // ---- The responses ----------------------------------------------------------

  responseFinished(res: Http1Response): void {
    if (res !== this.first) return;
    const next = res.next;
    res.next = null;
    this.first = next;
    if (next === null) this.lastQueued = null;
    this.queued--;
    if (res.last) {
      this.stopReading();
      this.socket.destroySoon();
      return;
    }
    if (next !== null) next.activate();
    if (this.faultStatus !== 0) {
      this.answerFault();
      return;
    }
    if (next === null && this.server.settings.keepAliveMs > 0) {
      this.keepAliveTimer = true;
      this.socket.setTimeout(this.server.settings.keepAliveMs + KEEP_ALIVE_MARGIN_MS);
    }
    if ((this.paused & PAUSED_PIPELINE) !== 0 && this.queued <= PIPELINE_MAX / 2) this.resume(PAUSED_PIPELINE);
  }

  pauseBody(): void {
    this.pause(PAUSED_BODY);
  }
  resumeBody(): void {
    this.resume(PAUSED_BODY);
  }

  // ---- Reading ----------------------------------------------------------------

  private pause(why: number): void {
    const was = this.paused;
    this.paused |= why;
    if (was === 0) this.readStop();
  }

  private resume(why: number): void {
    if (this.paused === 0) return;
    this.paused &= ~why;
    if (this.paused === 0) this.readStart();
  }

  private readStop(): void {
    const handle = (this.socket as Socket & { _handle?: { reading?: boolean; readStop(): number } | null })._handle;
    if (!this.consumed) this.socket.pause();
    else if (handle != null && handle.reading === true) {
      handle.reading = false;
      handle.readStop();
    }
  }

  private readStart(): void {
    const handle = (this.socket as Socket & { _handle?: { reading?: boolean; readStart(): number } | null })._handle;
    if (!this.consumed) this.socket.resume();
    else if (handle != null && handle.reading !== true && !this.socket.destroyed) {
      handle.reading = true;
      handle.readStart();
    }
  }

  /** The parser lets go of the socket for good (closed, upgraded, or after a refused head). */
  private stopReading(): void {
    const parser = this.parser;
    if (parser === null) return;
    this.parser = null;
    if (this.consumed) parser.unconsume();
    else this.socket.removeListener('data', this.onData!);
    (parser as Bound).conn = null;
    parser.remove();
    // After llhttp's own call stack has unwound: this may run inside one of its callbacks.
    setImmediate(() => parser.close());
  }

  // ---- Endings ----------------------------------------------------------------

  /** The client sent FIN: a head or body cut short is refused; node:net ends the socket's side. */
  private ended(): void {
    const parser = this.parser;
    if (parser === null) return;
    const ret = parser.finish();
    if (ret !== undefined && typeof ret !== 'number') this.refused(ret, undefined);
  }

  private closed(): void {
    this.server.connections.delete(this);
    this.stopReading();
    for (let r = this.first; r !== null; r = r.next) r.abandon();
    this.state.closed(this.server.settings.logger);
  }

  /** A fault of the server's own while reading the connection: logged, and the connection closed (its clients see it cut). */
  internalError(e: unknown): void {
    this.server.settings.logger.error('Internal error while reading an HTTP/1.x connection', e);
    this.socket.destroy();
  }

  /** The head being read took longer than the bound: 408, or a close for a connection that never sent a byte. */
  headTimedOut(): void {
    this.headSince = -1;
    if (!this.inMessage) {
      this.socket.destroy();
      return;
    }
    const error = Object.assign(new Error('request head timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT', bytesParsed: 0 }) as ParseError;
    this.refused(error, undefined);
  }

  /**
   * What llhttp refused (or a head that timed out): the HTTP/2 preface on a
   * fresh connection goes to h2c; anything else is answered with the status
   * for its code and `Connection: close`, once the responses before it are
   * out. A fault in the body of a request whose response has begun cuts it.
   */
  private refused(error: ParseError, data: Buffer | undefined): void {
    const socket = this.socket;
    error.rawPacket ??= data ?? this.parser?.getCurrentBuffer();
    if (error.code === 'HPE_PAUSED_H2_UPGRADE' && this.served === 0 && this.server.handlers.h2c !== null) {
      const start = http2Start(error);
      if (start !== null) {
        this.handOver();
        // After llhttp has returned from the read it is reporting.
        process.nextTick(() => {
          if (!socket.destroyed) this.server.handlers.h2c!(socket, start);
        });
        return;
      }
    }
    this.stopReading();
    this.headSince = -1;
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    const fault = clientErrorFault(error);
    this.answerWith(fault.status, fault.reason);
  }

  /** Refuses the head being read with `status` (logged with `reason`), once the responses before it are out, and closes. */
  private answerWith(status: number, reason: string): void {
    this.server.settings.logger.warning(`Invalid HTTP request received: ${reason}.`);
    this.faultStatus = status;
    this.answerFault();
  }

  /** Gives the refused head its answer when no response is ahead of it; a response whose request it cut short is cut. */
  private answerFault(): void {
    const res = this.first;
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    if (res !== null) {
      if (res.complete) return; // its turn comes when the responses before it are out (responseFinished)
      // The fault is in this response's own request body: the response cannot complete.
      if (res.headersSent) {
        socket.destroy();
        return;
      }
    }
    socket.end(rawAnswer(this.faultStatus, true));
    socket.destroySoon();
  }

  /** Takes the socket from the parser and this server's bookkeeping, for another protocol. */
  private handOver(): void {
    this.stopReading();
    this.server.connections.delete(this);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('timeout', this.onTimeout);
    this.socket.removeListener('close', this.onClose);
    this.socket.setTimeout(0);
  }

  /** An Upgrade or CONNECT head: the socket goes to the upgrade handler with a node:http request object, as node:http hands it over. */
  private handOverUpgrade(parsed: number, data: Buffer | undefined): void {
    const u = this.upgrading!;
    this.upgrading = null;
    const read = data ?? this.parser!.getCurrentBuffer();
    const bodyHead = read.subarray(parsed);
    this.handOver();
    const socket = this.socket;
    const req = new IncomingMessage(socket);
    req.httpVersionMajor = u.major;
    req.httpVersionMinor = u.minor;
    req.httpVersion = `${u.major}.${u.minor}`;
    req.method = u.method;
    req.url = u.target;
    (req as IncomingMessage & { upgrade: boolean }).upgrade = true;
    (req as IncomingMessage & { _addHeaderLines(raw: string[], n: number): void })._addHeaderLines(u.raw, u.raw.length);
    req.complete = true;
    this.server.handlers.upgrade(req, socket, bodyHead);
  }
}

/**
 * What the HTTP/2 session must read first: the preface, then the bytes after
 * it in the read that ended it (the preface may have begun in an earlier
 * read). Null when the read does not hold the preface's end.
 */
function http2Start(error: ParseError): Buffer | null {
  const packet = error.rawPacket;
  const parsed = error.bytesParsed;
  const n = HTTP2_PREFACE.length;
  if (!Buffer.isBuffer(packet) || typeof parsed !== 'number' || parsed > n || parsed < 0) return null;
  if (!packet.subarray(0, parsed).equals(HTTP2_PREFACE.subarray(n - parsed))) return null;
  const rest = packet.subarray(parsed);
  return rest.length > 0 ? Buffer.concat([HTTP2_PREFACE, rest]) : HTTP2_PREFACE;
}

// llhttp calls these with the parser as `this`: one set of functions for every connection.
type Bound = Parser & { conn: Http1Connection | null };
function onMessageBegin(this: Bound): number {
  this.conn?.messageBegun();
  return 0;
}
function onHeaders(this: Bound, raw: string[], target: string): void {
  this.conn?.headPiece(raw, target);
}
function onHeadersComplete(
  this: Bound,
  major: number,
  minor: number,
  raw: string[] | undefined,
  method: number,
  target: string | undefined,
  _status: unknown,
  _statusText: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const conn = this.conn;
  if (conn === null) return 0;
  try {
    return conn.headComplete(major, minor, raw, method, target, upgrade, keepAlive);
  } catch (e) {
    // Thrown back into node's parser, an error would end the process.
    conn.internalError(e);
    return 2;
  }
}
function onBody(this: Bound, chunk: Buffer): void {
  this.conn?.bodyPiece(chunk);
}
function onMessageComplete(this: Bound): void {
  this.conn?.messageComplete();
}
function onExecute(this: Bound, ret: number | ParseError): void {
  const conn = this.conn;
  try {
    conn?.executed(ret, undefined);
  } catch (e) {
    conn?.internalError(e);
  }
}
