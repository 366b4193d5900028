/**
 * WebSocket connections on node:http with `ws`: one ASGI-TS `websocket`
 * scope per upgrade request. The protocol rules are @tsgi/core's
 * WebSocketCycle, the endings websocketEnding; `ws` speaks RFC 6455 (framing,
 * masking, close codes, UTF-8, fragments, permessage-deflate) and this module
 * carries the cycle's actions out on it:
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
import {
  ClientDisconnected,
  WebSocketCycle,
  buildWebSocketScope,
  type Extensions,
  type NormalizedHeaders,
  type Send,
  type WebSocketReceiveEventUnion,
  type WebSocketScope,
  type WebSocketSendEventUnion,
} from '@tsgi/core';
import {
  Keepalive,
  WebSocketInbox,
  quiet,
  readNodeRequestHead,
  runApp,
  tlsExtension,
  wantsWebSocket,
  websocketAccessLine,
  websocketAccessPrefix,
  websocketEnding,
  type AppExit,
  type TrackedConnection,
} from '@tsgi/core/server';
import { handshakeFault, writeRawResponse, writeRawText } from './handshake.js';
import type { RequestEnv } from './http-exchange.js';
import type { ResolvedOptions } from './options.js';

/** Knobs below the uvicorn-level options; the defaults suit most servers. */
export interface WebSocketTuning {
  /** Unsent bytes ws may hold before send() waits for the message to reach the kernel; default 64 KiB. */
  sendHighWaterMark?: number;
  /** Unreceived messages past which the socket is paused; default 64. */
  receiveHighWaterMessages?: number;
  /** Unreceived message bytes past which the socket is paused; default 1 MiB (one larger message still gets through). */
  receiveHighWaterBytes?: number;
  /** Milliseconds to wait for the peer's Close frame after sending ours; default 10 s (websockets' close_timeout). */
  closeTimeoutMs?: number;
}

/** The extensions a websocket scope announces. */
const WEBSOCKET_EXTENSIONS: Extensions = Object.freeze({ 'websocket.http.response': Object.freeze({}) as Record<string, never> });

const CLOSE_ABNORMAL = 1006;
const CLOSE_SERVICE_RESTART = 1012;
/** Bytes a client may send before its handshake is answered (it should send none). */
const MAX_EARLY_BYTES = 64 * 1024;
const EMPTY = new Uint8Array(0);
const SENT: Promise<void> = Promise.resolve();
const NON_ASCII = /[\u0080-\u00ff]/;
const noop = (): void => {};

interface Limits {
  sendHighWaterMark: number;
  receiveMessages: number;
  receiveBytes: number;
  pingIntervalMs: number | null;
  pingTimeoutMs: number | null;
}

/** What the connections of one server share: the ws server and the handshake parameters ws asks for by request. */
interface WsEnv {
  readonly request: RequestEnv;
  readonly wss: WebSocketServer;
  readonly limits: Limits;
  /** The subprotocol the app accepted, for ws's handleProtocols. */
  readonly protocols: WeakMap<IncomingMessage, string | null>;
  /** The app's extra 101 headers, for ws's 'headers' event. */
  readonly extraHeaders: WeakMap<IncomingMessage, NormalizedHeaders>;
  /** Every socket handed over by an upgrade and still open (node:http no longer tracks them). */
  readonly upgraded: Set<Socket>;
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
  const limits: Limits = {
    sendHighWaterMark: positive('sendHighWaterMark', tuning.sendHighWaterMark, 64 * 1024),
    receiveMessages: positive('receiveHighWaterMessages', tuning.receiveHighWaterMessages, 64),
    receiveBytes: positive('receiveHighWaterBytes', tuning.receiveHighWaterBytes, 1024 * 1024),
    pingIntervalMs: options.wsPingInterval === null ? null : options.wsPingInterval * 1000,
    pingTimeoutMs: options.wsPingTimeout === null ? null : options.wsPingTimeout * 1000,
  };
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
  const env: WsEnv = { request, wss, limits, protocols, extraHeaders, upgraded, defaults, defaultsLatin1 };
  const scopeOptions = { rootPath: options.rootPath, extensions: WEBSOCKET_EXTENSIONS };
  const { logger, connections } = ctx;

  return (req, socket, head) => {
    // node:http removed its own 'error' listener when it handed the socket over: without one, a reset would crash the process.
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
      new WsConnection(env, scope, req, socket, head, prefix, startedMs).start();
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

/** One WebSocket connection from upgrade request to the app's return: the glue between the cycle, the inbox and ws. */
export class WsConnection implements TrackedConnection {
  trackingId = 0;
  private readonly cycle: WebSocketCycle;
  private readonly inbox: WebSocketInbox;
  private keepalive: Keepalive | null = null;
  /** The upgrade socket, until the handshake is answered (or the client left). */
  private socket: Socket | null;
  /** Bytes after the request head: node's `head`, then whatever arrives before the answer. */
  private early: Buffer[];
  private earlyBytes: number;
  /** The open WebSocket, from the 101 to its close. */
  private ws: WebSocket | null = null;
  /** Rejections of the sends waiting for their message to reach the kernel. */
  private readonly waiting = new Set<(e: unknown) => void>();
  private appDone = false;
  private finished = false;
  private shuttingDown = false;
  private pingTimedOut = false;
  /** The code of the app's websocket.close, reported if the peer never answers it (asgi.websocket.close.4). */
  private appCloseCode: number | null = null;

  constructor(
    private readonly env: WsEnv,
    private readonly scope: WebSocketScope,
    private readonly req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    /** `client - "WebSocket /path"` for the access log, or null when it is off. */
    private readonly logPrefix: string | null = null,
    private readonly startedMs = 0,
  ) {
    this.socket = socket;
    this.early = head.length > 0 ? [head] : [];
    this.earlyBytes = head.length;
    this.cycle = new WebSocketCycle({ subprotocols: scope.subprotocols, extensions: scope.extensions });
    const limits = env.limits;
    this.inbox = new WebSocketInbox(
      { maxMessages: limits.receiveMessages, maxBytes: limits.receiveBytes },
      { pause: () => this.pauseReading(), resume: () => this.resumeReading() },
    );
  }

  private get logger() {
    return this.env.request.ctx.logger;
  }

  /** One access-log line of this WebSocket (accepted, refused with a status, closed with a code). */
  private logAccess(outcome: 'accepted' | { status: number } | { closed: number }): void {
    if (this.logPrefix !== null) this.logger.access(websocketAccessLine(this.logPrefix, outcome, this.startedMs));
  }

  /** Starts the app with `websocket.connect` waiting in its inbox, and watches the socket until the app answers. */
  start(): void {
    const socket = this.socket!;
    // Reading now is how a client that leaves during the handshake is noticed (asgi.websocket.disconnect.5).
    socket.on('data', this.onEarlyData);
    socket.on('end', this.onEarlyEnd);
    socket.on('close', this.onEarlyClose);
    this.env.request.ctx.connections.add(this);
    this.inbox.push({ type: 'websocket.connect' });
    const receive = (): Promise<WebSocketReceiveEventUnion> => this.inbox.receive();
    const send = ((event: WebSocketSendEventUnion): Promise<void> => quiet(this.onSend(event))) as Send;
    runApp(this.env.request.ctx.app, this.scope, receive, send, this.appExited, this.logger);
  }

  // ---- the handshake ---------------------------------------------------------

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
      this.cycle.disconnect(CLOSE_ABNORMAL, null);
      this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
      this.finishIfDone();
    });
  };

  /** Takes the socket for the handshake's answer, ending the watch. */
  private takeSocket(): Socket {
    const socket = this.socket;
    if (socket === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
    this.socket = null;
    socket.off('data', this.onEarlyData);
    socket.off('end', this.onEarlyEnd);
    socket.off('close', this.onEarlyClose);
    return socket;
  }

  /** websocket.accept: ws completes the handshake (101 with Sec-WebSocket-Accept, the subprotocol, the app's headers). */
  private accept(subprotocol: string | null, headers: NormalizedHeaders): void {
    const socket = this.takeSocket();
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
        this.logAccess('accepted');
        this.opened(ws);
      });
    } finally {
      env.protocols.delete(req);
      env.extraHeaders.delete(req);
      if (latin1 && !socket.destroyed) socket.setDefaultEncoding('utf8');
    }
    if (!opened) {
      // ws dropped the socket (the client had already gone): the handshake failed.
      this.cycle.disconnect(CLOSE_ABNORMAL, null);
      this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
      this.finishIfDone();
      throw new ClientDisconnected('the WebSocket client went away during the handshake');
    }
  }

  /** Answers the handshake with a plain HTTP response (403, 500, or the app's denial response) and closes. */
  private answer(status: number, headers: NormalizedHeaders, body: Uint8Array): void {
    const socket = this.takeSocket();
    writeRawResponse(socket, status, [...this.env.defaults, ...headers], body);
    this.logAccess({ status });
    // No WebSocket was opened: the app's next receive() says so with 1006, as uvicorn.
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    this.finishIfDone();
  }

  // ---- the app's send() ------------------------------------------------------

  private onSend(event: WebSocketSendEventUnion): Promise<void> {
    try {
      const action = this.cycle.send(event);
      switch (action.kind) {
        case 'text':
          return this.sendMessage(action.text, false);
        case 'binary':
          return this.sendMessage(action.bytes, true);
        case 'accept':
          this.accept(action.subprotocol, action.headers);
          return SENT;
        case 'deny':
          this.answer(403, [], EMPTY);
          return SENT;
        case 'response_pending':
          if (this.socket === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
          return SENT;
        case 'respond':
          if (this.socket === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
          this.answer(action.status, action.headers, action.body);
          return SENT;
        case 'close':
          this.appCloseCode = action.code;
          this.ws?.close(action.code, action.reason);
          return SENT;
      }
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * One message to ws. It resolves at once when ws holds at most the
   * high-water mark and no longer needs the app's buffer (text is encoded by
   * ws, a small binary message is copied, a large one is waited on until it
   * reached the kernel).
   */
  private sendMessage(data: string | Uint8Array, binary: boolean): Promise<void> {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return Promise.reject(new ClientDisconnected('send() after the WebSocket client disconnected'));
    const hwm = this.env.limits.sendHighWaterMark;
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

  // ---- ws events ---------------------------------------------------------------

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.logger.error('Internal error in a WebSocket event handler', e);
    }
  }

  /** The 101 went out: the socket is live. */
  private opened(ws: WebSocket): void {
    this.ws = ws;
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => this.guard(() => this.received(data, isBinary)));
    ws.on('close', (code: number, reason: Buffer) => this.guard(() => this.closed(code, reason)));
    ws.on('pong', () => this.keepalive?.pong());
    // Protocol errors of the client (ws closes with 1002, 1007, 1009 itself) and socket errors: the close follows.
    ws.on('error', (err: Error) => this.logger.debug(`WebSocket ${this.scope.path}: ${err.message}`));
    this.startKeepalive();
    if (this.shuttingDown) ws.close(CLOSE_SERVICE_RESTART, 'server shutting down');
  }

  private received(data: WebSocket.RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      // ws hands over a buffer of its own for each message: it becomes the app's.
      this.inbox.push({ type: 'websocket.receive', bytes, text: null }, bytes.byteLength);
    } else {
      const text = bytes.toString('utf8'); // ws has checked it is UTF-8 (1007 otherwise)
      this.inbox.push({ type: 'websocket.receive', bytes: null, text }, text.length * 2);
    }
  }

  /** The connection closed (either side, or lost): 1005 for a Close frame without code, 1006 when none came. */
  private closed(code: number, reasonBytes: Buffer): void {
    const reason = this.pingTimedOut ? 'keepalive ping timeout' : reasonBytes.toString('utf8');
    const reported = code === CLOSE_ABNORMAL && this.appCloseCode !== null && !this.pingTimedOut ? this.appCloseCode : code;
    this.ws = null;
    this.logAccess({ closed: reported });
    this.stopKeepalive();
    this.cycle.disconnect(reported, reason);
    this.inbox.close({ type: 'websocket.disconnect', code: reported, reason });
    for (const fail of [...this.waiting]) fail(new ClientDisconnected('the WebSocket client disconnected during send()'));
    this.finishIfDone();
  }

  private startKeepalive(): void {
    const { pingIntervalMs, pingTimeoutMs } = this.env.limits;
    if (pingIntervalMs === null) return;
    const keepalive = new Keepalive(pingIntervalMs, pingTimeoutMs, {
      ping: () => {
        try {
          this.ws?.ping();
        } catch {
          // closing already: the close event ends the schedule
        }
      },
      // A peer that stops answering is a lost connection (asgi.websocket.ping.1): the app sees 1006.
      timedOut: () => {
        this.logger.debug(`WebSocket ${this.scope.path}: no pong within the ping timeout; dropping the connection`);
        this.pingTimedOut = true;
        this.ws?.terminate();
      },
    });
    this.keepalive = keepalive;
    keepalive.start();
  }

  private stopKeepalive(): void {
    this.keepalive?.stop();
    this.keepalive = null;
  }

  /** The app stopped receiving: stop reading the socket (and pinging: a pong would not be read). */
  private pauseReading(): void {
    const ws = this.ws;
    if (ws === null) return;
    ws.pause();
    this.stopKeepalive();
  }

  private resumeReading(): void {
    const ws = this.ws;
    if (ws === null) return;
    ws.resume();
    if (this.keepalive === null) this.startKeepalive();
  }

  // ---- the app's end -----------------------------------------------------------

  private readonly appExited = (exit: AppExit): void => {
    this.appDone = true;
    const ending = websocketEnding(this.cycle, exit, this.scope.path);
    if (ending.log !== null) this.logger.error(ending.log.message, ending.log.error);
    switch (ending.action) {
      case 'deny_403':
        if (this.socket !== null) this.answer(403, [], EMPTY);
        break;
      case 'respond_500':
        if (this.socket !== null) this.answer(500, [['content-type', 'text/plain; charset=utf-8']], Buffer.from('Internal Server Error'));
        break;
      case 'close_1000':
        this.closeOpen(1000, '');
        break;
      case 'close_1011':
        this.closeOpen(1011, 'Internal Server Error');
        break;
      case 'abort':
        this.abort();
        break;
      case 'none':
        break;
    }
    this.finishIfDone();
  };

  private closeOpen(code: number, reason: string): void {
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) return;
    this.appCloseCode = code;
    ws.close(code, reason);
  }

  /** Leaves the connection tracker once both the app and the transport are done. */
  private finishIfDone(): void {
    if (this.finished || !this.appDone || this.socket !== null || this.ws !== null) return;
    this.finished = true;
    this.env.request.ctx.connections.delete(this);
  }

  // ---- graceful shutdown (TrackedConnection) -------------------------------------

  /** Server shutdown began: an open socket is closed with 1012 (service restart), as uvicorn does. */
  shutdown(): void {
    this.shuttingDown = true;
    const ws = this.ws;
    if (ws === null) return;
    // A paused socket could not read the client's Close frame.
    if (this.inbox.paused) ws.resume();
    this.closeOpen(CLOSE_SERVICE_RESTART, 'server shutting down');
  }

  /** The graceful timeout passed (or the app left a denial response unfinished): drop the connection now. */
  abort(): void {
    const socket = this.socket;
    if (socket !== null) {
      this.socket = null;
      socket.destroy();
      this.cycle.disconnect(CLOSE_ABNORMAL, null);
      this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    }
    this.ws?.terminate();
  }
}
