/**
 * WebSocket connections with `ws`: one ASGI-TS `websocket`
 * scope per upgrade request. What the app may send when, the handshake's
 * outcomes, pings and endings are the server layer's ServerWebSocketSession;
 * `ws` speaks RFC 6455 (framing, masking, close codes, UTF-8, fragments,
 * permessage-deflate) and this module is the session's transport on it:
 *
 * - handshake: the app runs with `websocket.connect` BEFORE the handshake is
 *   answered; `websocket.accept` completes it through ws's handleUpgrade()
 *   (with the app's subprotocol and extra headers, latin-1 bytes kept),
 *   `websocket.close` answers 403, a denial response
 *   (`websocket.http.response.*`) is written raw on the socket; a handshake
 *   ws would refuse is refused before the app runs (handshake.ts), a wrong
 *   version with 426;
 * - messages both ways; `websocket.disconnect` carries the close code and
 *   reason; messages over wsMaxSize close with 1009 (ws's maxPayload);
 * - send backpressure: send() resolves at once while ws holds at most a
 *   high-water mark of unsent bytes (the message copied when small), else
 *   once the message reached the kernel;
 * - receive backpressure: when the app leaves messages unreceived past the
 *   inbox's bounds, the socket is paused (ws.pause()) until it catches up,
 *   and pings are suspended meanwhile (the peer cannot answer what is not read);
 * - automatic pings (Keepalive): a peer that stops answering is dropped (1006);
 * - shutdown closes open sockets with 1012; app errors: 500 before accept, 1011 after.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import { ClientDisconnected, buildWebSocketScope, type Extensions, type NormalizedHeaders } from '@tsgi/core';
import {
  ServerWebSocketSession,
  readNodeRequestHead,
  tlsExtension,
  wantsWebSocket,
  websocketAccessLine,
  websocketAccessPrefix,
  type HandshakePort,
  type SessionEnv,
  type SocketPort,
} from '@tsgi/core/server';
import { handshakeFault, writeRawResponse, writeRawText } from './handshake.js';
import type { RequestEnv } from './http-exchange.js';
import type { ResolvedOptions } from './options.js';

/** Knobs below the uvicorn-level options; the defaults suit most servers. */
export interface WebSocketTuning {
  /** Unsent bytes ws may hold before send() waits for the message to reach the kernel; default 64 KiB. */
  sendHighWaterMark?: number;
  /** Unreceived message bytes past which the socket is paused (the messages' bound is the wsMaxQueue option); default 1 MiB (one larger message still gets through). */
  receiveHighWaterBytes?: number;
  /** Milliseconds to wait for the peer's Close frame after sending ours; default 10 s (websockets' close_timeout). */
  closeTimeoutMs?: number;
}

/** The extensions a websocket scope announces. */
const WEBSOCKET_EXTENSIONS: Extensions = Object.freeze({ 'websocket.http.response': Object.freeze({}) as Record<string, never> });

/** Bytes a client may send before its handshake is answered (it should send none). */
const MAX_EARLY_BYTES = 64 * 1024;
const SENT: Promise<void> = Promise.resolve();
const NON_ASCII = /[\u0080-\u00ff]/;
const noop = (): void => {};

/** What the connections of one server share: the sessions' env, the ws server and the handshake parameters ws asks for by request. */
interface WsEnv {
  readonly session: SessionEnv;
  readonly wss: WebSocketServer;
  /** Unsent bytes ws may hold before send() waits for the message to reach the kernel. */
  readonly sendHighWaterMark: number;
  /** The subprotocol the app accepted, for ws's handleProtocols. */
  readonly protocols: WeakMap<IncomingMessage, string | null>;
  /** The app's extra 101 headers, for ws's 'headers' event. */
  readonly extraHeaders: WeakMap<IncomingMessage, NormalizedHeaders>;
  /** The server's own headers (server, --header): on the 101 and on every refusal too. */
  readonly defaults: ReadonlyArray<[string, string]>;
  /** A default header has bytes >= 0x80: the 101 is written as latin-1. */
  readonly defaultsLatin1: boolean;
}

/** The 'upgrade' handler of one server: WebSocket handshakes, and other upgrades served as plain HTTP by `plainHttp`. */
export function createUpgradeHandler(
  request: RequestEnv,
  options: ResolvedOptions,
  upgraded: Set<Socket>,
  plainHttp: (req: IncomingMessage, socket: Socket) => void,
  tuning: WebSocketTuning = {},
): (req: IncomingMessage, socket: Socket, head: Buffer) => void {
  const { ctx } = request;
  const session: SessionEnv = {
    app: ctx.app,
    logger: ctx.logger,
    connections: ctx.connections,
    limits: {
      // ws closes a larger message with 1009 itself (maxPayload below).
      maxMessageBytes: options.wsMaxSize,
      inbox: {
        maxMessages: options.wsMaxQueue,
        maxBytes: positive('receiveHighWaterBytes', tuning.receiveHighWaterBytes, 1024 * 1024),
      },
      pausable: true,
      pingIntervalMs: options.wsPingInterval === null ? null : options.wsPingInterval * 1000,
      pingTimeoutMs: options.wsPingTimeout === null ? null : options.wsPingTimeout * 1000,
    },
  };
  const sendHighWaterMark = positive('sendHighWaterMark', tuning.sendHighWaterMark, 64 * 1024);
  const protocols = new WeakMap<IncomingMessage, string | null>();
  const extraHeaders = new WeakMap<IncomingMessage, NormalizedHeaders>();
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: options.wsPerMessageDeflate,
    maxPayload: options.wsMaxSize,
    // Only called when the client offered subprotocols; the cycle already checked the app's choice is one of them.
    handleProtocols: (_offered, req) => protocols.get(req) ?? false,
    closeTimeout: positive('closeTimeoutMs', tuning.closeTimeoutMs, 10_000),
  } as ConstructorParameters<typeof WebSocketServer>[0]);
  const defaults = options.defaultHeaders;
  const defaultsLatin1 = defaults.some(([, value]) => NON_ASCII.test(value));
  wss.on('headers', (lines: string[], req: IncomingMessage) => {
    for (const [name, value] of defaults) lines.push(`${name}: ${value}`);
    const extra = extraHeaders.get(req);
    if (extra !== undefined) for (const [name, value] of extra) lines.push(`${name}: ${value}`);
  });
  const env: WsEnv = { session, wss, sendHighWaterMark, protocols, extraHeaders, defaults, defaultsLatin1 };
  const scopeOptions = { rootPath: options.rootPath, extensions: WEBSOCKET_EXTENSIONS };
  const { logger, connections } = ctx;

  return (req, socket, head) => {
    // The socket is this handler's now: without an 'error' listener of its own, a reset would crash the process.
    socket.on('error', noop);
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    try {
      if (!wantsWebSocket(req.headers.upgrade)) {
        plainHttp(req, socket);
        return;
      }
      const startedMs = options.accessLog ? performance.now() : 0;
      const rules = request.rules;
      const requestHead = readNodeRequestHead(req, rules, request.headOptions);
      const prefix = options.accessLog ? websocketAccessPrefix(requestHead.client, requestHead.target) : null;
      const refused = (status: number, extra: Array<[string, string]> = []): void => {
        writeRawText(socket, status, [...defaults, ...extra]);
        if (prefix !== null) logger.access(websocketAccessLine(prefix, { status }, startedMs));
      };
      if (rules.fault !== null) {
        logger.warning(`Invalid HTTP request received: ${rules.fault.reason}.`);
        refused(rules.fault.status);
        return;
      }
      const fault = handshakeFault(req, options.wsPerMessageDeflate, options.wsMaxSize);
      if (fault !== null) {
        logger.warning(`Invalid WebSocket handshake: ${fault.reason}.`);
        refused(fault.status, fault.headers);
        return;
      }
      if (connections.closing || (options.limitConcurrency !== null && connections.size >= options.limitConcurrency)) {
        if (!connections.closing) logger.warning('Exceeded concurrency limit.');
        refused(503);
        return;
      }
      // Over TLS the scope announces the connection's `tls` extension too.
      const extensions = request.tls !== null && requestHead.scheme === 'https' && (socket as TLSSocket).encrypted === true
        ? { ...WEBSOCKET_EXTENSIONS, tls: tlsExtension(socket as TLSSocket, request.tls.serverCertPem) }
        : WEBSOCKET_EXTENSIONS;
      const scope = buildWebSocketScope(requestHead, { ...scopeOptions, extensions, state: ctx.state });
      const conn = new ServerWebSocketSession(session, scope, prefix === null ? null : { prefix, startedMs });
      const port = new NodeWebSocket(env, conn, req, socket, head, scope.path);
      port.watch();
      conn.start(port);
    } catch (e) {
      // Only a bug of ours gets here.
      logger.error('WebSocket upgrade failed', e);
      try {
        writeRawText(socket, 500);
      } catch {
        socket.destroy();
      }
    }
  };
}

function positive(name: string, value: number | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`WebSocket tuning: ${name} must be a positive integer; got ${String(value)}`);
  return value;
}

/**
 * One WebSocket connection's transport: the upgrade socket until the app
 * answers the handshake, then ws's WebSocket. The session's two ports.
 */
class NodeWebSocket implements HandshakePort, SocketPort {
  /** The upgrade socket, until the handshake is answered (or the client left). */
  private socket: Socket | null;
  /** Bytes after the request head: node's `head`, then whatever arrives before the answer. */
  private early: Buffer[];
  private earlyBytes: number;
  /** The open WebSocket, from the 101 to its close. */
  private ws: WebSocket | null = null;
  /** Rejections of the sends waiting for their message to reach the kernel. */
  private readonly waiting = new Set<(e: unknown) => void>();
  readonly ping = (): void => this.ws?.ping();
  readonly pause = (): void => this.ws?.pause();
  readonly resume = (): void => this.ws?.resume();

  constructor(
    private readonly env: WsEnv,
    private readonly session: ServerWebSocketSession,
    private readonly req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    /** The scope's path, for the debug log. */
    private readonly path: string,
  ) {
    this.socket = socket;
    this.early = head.length > 0 ? [head] : [];
    this.earlyBytes = head.length;
  }

  /** Reads the socket until the app answers: that is how a client that leaves during the handshake is noticed (asgi.websocket.disconnect.5). */
  watch(): void {
    const socket = this.socket!;
    socket.on('data', this.onEarlyData);
    socket.on('end', this.onEarlyEnd);
    socket.on('close', this.onEarlyClose);
  }

  // ---- the handshake (HandshakePort) -------------------------------------------

  private readonly onEarlyData = (chunk: Buffer): void => {
    this.early.push(chunk);
    this.earlyBytes += chunk.length;
    // RFC 6455: the client sends nothing before the 101. One that floods is dropped.
    if (this.earlyBytes > MAX_EARLY_BYTES) this.socket?.destroy();
  };

  private readonly onEarlyEnd = (): void => {
    // The client half-closed before the answer: it cannot take a WebSocket any more.
    this.socket?.destroy();
  };

  private readonly onEarlyClose = (): void => {
    this.guard(() => {
      this.socket = null;
      this.session.clientLeft();
    });
  };

  /** Takes the socket for the handshake's answer, ending the watch; null when the client has gone. */
  private takeSocket(): Socket | null {
    const socket = this.socket;
    if (socket === null) return null;
    this.socket = null;
    socket.off('data', this.onEarlyData);
    socket.off('end', this.onEarlyEnd);
    socket.off('close', this.onEarlyClose);
    return socket;
  }

  /** websocket.accept: ws completes the handshake (101 with Sec-WebSocket-Accept, the subprotocol, the app's headers). */
  accept(subprotocol: string | null, headers: NormalizedHeaders): boolean {
    const socket = this.takeSocket();
    if (socket === null) return false;
    const env = this.env;
    const req = this.req;
    const head = this.early.length === 0 ? Buffer.alloc(0) : this.early.length === 1 ? this.early[0]! : Buffer.concat(this.early);
    this.early = [];
    env.protocols.set(req, subprotocol);
    if (headers.length > 0) env.extraHeaders.set(req, headers);
    // ws writes its 101 as one string: with latin-1 as the socket's default encoding, header bytes >= 0x80 go out as they are.
    const latin1 = env.defaultsLatin1 || headers.some(([, value]) => NON_ASCII.test(value));
    if (latin1) socket.setDefaultEncoding('latin1');
    let opened = false;
    try {
      env.wss.handleUpgrade(req, socket, head, (ws) => {
        opened = true;
        this.opened(ws);
      });
    } finally {
      env.protocols.delete(req);
      env.extraHeaders.delete(req);
      if (latin1 && !socket.destroyed) socket.setDefaultEncoding('utf8');
    }
    // Not opened: ws dropped the socket (the client had already gone).
    return opened;
  }

  /** Answers the handshake with a plain HTTP response (403, 500, or the app's denial response) and closes. */
  respond(status: number, headers: NormalizedHeaders, body: Uint8Array): void {
    const socket = this.takeSocket();
    if (socket !== null) writeRawResponse(socket, status, [...this.env.defaults, ...headers], body);
  }

  abort(): void {
    this.takeSocket()?.destroy();
  }

  // ---- the open socket (SocketPort) ----------------------------------------------

  /**
   * One message to ws. It resolves at once when ws holds at most the
   * high-water mark and no longer needs the app's buffer (text is encoded by
   * ws, a small binary message is copied, a large one is waited on until it
   * reached the kernel).
   */
  send(data: string | Uint8Array, binary: boolean): Promise<void> {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return Promise.reject(new ClientDisconnected('send() after the WebSocket client disconnected'));
    const hwm = this.env.sendHighWaterMark;
    const copied = !binary || (data as Uint8Array).byteLength < hwm;
    const payload = binary && copied ? Buffer.from(data as Uint8Array) : data;
    let outcome: Error | null | undefined;
    let settle: ((err: Error | null) => void) | undefined;
    ws.send(payload, { binary }, (err) => {
      outcome = err ?? null;
      settle?.(outcome);
    });
    const buffered = ws.bufferedAmount;
    if (buffered === 0 || (copied && buffered <= hwm)) return SENT;
    if (outcome !== undefined) return outcome === null ? SENT : Promise.reject(new ClientDisconnected(`send() failed: ${outcome.message}`));
    return new Promise<void>((resolve, reject) => {
      const fail = (e: unknown): void => {
        this.waiting.delete(fail);
        reject(e);
      };
      this.waiting.add(fail);
      settle = (err) => {
        this.waiting.delete(fail);
        if (err === null) resolve();
        else reject(new ClientDisconnected(`the WebSocket client disconnected during send() (${err.message})`));
      };
    });
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (ws !== null && ws.readyState === WebSocket.OPEN) ws.close(code, reason);
  }

  terminate(): void {
    this.ws?.terminate();
  }

  // ---- ws events ---------------------------------------------------------------

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.env.session.logger.error('Internal error in a WebSocket event handler', e);
    }
  }

  /** The 101 went out: the socket is live. */
  private opened(ws: WebSocket): void {
    this.ws = ws;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.guard(() => this.received(data, isBinary)));
    ws.on('close', (code: number, reason: Buffer) => this.guard(() => this.closed(code, reason)));
    ws.on('pong', () => this.session.ponged());
    // Protocol errors of the client (ws closes with 1002, 1007, 1009 itself) and socket errors: the close follows.
    ws.on('error', (err: Error) => this.env.session.logger.debug(`WebSocket ${this.path}: ${err.message}`));
    this.session.opened(this);
  }

  /** ws hands over a buffer of its own for each message (it becomes the app's), of at most wsMaxSize (ws's maxPayload). */
  private received(data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    // ws has checked that text is UTF-8 (1007 otherwise).
    this.session.received(isBinary ? bytes : bytes.toString('utf8'));
  }

  private closed(code: number, reason: Buffer): void {
    this.ws = null;
    for (const fail of [...this.waiting]) fail(new ClientDisconnected('the WebSocket client disconnected during send()'));
    this.session.closed(code, reason.toString('utf8'));
  }
}
