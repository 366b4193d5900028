/**
 * One ASGI-TS WebSocket connection on a runtime whose fetch server upgrades
 * natively (Bun.serve, Deno.serve), independent of the runtime: the protocol
 * rules are @tsgi/core's WebSocketCycle, the endings websocketEnding, the
 * receive queue WebSocketInbox. A runtime module supplies only a Handshake
 * (how it completes an upgrade) and, once the socket is open, a SocketPort
 * (how it sends and closes), and reports the socket's events here.
 *
 * - handshake: the app runs with `websocket.connect` while the upgrade
 *   request is still pending; `websocket.accept` completes it with the
 *   subprotocol and extra headers, `websocket.close` answers 403, a denial
 *   response (`websocket.http.response.*`) is answered as a plain Response,
 *   a raise 500; a client that leaves meanwhile (the Request's signal)
 *   reaches the app as websocket.disconnect 1006;
 * - messages both ways; a message over `maxMessageBytes` closes with 1009;
 *   `websocket.disconnect` carries the close code and reason;
 * - send backpressure: send() resolves while the runtime holds at most
 *   `sendHighWaterMark` unsent bytes, else once it drained below it;
 * - receive: neither runtime can stop reading a WebSocket, so the inbox is
 *   bounded and a client that outruns the app is closed with 1008;
 * - shutdown closes open sockets with 1012; app errors: 500 before accept, 1011 after.
 */
import {
  ClientDisconnected,
  WebSocketCycle,
  type NormalizedHeaders,
  type Send,
  type WebSocketReceiveEventUnion,
  type WebSocketScope,
  type WebSocketSendEventUnion,
  type AsgiApplication,
} from '@tsgi/core';
import {
  WebSocketInbox,
  handshakeRefusal,
  quiet,
  runApp,
  statusReason,
  wantsWebSocket as upgradeWanted,
  websocketEnding,
  type AppExit,
  type ConnectionTracker,
  type Logger,
  type TrackedConnection,
} from '@tsgi/core/server';
import { nativeResponse } from '../fetch/light-response.js';

/** What a runtime's open server-side WebSocket offers the session. */
export interface SocketPort {
  /** Queues one message (text or binary); the runtime copies what it keeps. */
  send(data: string | Uint8Array): void;
  /** Starts the close handshake with this code and reason. */
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a close handshake. */
  terminate(): void;
  /** Bytes queued by the runtime and not yet written to the socket. */
  bufferedAmount(): number;
  /** True when the runtime reports `drained()`; otherwise the session polls bufferedAmount(). */
  readonly reportsDrain: boolean;
}

/** How a runtime completes an upgrade the app accepted. */
export interface Handshake {
  /**
   * Completes the handshake with this subprotocol and these extra response
   * headers; returns what the fetch handler answers (the runtime's 101
   * Response, or undefined where the runtime answers itself), or null when
   * the runtime refused the upgrade.
   */
  accept(subprotocol: string | null, headers: NormalizedHeaders): Response | undefined | null;
}

/** Limits of one connection. */
export interface SessionLimits {
  /** Largest message the app is handed; a larger one closes with 1009 (uvicorn's --ws-max-size). */
  maxMessageBytes: number;
  /** Unreceived messages past which the client is closed with 1008. */
  maxQueuedMessages: number;
  /** Unreceived message bytes past which the client is closed with 1008. */
  maxQueuedBytes: number;
  /** Bytes the runtime may hold unsent before send() waits. */
  sendHighWaterMark: number;
}

/** What the sessions of one host share. */
export interface SessionEnv {
  readonly app: AsgiApplication;
  readonly logger: Logger;
  readonly limits: SessionLimits;
  readonly connections: ConnectionTracker;
}

const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;
const CLOSE_ABNORMAL = 1006;
const CLOSE_SERVICE_RESTART = 1012;
/** How often a runtime that reports no drain is asked how much it still holds. */
const DRAIN_POLL_MS = 5;
const SENT: Promise<void> = Promise.resolve();
const encoder = new TextEncoder();

/** True when the request asks for a WebSocket (an Upgrade other than websocket is plain HTTP). */
export function wantsWebSocket(request: Request): boolean {
  return upgradeWanted(request.headers.get('upgrade'));
}

/** The answer to a handshake that breaks RFC 6455 (checked before the app runs, asgi.websocket.handshake.1), or null when it is sound. */
export function refuseHandshake(request: Request, logger: Logger): Response | null {
  const refusal = handshakeRefusal(request.method, request.headers.get('sec-websocket-version'), request.headers.get('sec-websocket-key'));
  if (refusal === null) return null;
  logger.warning(`Invalid WebSocket handshake: ${refusal.reason}.`);
  return plain(refusal.status, refusal.headers);
}

function plain(status: number, headers: Array<[string, string]> = []): Response {
  return new (nativeResponse())(statusReason(status), { status, headers: [['content-type', 'text/plain; charset=utf-8'], ...headers] });
}

/** One WebSocket from upgrade request to the app's return: the glue between the cycle, the inbox and a runtime's socket. */
export class WebSocketSession implements TrackedConnection {
  trackingId = 0;
  private readonly cycle: WebSocketCycle;
  private readonly inbox: WebSocketInbox;
  /** Settles the fetch handler's answer to the upgrade request (pending until the app answers the handshake). */
  private answer: ((response: Response | undefined) => void) | null = null;
  private failAnswer: ((error: unknown) => void) | null = null;
  /** The open socket, from the runtime's open event to its close event. */
  private port: SocketPort | null = null;
  /** Resolves when the socket opens or the connection ends: sends after accept wait for it. */
  private readonly opening: Promise<void>;
  private markOpening!: () => void;
  private handshakeDone = false;
  private socketClosed = false;
  private appDone = false;
  private shuttingDown = false;
  /** The code of the app's (or our) close, reported if the runtime says 1006 after it. */
  private closeSent: number | null = null;
  private drainWaiters: Array<() => void> = [];
  private drainTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly onAbort = (): void => this.clientLeftDuringHandshake();
  private handshake: Handshake | null = null;

  constructor(
    private readonly env: SessionEnv,
    private readonly scope: WebSocketScope,
    private readonly request: Request,
  ) {
    this.cycle = new WebSocketCycle({ subprotocols: scope.subprotocols, extensions: scope.extensions });
    // No flow: neither runtime can pause reading a WebSocket, so a full inbox refuses and the client is closed with 1008.
    this.inbox = new WebSocketInbox({ maxMessages: env.limits.maxQueuedMessages, maxBytes: env.limits.maxQueuedBytes });
    this.opening = new Promise<void>((resolve) => (this.markOpening = resolve));
  }

  /** Runs the app with `websocket.connect` queued; resolves with what the fetch handler answers the upgrade request. */
  start(handshake: Handshake): Promise<Response | undefined> {
    this.handshake = handshake;
    const answered = new Promise<Response | undefined>((resolve, reject) => {
      this.answer = resolve;
      this.failAnswer = reject;
    });
    this.env.connections.add(this);
    const signal = this.request.signal;
    if (signal.aborted) this.clientLeftDuringHandshake();
    else signal.addEventListener('abort', this.onAbort, { once: true });
    this.inbox.push({ type: 'websocket.connect' });
    const receive = (): Promise<WebSocketReceiveEventUnion> => this.inbox.receive();
    const send = ((event: WebSocketSendEventUnion): Promise<void> => quiet(this.onSend(event))) as Send;
    runApp(this.env.app, this.scope, receive, send, this.appExited, this.env.logger);
    return answered;
  }

  // ---- the runtime's socket events -------------------------------------------

  /** The runtime opened the socket after the 101. */
  opened(port: SocketPort): void {
    this.guard(() => {
      this.port = port;
      this.markOpening();
      if (this.shuttingDown) this.closeOpen(CLOSE_SERVICE_RESTART, 'server shutting down');
    });
  }

  /** One message from the client: a string for text, bytes for binary. */
  message(data: string | Uint8Array): void {
    this.guard(() => {
      if (this.port === null || this.closeSent !== null) return;
      const text = typeof data === 'string';
      // A string's UTF-8 length is at most 3 bytes per UTF-16 unit: only a long one is measured.
      const bytes = text ? (data.length * 3 <= this.env.limits.maxMessageBytes ? data.length : encoder.encode(data).byteLength) : data.byteLength;
      if (bytes > this.env.limits.maxMessageBytes) {
        this.closeOpen(CLOSE_TOO_BIG, 'message too big');
        return;
      }
      const event: WebSocketReceiveEventUnion = text ? { type: 'websocket.receive', bytes: null, text: data } : { type: 'websocket.receive', bytes: data, text: null };
      if (!this.inbox.push(event, text ? data.length * 2 : bytes)) {
        this.env.logger.warning(`WebSocket ${this.scope.path}: the app left ${this.inbox.length} messages unreceived; closing with ${CLOSE_POLICY}`);
        this.closeOpen(CLOSE_POLICY, 'receive queue full');
      }
    });
  }

  /** The socket closed (either side, or lost); `code` is 1005 for a Close frame without one, 1006 when none came. */
  closed(code: number, reason: string): void {
    this.guard(() => {
      const reported = code === CLOSE_ABNORMAL && this.closeSent !== null ? this.closeSent : code;
      this.port = null;
      this.socketClosed = true;
      this.markOpening();
      this.cycle.disconnect(reported, reason);
      this.inbox.close({ type: 'websocket.disconnect', code: reported, reason });
      this.wakeDrainWaiters();
      this.finishIfDone();
    });
  }

  /** The runtime wrote out what it held (Bun's drain). */
  drained(): void {
    this.wakeDrainWaiters();
  }

  // ---- the app's send() --------------------------------------------------------

  private onSend(event: WebSocketSendEventUnion): Promise<void> {
    try {
      const action = this.cycle.send(event);
      switch (action.kind) {
        case 'text':
          return this.sendMessage(action.text);
        case 'binary':
          return this.sendMessage(action.bytes);
        case 'accept':
          this.accept(action.subprotocol, action.headers);
          return SENT;
        case 'deny':
          this.respond(plain(403));
          return SENT;
        case 'response_pending':
          this.requireHandshake();
          return SENT;
        case 'respond':
          this.requireHandshake();
          this.respond(new (nativeResponse())(action.body, { status: action.status, headers: action.headers }));
          return SENT;
        case 'close':
          return this.opening.then(() => this.closeOpen(action.code, action.reason));
      }
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private requireHandshake(): void {
    if (this.answer === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
  }

  private accept(subprotocol: string | null, headers: NormalizedHeaders): void {
    this.requireHandshake();
    // Deno.upgradeWebSocket aborts the Request's signal as it takes the connection over: that is no client leaving.
    this.request.signal.removeEventListener('abort', this.onAbort);
    const response = this.handshake!.accept(subprotocol, headers);
    if (response === null) {
      // The runtime refused an upgrade the checks passed: the client gets a 400, the app a disconnect.
      this.respond(plain(400));
      throw new ClientDisconnected('the runtime refused the WebSocket upgrade');
    }
    this.settleHandshake()?.(response);
  }

  /** Answers the upgrade request with a plain response: no WebSocket was opened, so the app's next receive() says 1006, as uvicorn. */
  private respond(response: Response): void {
    this.settleHandshake()?.(response);
    this.socketClosed = true;
    this.markOpening();
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    this.finishIfDone();
  }

  /** Ends the handshake phase; returns the answer's resolver, or null when it was already answered. */
  private settleHandshake(): ((response: Response | undefined) => void) | null {
    const answer = this.answer;
    this.answer = null;
    this.failAnswer = null;
    this.handshakeDone = true;
    this.request.signal.removeEventListener('abort', this.onAbort);
    return answer;
  }

  /** The Request's signal fired before the answer: the app's receive() says 1006 and accept raises (asgi.websocket.disconnect.5). */
  private clientLeftDuringHandshake(): void {
    if (this.handshakeDone) return;
    // The runtime still awaits an answer, which no one will read.
    this.settleHandshake()?.(plain(400));
    this.clientGone();
  }

  /** One message to the runtime; resolves once it holds at most the high-water mark. */
  private async sendMessage(data: string | Uint8Array): Promise<void> {
    await this.opening;
    const port = this.port;
    if (port === null || this.closeSent !== null) throw new ClientDisconnected('send() after the WebSocket client disconnected');
    port.send(data);
    const hwm = this.env.limits.sendHighWaterMark;
    while (this.port !== null && port.bufferedAmount() > hwm) await this.drain(port);
    if (this.port === null && this.socketClosed) throw new ClientDisconnected('the WebSocket client disconnected during send()');
  }

  private drain(port: SocketPort): Promise<void> {
    return new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      if (!port.reportsDrain && this.drainTimer === null) this.drainTimer = setTimeout(() => this.wakeDrainWaiters(), DRAIN_POLL_MS);
    });
  }

  private wakeDrainWaiters(): void {
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  private closeOpen(code: number, reason: string): void {
    const port = this.port;
    if (port === null || this.closeSent !== null) return;
    this.closeSent = code;
    port.close(code, reason);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.env.logger.error('Internal error in a WebSocket event handler', e);
    }
  }

  // ---- the app's end -----------------------------------------------------------

  private readonly appExited = (exit: AppExit): void => {
    this.appDone = true;
    const ending = websocketEnding(this.cycle, exit, this.scope.path);
    if (ending.log !== null) this.env.logger.error(ending.log.message, ending.log.error);
    switch (ending.action) {
      case 'deny_403':
        if (this.answer !== null) this.respond(plain(403));
        break;
      case 'respond_500':
        if (this.answer !== null) this.respond(plain(500));
        break;
      case 'close_1000':
        void this.opening.then(() => this.closeOpen(1000, ''));
        break;
      case 'close_1011':
        void this.opening.then(() => this.closeOpen(1011, 'Internal Server Error'));
        break;
      case 'abort':
        this.abort();
        break;
      case 'none':
        break;
    }
    this.finishIfDone();
  };

  /** Leaves the connection tracker once both the app and the socket are done. */
  private finishIfDone(): void {
    if (!this.appDone || !this.socketClosed || this.trackingId === 0) return;
    this.env.connections.delete(this);
  }

  // ---- graceful shutdown (TrackedConnection) -------------------------------------

  /** Server shutdown began: an open socket is closed with 1012 (service restart), as uvicorn does. */
  shutdown(): void {
    this.shuttingDown = true;
    this.closeOpen(CLOSE_SERVICE_RESTART, 'server shutting down');
  }

  /** Drop the connection now (an unfinished denial response, or the host giving up on it). */
  abort(): void {
    const fail = this.failAnswer;
    if (fail !== null) {
      this.settleHandshake();
      // The runtime answers a failed handler itself (500) or drops the connection.
      fail(new Error('the ASGI app ended its WebSocket denial response unfinished'));
      this.clientGone();
    }
    this.port?.terminate();
  }

  private clientGone(): void {
    this.socketClosed = true;
    this.markOpening();
    this.cycle.disconnect(CLOSE_ABNORMAL, null);
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    this.finishIfDone();
  }
}
