/**
 * WebSocket connections on uWebSockets.js: the `app.ws('/*', …)` behavior
 * that runs one ASGI-TS `websocket` scope per upgrade request.
 *
 * The protocol rules (what the app may send when, the handshake outcomes)
 * are @tsgi/core's sans-IO WebSocketCycle; this module only carries its
 * actions out on uWebSockets.js and turns socket events into receive events:
 *
 * - handshake: `websocket.connect` -> the app answers with `websocket.accept`
 *   (101, with its subprotocol and extra headers), `websocket.close` (403), or
 *   a denial response (`websocket.http.response.*`, announced in
 *   scope.extensions). A client gone during the handshake gets the app a
 *   `websocket.disconnect` with 1006.
 * - messages both ways; `websocket.disconnect` carries the close code and
 *   reason (spec_version 2.5).
 * - send backpressure: send() resolves once uWebSockets.js holds less than a
 *   high-water mark of unsent bytes, else waits for its `drain` event.
 * - receive bound: uWebSockets.js v20.30 cannot pause a WebSocket, so the
 *   messages the app has not received are capped (see websocket-inbox.ts);
 *   past the cap the connection is closed with 1008.
 * - wsMaxSize: larger messages close the connection with 1009; automatic
 *   pings drop a peer that stops answering (the app sees 1006, a lost connection).
 * - app errors: before the handshake is answered -> HTTP 500; after accept ->
 *   close 1011; both logged, nothing leaks to the client. ClientDisconnected
 *   escaping the app ends the connection quietly.
 *
 * No exception may unwind through a uWebSockets.js callback: every handler
 * body here is guarded.
 */
import { STATUS_CODES } from 'node:http';
import {
  ClientDisconnected,
  WebSocketCycle,
  buildWebSocketScope,
  type ByteString,
  type Extensions,
  type Receive,
  type Send,
  type WebSocketReceiveEventUnion,
  type WebSocketAction,
  type WebSocketScope,
  type WebSocketSendEventUnion,
} from '@tsgi/core';
import {
  Keepalive,
  WebSocketInbox,
  quiet,
  runApp,
  websocketAccessLine,
  websocketAccessPrefix,
  websocketEnding,
  type AppExit,
  type ServerContext,
  type TrackedConnection,
} from '@tsgi/core/server';
import type { HttpResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from './binding.js';
import { copyBytes } from './copy-bytes.js';
import { readRequestHead } from './request-head.js';

/** Knobs below the uvicorn-level options (ServerContext.options); defaults suit most servers. */
export interface WebSocketTuning {
  /** Unsent bytes held by uWebSockets.js above which send() waits for `drain`; default 64 KiB. */
  sendHighWaterMark?: number;
  /** Most received messages queued for an app that does not call receive(); default 1024. */
  maxQueuedMessages?: number;
  /** Most received bytes queued for such an app; default wsMaxSize (one maximal message always fits). */
  maxQueuedBytes?: number;
}

/** The extensions a websocket scope announces. */
const WEBSOCKET_EXTENSIONS: Extensions = Object.freeze({ 'websocket.http.response': Object.freeze({}) as Record<string, never> });

/** uWebSockets.js keeps maxPayloadLength in a signed 32-bit int. */
const MAX_NATIVE_PAYLOAD = 2 ** 31 - 1;
const CLOSE_TOO_BIG = 1009;
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_POLICY = 1008;
const CLOSE_GOING_AWAY_RESTART = 1012;
const CLOSE_ABNORMAL = 1006;
const EMPTY_BODY = new Uint8Array(0);

/** The uWebSockets.js behavior for `app.ws('/*', …)`: one ASGI-TS websocket scope per upgrade. */
export function createWebSocketBehavior(ctx: ServerContext, tuning: WebSocketTuning = {}): WebSocketBehavior<SocketData> {
  const o = ctx.options;
  const limits = {
    sendHighWaterMark: positive('sendHighWaterMark', tuning.sendHighWaterMark, 64 * 1024),
    maxQueuedMessages: positive('maxQueuedMessages', tuning.maxQueuedMessages, 1024),
    maxQueuedBytes: positive('maxQueuedBytes', tuning.maxQueuedBytes, o.wsMaxSize),
    pingIntervalMs: o.wsPingInterval === null ? null : o.wsPingInterval * 1000,
    pingTimeoutMs: o.wsPingTimeout === null ? null : o.wsPingTimeout * 1000,
    defaultHeaders: o.defaultHeaders.map(([name, value]): [string, string | Uint8Array] => [name, latin1(value)]),
  };
  const scopeOptions = { rootPath: o.rootPath, extensions: WEBSOCKET_EXTENSIONS };
  return {
    // uWebSockets.js drops the TCP connection without a close frame (the client sees
    // 1006) on a message over its maxPayloadLength. To close with 1009 as uvicorn
    // does, the native limit is twice wsMaxSize and received() enforces wsMaxSize;
    // only messages over twice the limit still get the abrupt close.
    maxPayloadLength: Math.min(o.wsMaxSize * 2, MAX_NATIVE_PAYLOAD),
    // uWebSockets.js drops a message sent past maxBackpressure; send() waits at the
    // high-water mark long before that, so this limit is never the one that bites.
    maxBackpressure: 2 ** 31 - 1,
    closeOnBackpressureLimit: 0,
    // Pings and dead-peer detection run on JS timers (websocket-keepalive.ts).
    idleTimeout: 0,
    sendPingsAutomatically: false,
    compression: 0,
    upgrade(res, req, context) {
      try {
        const startedMs = o.accessLog ? performance.now() : 0;
        const version = req.getHeader('sec-websocket-version');
        // Copied now: req is valid only during this callback (proxy headers applied when trusted).
        const head = readRequestHead(req, res, ctx);
        const prefix = o.accessLog ? websocketAccessPrefix(head.client, head.target) : null;
        // uWebSockets.js upgrades any Sec-WebSocket-Version; RFC 6455 (4.4) wants 426 and the one it speaks.
        if (version !== '13') {
          res.cork(() => {
            res.writeStatus('426 Upgrade Required');
            for (const [name, value] of limits.defaultHeaders) res.writeHeader(name, value);
            res.writeHeader('sec-websocket-version', '13').writeHeader('content-type', 'text/plain; charset=utf-8').end('Unsupported WebSocket version', true);
          });
          if (prefix !== null) ctx.logger.access(websocketAccessLine(prefix, { status: 426 }, startedMs));
          return;
        }
        if (ctx.connections.closing || (o.limitConcurrency !== null && ctx.connections.size >= o.limitConcurrency)) {
          res.cork(() => {
            res.writeStatus('503 Service Unavailable');
            for (const [name, value] of limits.defaultHeaders) res.writeHeader(name, value);
            res.writeHeader('content-type', 'text/plain; charset=utf-8').end('Service Unavailable', true);
          });
          if (prefix !== null) ctx.logger.access(websocketAccessLine(prefix, { status: 503 }, startedMs));
          return;
        }
        const scope = buildWebSocketScope(head, { ...scopeOptions, state: ctx.state });
        const conn = new WsConnection(ctx, scope, limits, res, context, {
          key: req.getHeader('sec-websocket-key'),
          extensions: req.getHeader('sec-websocket-extensions'),
        }, prefix, startedMs);
        conn.start();
      } catch (e) {
        // Only a bug of ours gets here (reading the request cannot fail otherwise).
        ctx.logger.error('WebSocket upgrade failed', e);
        try {
          res.cork(() => res.writeStatus('500 Internal Server Error').end('Internal Server Error', true));
        } catch {
          // the response was already used; nothing more to do
        }
      }
    },
    open(ws) {
      guard(ctx, () => ws.getUserData().conn.opened(ws));
    },
    message(ws, message, isBinary) {
      guard(ctx, () => ws.getUserData().conn.received(message, isBinary));
    },
    drain(ws) {
      guard(ctx, () => ws.getUserData().conn.drained());
    },
    pong(ws) {
      guard(ctx, () => ws.getUserData().conn.ponged());
    },
    close(ws, code, message) {
      guard(ctx, () => ws.getUserData().conn.closed(code, message));
    },
  };
}

function guard(ctx: ServerContext, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    ctx.logger.error('internal error in a WebSocket callback', e);
  }
}

function positive(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`createWebSocketBehavior(): ${name} must be a positive integer; got ${String(value)}`);
  return value;
}

interface Limits {
  sendHighWaterMark: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  pingIntervalMs: number | null;
  pingTimeoutMs: number | null;
  /** The server's own headers (server, --header), also on the 101. */
  defaultHeaders: Array<[string, string | Uint8Array]>;
}

/** uWS copies the own properties of the user data it is given into a plain object, so the connection rides in a field. */
export interface SocketData {
  conn: WsConnection;
}

/** What res.upgrade() needs from the request, copied at entry. */
interface HandshakeRequest {
  key: string;
  extensions: string;
}

/** One WebSocket connection from upgrade request to the app's return: the glue between the cycle, the inbox and uWebSockets.js. */
export class WsConnection implements TrackedConnection {
  trackingId = 0;
  private readonly cycle: WebSocketCycle;
  private readonly inbox: WebSocketInbox;
  private readonly keepalive: Keepalive;
  /** The upgrade response, until the handshake is answered or aborted. */
  private res: HttpResponse | null;
  /** The socket, from open to close. */
  private ws: WebSocket<SocketData> | null = null;
  private drainWaiters: Array<() => void> = [];
  private shuttingDown = false;
  private appDone = false;
  private pingTimedOut = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly scope: WebSocketScope,
    private readonly limits: Limits,
    res: HttpResponse,
    private readonly context: us_socket_context_t,
    private readonly request: HandshakeRequest,
    /** `client - "WebSocket /path"` for the access log, or null when it is off. */
    private readonly logPrefix: string | null = null,
    private readonly startedMs = 0,
  ) {
    this.res = res;
    this.cycle = new WebSocketCycle({ subprotocols: scope.subprotocols, extensions: scope.extensions });
    this.inbox = new WebSocketInbox({ maxMessages: limits.maxQueuedMessages, maxBytes: limits.maxQueuedBytes });
    this.keepalive = new Keepalive(limits.pingIntervalMs, limits.pingTimeoutMs, {
      ping: () => this.ws?.ping(),
      // A peer that stops answering is a lost connection (asgi.websocket.ping.1): dropped
      // without a close handshake it could not complete, so the app sees 1006.
      timedOut: () => {
        this.ctx.logger.debug(`WebSocket ${this.scope.path}: no pong within the ping timeout; dropping the connection`);
        this.pingTimedOut = true;
        this.ws?.close();
      },
    });
    // The one abort handler of this response (uWS calls only the last registered).
    res.onAborted(() => this.handshakeAborted());
  }

  /** Starts the app with `websocket.connect` waiting in its inbox. */
  start(): void {
    this.ctx.connections.add(this);
    this.inbox.push({ type: 'websocket.connect' });
    const receive = (): Promise<WebSocketReceiveEventUnion> => this.inbox.receive();
    // The app may hand send() any event; the cycle rejects those a websocket scope cannot take.
    const send = ((event: WebSocketSendEventUnion): Promise<void> => this.send(event)) as Send;
    runApp(this.ctx.app, this.scope, receive as Receive, send, (exit) => this.appExited(exit), this.ctx.logger);
  }

  // ---- the app's send() ---------------------------------------------------

  private send(event: WebSocketSendEventUnion): Promise<void> {
    try {
      const action = this.cycle.send(event);
      // A message while no send waits for drain goes out at once, without an async function per message.
      if ((action.kind === 'binary' || action.kind === 'text') && this.ws !== null && this.drainWaiters.length === 0) {
        return this.sendNow(this.ws, action.kind === 'text' ? action.text : action.bytes, action.kind === 'binary');
      }
      return quiet(this.perform(action));
    } catch (e) {
      return quiet(Promise.reject(e));
    }
  }

  private async perform(action: WebSocketAction): Promise<void> {
    switch (action.kind) {
      case 'accept':
        return this.accept(action.subprotocol, action.headers);
      case 'deny':
        return this.respond(403, [], EMPTY_BODY);
      case 'response_pending':
        return;
      case 'respond':
        return this.respond(action.status, action.headers, action.body);
      case 'text':
      case 'binary':
        return this.sendMessage(action.kind === 'text' ? action.text : action.bytes, action.kind === 'binary');
      case 'close':
        this.closeSocket(action.code, action.reason);
        return;
    }
  }

  private accept(subprotocol: string | null, headers: Array<[ByteString, ByteString]>): void {
    const res = this.res;
    if (res === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
    this.res = null;
    const defaults = this.limits.defaultHeaders;
    res.cork(() => {
      if (headers.length > 0 || defaults.length > 0) {
        res.writeStatus('101 Switching Protocols');
        for (const [name, value] of defaults) res.writeHeader(name, value);
        for (const [name, value] of headers) res.writeHeader(name, latin1(value));
      }
      // uWS answers 101 with Sec-WebSocket-Accept and, when non-empty, this subprotocol; open() runs inside upgrade().
      res.upgrade<SocketData>({ conn: this }, this.request.key, subprotocol ?? '', this.request.extensions, this.context);
    });
    this.logAccess('accepted');
  }

  /** One access-log line of this WebSocket (accepted, refused with a status, closed with a code). */
  private logAccess(outcome: 'accepted' | { status: number } | { closed: number }): void {
    if (this.logPrefix !== null) this.ctx.logger.access(websocketAccessLine(this.logPrefix, outcome, this.startedMs));
  }

  /** Answers the handshake with a plain HTTP response (403 or the app's denial response) and closes. */
  private respond(status: number, headers: Array<[ByteString, ByteString]>, body: Uint8Array): void {
    const res = this.res;
    if (res === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
    this.res = null;
    const defaults = this.limits.defaultHeaders;
    res.cork(() => {
      res.writeStatus(`${status} ${STATUS_CODES[status] ?? 'Unknown'}`);
      for (const [name, value] of defaults) res.writeHeader(name, value);
      for (const [name, value] of headers) {
        // uWS writes its own Content-Length for end(body).
        if (name !== 'content-length' && name !== 'transfer-encoding') res.writeHeader(name, latin1(value));
      }
      res.end(body, true);
    });
    this.logAccess({ status });
    // No socket was opened: the app's next receive() says so with 1006 (no close frame), as uvicorn.
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
  }

  private async sendMessage(data: string | Uint8Array, binary: boolean): Promise<void> {
    while (this.ws !== null && this.ws.getBufferedAmount() > this.limits.sendHighWaterMark) await this.waitForDrain();
    const ws = this.ws;
    if (ws === null) throw new ClientDisconnected('send() after the WebSocket client disconnected');
    ws.cork(() => ws.send(data, binary));
    // Handed over; if the client leaves while it drains, this send still succeeded.
    if (ws.getBufferedAmount() > this.limits.sendHighWaterMark) await this.waitForDrain();
  }

  /**
   * Hands one message to uWebSockets.js. No send waits for drain, so the
   * buffered amount is at most the high-water mark (each send checks after
   * itself): no check is needed before, one after.
   */
  private sendNow(ws: WebSocket<SocketData>, data: string | Uint8Array, binary: boolean): Promise<void> {
    corkedSocket = ws;
    corkedData = data;
    corkedBinary = binary;
    ws.cork(sendCorked);
    corkedSocket = corkedData = undefined;
    return ws.getBufferedAmount() > this.limits.sendHighWaterMark ? this.waitForDrain() : SENT;
  }

  private waitForDrain(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeSenders(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private closeSocket(code: number, reason: string): void {
    // end() calls the close handler at once, which ends the cycle and the inbox.
    this.ws?.end(code, reason);
  }

  // ---- uWebSockets.js events ---------------------------------------------

  /** The 101 went out: the socket is live. */
  opened(ws: WebSocket<SocketData>): void {
    this.ws = ws;
    this.keepalive.start();
    if (this.shuttingDown) ws.end(CLOSE_GOING_AWAY_RESTART, 'server shutting down');
  }

  /** A message arrived; the ArrayBuffer is neutered when this returns, so it is copied. */
  received(message: ArrayBuffer, isBinary: boolean): void {
    if (message.byteLength > this.ctx.options.wsMaxSize) {
      this.ws?.end(CLOSE_TOO_BIG, 'message too big');
      return;
    }
    let event: WebSocketReceiveEventUnion;
    let size: number;
    if (isBinary) {
      event = { type: 'websocket.receive', bytes: copyBytes(message), text: null };
      size = message.byteLength;
    } else {
      const text = Buffer.from(message).toString('utf8');
      event = { type: 'websocket.receive', bytes: null, text };
      size = text.length * 2;
    }
    if (!this.inbox.push(event, size)) {
      this.ctx.logger.warning(
        `WebSocket ${this.scope.path}: the app is not receiving (${this.inbox.length} messages, ${this.inbox.queuedBytes} bytes queued); closing with ${CLOSE_POLICY}`,
      );
      this.ws?.end(CLOSE_POLICY, 'receive queue full');
    }
  }

  drained(): void {
    if (this.ws === null || this.drainWaiters.length === 0 || this.ws.getBufferedAmount() > this.limits.sendHighWaterMark) return;
    // Resume the senders after this native callback has returned: a send() made while
    // uWS is still in its writable handler is buffered without a later drain event.
    setImmediate(() => this.wakeSenders());
  }

  ponged(): void {
    this.keepalive.pong();
  }

  /** The socket closed (either side, or lost); the code is 1006 when no close frame came, 1005 when it had no code. */
  closed(code: number, message: ArrayBuffer): void {
    const reason = this.pingTimedOut ? 'keepalive ping timeout' : message.byteLength > 0 ? Buffer.from(message).toString('utf8') : '';
    this.ws = null;
    this.logAccess({ closed: code });
    this.keepalive.stop();
    this.cycle.disconnect(code, reason);
    this.inbox.close({ type: 'websocket.disconnect', code, reason });
    this.wakeSenders();
    this.finishIfDone();
  }

  /** The client went away before the handshake was answered. */
  private handshakeAborted(): void {
    this.res = null;
    this.cycle.disconnect(CLOSE_ABNORMAL, null);
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    this.finishIfDone();
  }

  // ---- the app's end -----------------------------------------------------

  private appExited(exit: AppExit): void {
    this.appDone = true;
    const ending = websocketEnding(this.cycle, exit, this.scope.path);
    if (ending.log !== null) this.ctx.logger.error(ending.log.message, ending.log.error);
    try {
      switch (ending.action) {
        case 'respond_500':
          if (this.res !== null) {
            const res = this.res;
            this.res = null;
            res.cork(() => res.writeStatus('500 Internal Server Error').writeHeader('content-type', 'text/plain; charset=utf-8').end('Internal Server Error', true));
            this.logAccess({ status: 500 });
          }
          break;
        case 'deny_403':
          if (this.res !== null) this.respond(403, [], EMPTY_BODY);
          break;
        case 'close_1000':
          this.ws?.end(1000, '');
          break;
        case 'close_1011':
          this.ws?.end(CLOSE_INTERNAL_ERROR, 'Internal Server Error');
          break;
        case 'abort':
          this.res?.close();
          this.res = null;
          break;
        case 'none':
          break;
      }
    } catch (e) {
      this.ctx.logger.error('internal error while ending a WebSocket', e);
    }
    this.finishIfDone();
  }

  /** Leaves the connection tracker once both the app and the transport are done. */
  private finishIfDone(): void {
    if (this.appDone && this.res === null && this.ws === null) this.ctx.connections.delete(this);
  }

  // ---- graceful shutdown (TrackedConnection) -------------------------------

  /** Server shutdown began: an open socket is closed with 1012 (service restart), as uvicorn does. */
  shutdown(): void {
    this.shuttingDown = true;
    this.ws?.end(CLOSE_GOING_AWAY_RESTART, 'server shutting down');
  }

  /** The graceful timeout passed: drop the connection now. */
  abort(): void {
    try {
      if (this.res !== null) {
        const res = this.res;
        this.res = null;
        res.close();
      }
      this.ws?.close();
    } catch {
      // already gone
    }
  }
}

/** What send() returns for a message handed over at once: one settled promise for all. */
const SENT: Promise<void> = Promise.resolve();

// The message sendNow() writes inside ws.cork(): module state instead of a closure per message.
let corkedSocket: WebSocket<SocketData> | undefined;
let corkedData: string | Uint8Array | undefined;
let corkedBinary = false;
function sendCorked(): void {
  corkedSocket!.send(corkedData!, corkedBinary);
}

/** Header values are byte strings; uWS writes JS strings as UTF-8, so hand it the bytes. */
function latin1(value: ByteString): string | Uint8Array {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'latin1');
  }
  return value;
}
