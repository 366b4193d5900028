/**
 * WebSocket connections on uWebSockets.js: the `app.ws('/*', …)` behavior
 * that runs one ASGI-TS `websocket` scope per upgrade request.
 *
 * The protocol rules (what the app may send when, the handshake's outcomes,
 * the receive bound, pings, how the app's run ends the connection, shutdown)
 * live in @tsgi/core's ServerWebSocketSession; this module is its transport
 * on uWebSockets.js:
 *
 * - handshake: the app runs with `websocket.connect` before the upgrade
 *   request is answered; `websocket.accept` completes it with res.upgrade()
 *   (101, with the app's subprotocol and extra headers), `websocket.close` and
 *   a denial response (`websocket.http.response.*`) are written on the
 *   response; a wrong Sec-WebSocket-Version is refused with 426 and a server
 *   at its limit with 503 before the app runs.
 * - send backpressure: send() resolves once uWebSockets.js holds less than a
 *   high-water mark of unsent bytes, else waits for its `drain` event.
 * - receive bound: uWebSockets.js v20.30 cannot pause a WebSocket, so the
 *   session closes a connection whose app leaves too much unreceived with 1008.
 * - wsMaxSize: checked here before a message is copied (the native limit is
 *   twice as high, see maxPayloadLength below); a larger one closes with 1009.
 *
 * No exception may unwind through a uWebSockets.js callback: every handler
 * body here is guarded.
 */
import { STATUS_CODES } from 'node:http';
import { ClientDisconnected, buildWebSocketScope, type ByteString, type Extensions, type NormalizedHeaders } from '@tsgi/core';
import {
  ServerWebSocketSession,
  websocketAccessLine,
  websocketAccessPrefix,
  type HandshakePort,
  type Logger,
  type ServerContext,
  type SessionEnv,
  type SocketPort,
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

/** What the connections of one server share: the sessions' env and what the transport needs. */
interface UwsEnv {
  readonly session: SessionEnv;
  /** Unsent bytes held by uWebSockets.js above which send() waits for `drain`. */
  readonly sendHighWaterMark: number;
  /** The server's own headers (server, --header), also on the 101. */
  readonly defaultHeaders: ReadonlyArray<[string, string | Uint8Array]>;
}

/** The uWebSockets.js behavior for `app.ws('/*', …)`: one ASGI-TS websocket scope per upgrade. */
export function createWebSocketBehavior(ctx: ServerContext, tuning: WebSocketTuning = {}): WebSocketBehavior<SocketData> {
  const o = ctx.options;
  const session: SessionEnv = {
    app: ctx.app,
    logger: ctx.logger,
    connections: ctx.connections,
    limits: {
      maxMessageBytes: o.wsMaxSize,
      inbox: {
        maxMessages: positive('maxQueuedMessages', tuning.maxQueuedMessages, 1024),
        maxBytes: positive('maxQueuedBytes', tuning.maxQueuedBytes, o.wsMaxSize),
      },
      // uWebSockets.js cannot pause a WebSocket: a full inbox closes with 1008.
      pausable: false,
      pingIntervalMs: o.wsPingInterval === null ? null : o.wsPingInterval * 1000,
      pingTimeoutMs: o.wsPingTimeout === null ? null : o.wsPingTimeout * 1000,
    },
  };
  const env: UwsEnv = {
    session,
    sendHighWaterMark: positive('sendHighWaterMark', tuning.sendHighWaterMark, 64 * 1024),
    defaultHeaders: o.defaultHeaders.map(([name, value]): [string, string | Uint8Array] => [name, latin1(value)]),
  };
  const defaultHeaders = env.defaultHeaders;
  const scopeOptions = { rootPath: o.rootPath, extensions: WEBSOCKET_EXTENSIONS };
  return {
    // uWebSockets.js drops the TCP connection without a close frame (the client sees
    // 1006) on a message over its maxPayloadLength. To close with 1009 as uvicorn
    // does, the native limit is twice wsMaxSize and the session's withinLimit()
    // enforces wsMaxSize; only messages over twice the limit still get the abrupt close.
    maxPayloadLength: Math.min(o.wsMaxSize * 2, MAX_NATIVE_PAYLOAD),
    // uWebSockets.js drops a message sent past maxBackpressure; send() waits at the
    // high-water mark long before that, so this limit is never the one that bites.
    maxBackpressure: 2 ** 31 - 1,
    closeOnBackpressureLimit: 0,
    // Pings and dead-peer detection run on JS timers (the session's Keepalive).
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
            for (const [name, value] of defaultHeaders) res.writeHeader(name, value);
            res.writeHeader('sec-websocket-version', '13').writeHeader('content-type', 'text/plain; charset=utf-8').end('Unsupported WebSocket version', true);
          });
          if (prefix !== null) ctx.logger.access(websocketAccessLine(prefix, { status: 426 }, startedMs));
          return;
        }
        if (ctx.connections.closing || (o.limitConcurrency !== null && ctx.connections.size >= o.limitConcurrency)) {
          res.cork(() => {
            res.writeStatus('503 Service Unavailable');
            for (const [name, value] of defaultHeaders) res.writeHeader(name, value);
            res.writeHeader('content-type', 'text/plain; charset=utf-8').end('Service Unavailable', true);
          });
          if (prefix !== null) ctx.logger.access(websocketAccessLine(prefix, { status: 503 }, startedMs));
          return;
        }
        const scope = buildWebSocketScope(head, { ...scopeOptions, state: ctx.state });
        const conn = new ServerWebSocketSession(session, scope, prefix === null ? null : { prefix, startedMs });
        const port = new UwsWebSocket(env, conn, res, context, {
          key: req.getHeader('sec-websocket-key'),
          extensions: req.getHeader('sec-websocket-extensions'),
        });
        conn.start(port);
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
      guard(ctx.logger, () => ws.getUserData().transport.opened(ws));
    },
    message(ws, message, isBinary) {
      guard(ctx.logger, () => ws.getUserData().transport.received(message, isBinary));
    },
    drain(ws) {
      guard(ctx.logger, () => ws.getUserData().transport.drained());
    },
    pong(ws) {
      guard(ctx.logger, () => ws.getUserData().transport.ponged());
    },
    close(ws, code, message) {
      guard(ctx.logger, () => ws.getUserData().transport.closed(code, message));
    },
  };
}

function guard(logger: Logger, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    logger.error('internal error in a WebSocket callback', e);
  }
}

function positive(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`createWebSocketBehavior(): ${name} must be a positive integer; got ${String(value)}`);
  return value;
}

/** uWS copies the own properties of the user data it is given into a plain object, so the transport rides in a field. */
export interface SocketData {
  transport: UwsWebSocket;
}

/** What res.upgrade() needs from the request, copied at entry. */
interface HandshakeRequest {
  key: string;
  extensions: string;
}

/**
 * One WebSocket connection's transport: the upgrade response until the app
 * answers the handshake, then the uWebSockets.js WebSocket. The session's two ports.
 */
export class UwsWebSocket implements HandshakePort, SocketPort {
  /** The upgrade response, until the handshake is answered or aborted. */
  private res: HttpResponse | null;
  /** The socket, from open to close. */
  private ws: WebSocket<SocketData> | null = null;
  private drainWaiters: Array<() => void> = [];
  readonly ping = (): void => {
    this.ws?.ping();
  };
  // uWebSockets.js cannot stop reading a WebSocket.
  readonly pause = null;
  readonly resume = null;

  constructor(
    private readonly env: UwsEnv,
    private readonly session: ServerWebSocketSession,
    res: HttpResponse,
    private readonly context: us_socket_context_t,
    private readonly request: HandshakeRequest,
  ) {
    this.res = res;
    // The one abort handler of this response (uWS calls only the last registered).
    res.onAborted(() => guard(env.session.logger, () => this.handshakeAborted()));
  }

  // ---- the handshake (HandshakePort) -------------------------------------------

  /** websocket.accept: uWS answers 101 and calls open() before upgrade() returns; false when the client has gone. */
  accept(subprotocol: string | null, headers: NormalizedHeaders): boolean {
    const res = this.res;
    if (res === null) return false;
    this.res = null;
    const defaults = this.env.defaultHeaders;
    try {
      res.cork(() => {
        if (headers.length > 0 || defaults.length > 0) {
          res.writeStatus('101 Switching Protocols');
          for (const [name, value] of defaults) res.writeHeader(name, value);
          for (const [name, value] of headers) res.writeHeader(name, latin1(value));
        }
        // uWS answers 101 with Sec-WebSocket-Accept and, when non-empty, this subprotocol; open() runs inside upgrade().
        res.upgrade<SocketData>({ transport: this }, this.request.key, subprotocol ?? '', this.request.extensions, this.context);
      });
    } catch (e) {
      // The session counts a throwing accept() as refused: the request must not be left waiting.
      closeQuietly(res);
      throw e;
    }
    return true;
  }

  /** Answers the handshake with a plain HTTP response (403, 500 or the app's denial response) and closes. */
  respond(status: number, headers: NormalizedHeaders, body: Uint8Array): void {
    const res = this.res;
    if (res === null) return;
    this.res = null;
    const defaults = this.env.defaultHeaders;
    try {
      res.cork(() => {
        res.writeStatus(`${status} ${STATUS_CODES[status] ?? 'Unknown'}`);
        for (const [name, value] of defaults) res.writeHeader(name, value);
        for (const [name, value] of headers) {
          // uWS writes its own Content-Length for end(body).
          if (name !== 'content-length' && name !== 'transfer-encoding') res.writeHeader(name, latin1(value));
        }
        res.end(body, true);
      });
    } catch (e) {
      closeQuietly(res);
      throw e;
    }
  }

  abort(): void {
    const res = this.res;
    if (res === null) return;
    this.res = null;
    closeQuietly(res);
  }

  /** The client went away before the handshake was answered. */
  private handshakeAborted(): void {
    // Answered or dropped by us already (res.close() may report itself here): the session knows.
    if (this.res === null) return;
    this.res = null;
    this.session.clientLeft();
  }

  // ---- the open socket (SocketPort) ----------------------------------------------

  /** Hands one message to uWebSockets.js; resolves once it holds at most the high-water mark. */
  send(data: string | Uint8Array, binary: boolean): Promise<void> {
    const ws = this.ws;
    if (ws === null) return Promise.reject(new ClientDisconnected('send() after the WebSocket client disconnected'));
    // A message while no send waits for drain goes out at once, without an async function per message.
    if (this.drainWaiters.length === 0) return this.sendNow(ws, data, binary);
    return this.sendMessage(data, binary);
  }

  close(code: number, reason: string): void {
    // end() calls the close handler at once, which reports the close to the session.
    this.ws?.end(code, reason);
  }

  terminate(): void {
    // close() drops the connection without a close frame; the close handler says 1006.
    this.ws?.close();
  }

  private async sendMessage(data: string | Uint8Array, binary: boolean): Promise<void> {
    while (this.ws !== null && this.ws.getBufferedAmount() > this.env.sendHighWaterMark) await this.waitForDrain();
    const ws = this.ws;
    if (ws === null) throw new ClientDisconnected('send() after the WebSocket client disconnected');
    ws.cork(() => ws.send(data, binary));
    // Handed over; if the client leaves while it drains, this send still succeeded.
    if (ws.getBufferedAmount() > this.env.sendHighWaterMark) await this.waitForDrain();
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
    return ws.getBufferedAmount() > this.env.sendHighWaterMark ? this.waitForDrain() : SENT;
  }

  private waitForDrain(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeSenders(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  // ---- uWebSockets.js events ---------------------------------------------------

  /** The 101 went out: the socket is live. */
  opened(ws: WebSocket<SocketData>): void {
    this.ws = ws;
    this.session.opened(this);
  }

  /** A message arrived; the ArrayBuffer is neutered when this returns, so it is copied (after the size check: the native limit is twice wsMaxSize). */
  received(message: ArrayBuffer, isBinary: boolean): void {
    const session = this.session;
    if (!session.withinLimit(message.byteLength)) return;
    session.received(isBinary ? copyBytes(message) : Buffer.from(message).toString('utf8'));
  }

  drained(): void {
    if (this.ws === null || this.drainWaiters.length === 0 || this.ws.getBufferedAmount() > this.env.sendHighWaterMark) return;
    // Resume the senders after this native callback has returned: a send() made while
    // uWS is still in its writable handler is buffered without a later drain event.
    setImmediate(() => this.wakeSenders());
  }

  ponged(): void {
    this.session.ponged();
  }

  /** The socket closed (either side, or lost); the code is 1006 when no close frame came, 1005 when it had no code. */
  closed(code: number, message: ArrayBuffer): void {
    const reason = message.byteLength > 0 ? Buffer.from(message).toString('utf8') : '';
    this.ws = null;
    // A sender waiting for drain finds the socket gone (or its message already handed over).
    this.wakeSenders();
    this.session.closed(code, reason);
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

/** Drops a response that may already be gone. */
function closeQuietly(res: HttpResponse): void {
  try {
    res.close();
  } catch {
    // already gone
  }
}

/** Header values are byte strings; uWS writes JS strings as UTF-8, so hand it the bytes. */
function latin1(value: ByteString): string | Uint8Array {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'latin1');
  }
  return value;
}
