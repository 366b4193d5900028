/**
 * One ASGI-TS WebSocket connection from upgrade request to the app's return,
 * independent of the transport. What the app may send when is
 * WebSocketCycle, how its run ends websocketEnding, what it has not yet
 * received WebSocketInbox, the pings Keepalive; this module joins them and
 * drives a transport through two small ports:
 *
 * - a HandshakePort while the upgrade request waits: the app runs with
 *   `websocket.connect` queued, and `websocket.accept` completes the
 *   handshake, `websocket.close` answers 403, a denial response
 *   (`websocket.http.response.*`) is answered as it is, a raise 500;
 *   a client that leaves meanwhile reaches the app as 1006 (asgi.websocket.disconnect.5);
 * - a SocketPort once the socket is open: messages both ways (a larger one
 *   than the limit closes with 1009), the close handshake, pings that drop
 *   a silent peer (1006), and the inbox's bounds, which either pause
 *   reading (a transport that can) or close with 1008;
 * - the end: 1000 when the app returns while connected, 1011 when it
 *   raises; 1012 to every open socket at shutdown, as uvicorn.
 *
 * A transport makes the ports, reports its socket's events through
 * clientLeft(), opened(), withinLimit() and received(), ponged() and
 * closed(), and keeps its
 * own send backpressure inside SocketPort.send().
 */
import type { NormalizedHeaders } from '../asgi/events.js';
import type { AsgiApplication, Send, WebSocketReceiveEventUnion, WebSocketScope, WebSocketSendEventUnion } from '../asgi/types.js';
import { WebSocketCycle } from '../asgi/websocket-cycle.js';
import { ClientDisconnected } from '../errors.js';
import { websocketAccessLine } from './access-log.js';
import { quiet, runApp, websocketEnding, type AppExit } from './app-run.js';
import type { ConnectionTracker, TrackedConnection } from './connections.js';
import type { Logger } from './logger.js';
import { WebSocketInbox, type InboxLimits } from './websocket-inbox.js';
import { Keepalive } from './websocket-keepalive.js';

/** What a transport offers while the upgrade request waits for the app's answer. */
export interface HandshakePort {
  /**
   * Completes the handshake (101) with this subprotocol and these extra
   * headers; the transport reports the open socket through opened(), at once
   * or later. False when the client is gone or the transport refused it (it
   * has then answered or dropped the request itself).
   */
  accept(subprotocol: string | null, headers: NormalizedHeaders): boolean;
  /** Answers with a plain HTTP response instead, then closes. */
  respond(status: number, headers: NormalizedHeaders, body: Uint8Array): void;
  /** Drops the request now (the graceful timeout, an unfinished denial response). */
  abort(): void;
}

/** What a transport's open WebSocket offers. */
export interface SocketPort {
  /**
   * Hands one message over; resolves once the app may send the next (the
   * transport's backpressure) and no longer needs the app's buffer, rejects
   * with ClientDisconnected when the socket is gone.
   */
  send(data: string | Uint8Array, binary: boolean): Promise<void>;
  /** Starts the close handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection without a close handshake. */
  terminate(): void;
  /** Sends a ping frame; null where the runtime pings by itself (the session then sends none). */
  readonly ping: (() => void) | null;
  /** Stops reading the socket; null where the transport cannot (a full inbox then closes with 1008). */
  readonly pause: (() => void) | null;
  readonly resume: (() => void) | null;
}

/** The limits of every session of one server. */
export interface SessionLimits {
  /** The largest message handed to the app; a larger one closes with 1009 (uvicorn's --ws-max-size). */
  maxMessageBytes: number;
  /** Unreceived messages and bytes past which reading pauses, or the client is closed with 1008. */
  inbox: InboxLimits;
  /** The transport can stop reading (its SocketPort has pause and resume): the inbox pauses it instead of refusing. */
  pausable: boolean;
  /** Milliseconds between pings, and how long to wait for the pong; null: none (or no timeout). */
  pingIntervalMs: number | null;
  pingTimeoutMs: number | null;
}

/** What the sessions of one server share. */
export interface SessionEnv {
  readonly app: AsgiApplication;
  readonly logger: Logger;
  readonly connections: ConnectionTracker;
  readonly limits: SessionLimits;
}

/** The access-log line's start (`client - "WebSocket /path"`) and when the upgrade request came. */
export interface SessionAccess {
  prefix: string;
  startedMs: number;
}

const CLOSE_NORMAL = 1000;
const CLOSE_ABNORMAL = 1006;
const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;
const CLOSE_INTERNAL_ERROR = 1011;
const CLOSE_SERVICE_RESTART = 1012;
const EMPTY = new Uint8Array(0);
const SENT: Promise<void> = Promise.resolve();
const TEXT_HEADERS: NormalizedHeaders = [['content-type', 'text/plain; charset=utf-8']];
const INTERNAL_ERROR_BODY = new TextEncoder().encode('Internal Server Error');

/** Where the connection is: the handshake waits, accepted but not yet open (a runtime that opens later), open, or over. */
type Phase = 'handshake' | 'accepted' | 'open' | 'ended';

/** One WebSocket connection: the glue between the cycle, the inbox, the pings and a transport's ports. */
export class ServerWebSocketSession implements TrackedConnection {
  trackingId = 0;
  private readonly cycle: WebSocketCycle;
  private readonly inbox: WebSocketInbox;
  private phase: Phase = 'handshake';
  private handshake: HandshakePort | null = null;
  private port: SocketPort | null = null;
  private keepalive: Keepalive | null = null;
  /** The code of the close we started (the app's, a limit's, shutdown's): reported if the peer never answers it (asgi.websocket.close.4). */
  private closeSent: number | null = null;
  /** A close the app asked for while accepted but not yet open. */
  private pendingClose: { code: number; reason: string } | null = null;
  /** Sends waiting for the socket to open (accepted, not yet open). */
  private openWaiters: Array<() => void> = [];
  private pingTimedOut = false;
  private shuttingDown = false;
  private appDone = false;
  private finished = false;

  constructor(
    private readonly env: SessionEnv,
    private readonly scope: WebSocketScope,
    private readonly access: SessionAccess | null = null,
  ) {
    this.cycle = new WebSocketCycle({ subprotocols: scope.subprotocols, extensions: scope.extensions });
    const flow = env.limits.pausable ? { pause: () => this.pauseReading(), resume: () => this.resumeReading() } : undefined;
    this.inbox = new WebSocketInbox(env.limits.inbox, flow);
  }

  /** Runs the app with `websocket.connect` queued; `handshake` answers the upgrade request when the app decides. */
  start(handshake: HandshakePort): void {
    this.handshake = handshake;
    this.env.connections.add(this);
    this.inbox.push({ type: 'websocket.connect' });
    const receive = (): Promise<WebSocketReceiveEventUnion> => this.inbox.receive();
    // The app may hand send() any event; the cycle rejects those a websocket scope cannot take.
    const send = ((event: WebSocketSendEventUnion): Promise<void> => this.onSend(event)) as Send;
    runApp(this.env.app, this.scope, receive, send, this.appExited, this.env.logger);
  }

  // ---- the transport's events ---------------------------------------------------

  /** The client went away before the handshake was answered. */
  clientLeft(): void {
    if (this.phase !== 'handshake') return;
    this.handshake = null;
    this.lost();
  }

  /** The 101 went out and the socket is live. */
  opened(port: SocketPort): void {
    if (this.phase === 'ended') {
      // The connection ended while the runtime was opening it.
      port.terminate();
      return;
    }
    this.phase = 'open';
    this.port = port;
    this.startKeepalive();
    this.wakeOpenWaiters();
    const pending = this.pendingClose;
    this.pendingClose = null;
    if (this.shuttingDown) this.closeOpen(CLOSE_SERVICE_RESTART, 'server shutting down');
    else if (pending !== null) this.closeOpen(pending.code, pending.reason);
  }

  /**
   * Checks a message's size on the wire before the transport copies it: false,
   * and the connection closing with 1009, when it is larger than the limit.
   */
  withinLimit(wireBytes: number): boolean {
    if (wireBytes <= this.env.limits.maxMessageBytes) return true;
    this.closeOpen(CLOSE_TOO_BIG, 'message too big');
    return false;
  }

  /** One message from the client: a string for text, bytes for binary (they become the app's). */
  received(data: string | Uint8Array): void {
    // After our Close frame the peer's last messages are not the app's (RFC 6455 section 5.5.1).
    if (this.port === null || this.closeSent !== null) return;
    const accepted = typeof data === 'string'
      ? this.inbox.push({ type: 'websocket.receive', bytes: null, text: data }, data.length * 2)
      : this.inbox.push({ type: 'websocket.receive', bytes: data, text: null }, data.byteLength);
    if (!accepted) {
      this.env.logger.warning(
        `WebSocket ${this.scope.path}: the app is not receiving (${this.inbox.length} messages, ${this.inbox.queuedBytes} bytes queued); closing with ${CLOSE_POLICY}`,
      );
      this.closeOpen(CLOSE_POLICY, 'receive queue full');
    }
  }

  /** A pong arrived. */
  ponged(): void {
    this.keepalive?.pong();
  }

  /** The socket closed (either side, or lost): `code` 1005 for a Close frame without one, 1006 when none came. */
  closed(code: number, reason: string): void {
    const timedOut = this.pingTimedOut;
    const reported = code === CLOSE_ABNORMAL && this.closeSent !== null && !timedOut ? this.closeSent : code;
    const shownReason = timedOut ? 'keepalive ping timeout' : reason;
    this.port = null;
    this.phase = 'ended';
    this.stopKeepalive();
    this.logAccess({ closed: reported });
    this.cycle.disconnect(reported, shownReason);
    this.inbox.close({ type: 'websocket.disconnect', code: reported, reason: shownReason });
    this.wakeOpenWaiters();
    this.finishIfDone();
  }

  // ---- the app's send() ------------------------------------------------------

  private onSend(event: WebSocketSendEventUnion): Promise<void> {
    try {
      const action = this.cycle.send(event);
      switch (action.kind) {
        case 'text':
          return quiet(this.sendMessage(action.text, false));
        case 'binary':
          return quiet(this.sendMessage(action.bytes, true));
        case 'accept':
          this.accept(action.subprotocol, action.headers);
          return SENT;
        case 'deny':
          this.respond(403, [], EMPTY);
          return SENT;
        case 'response_pending':
          this.requireHandshake();
          return SENT;
        case 'respond':
          this.respond(action.status, action.headers, action.body);
          return SENT;
        case 'close':
          this.closeWhenOpen(action.code, action.reason);
          return SENT;
      }
    } catch (e) {
      return quiet(Promise.reject(e));
    }
  }

  private sendMessage(data: string | Uint8Array, binary: boolean): Promise<void> {
    const port = this.port;
    if (port !== null && this.closeSent === null) return port.send(data, binary);
    if (this.phase === 'accepted') return this.whenOpen().then(() => this.sendMessage(data, binary));
    return Promise.reject(new ClientDisconnected('send() after the WebSocket client disconnected'));
  }

  private requireHandshake(): HandshakePort {
    const handshake = this.handshake;
    if (handshake === null) throw new ClientDisconnected('the WebSocket client went away during the handshake');
    return handshake;
  }

  private accept(subprotocol: string | null, headers: NormalizedHeaders): void {
    const handshake = this.requireHandshake();
    this.handshake = null;
    this.phase = 'accepted';
    if (!this.transportAccepts(handshake, subprotocol, headers)) {
      this.lost();
      throw new ClientDisconnected('the WebSocket client went away during the handshake');
    }
    this.logAccess('accepted');
  }

  /** The transport's accept(); one that throws (a bug, or a runtime refusing the app's headers) counts as refused. */
  private transportAccepts(handshake: HandshakePort, subprotocol: string | null, headers: NormalizedHeaders): boolean {
    try {
      return handshake.accept(subprotocol, headers);
    } catch (e) {
      this.env.logger.error('WebSocket handshake failed', e);
      return false;
    }
  }

  /** Answers the handshake with a plain HTTP response: no WebSocket was opened, so the app's next receive() says 1006, as uvicorn. */
  private respond(status: number, headers: NormalizedHeaders, body: Uint8Array): void {
    const handshake = this.requireHandshake();
    this.handshake = null;
    this.phase = 'ended';
    try {
      handshake.respond(status, headers, body);
      this.logAccess({ status });
    } catch (e) {
      // The app still hears 1006 and the connection still leaves the tracker.
      this.env.logger.error('WebSocket handshake response failed', e);
    }
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    this.finishIfDone();
  }

  private closeWhenOpen(code: number, reason: string): void {
    if (this.phase === 'accepted') this.pendingClose = { code, reason };
    else this.closeOpen(code, reason);
  }

  private closeOpen(code: number, reason: string): void {
    const port = this.port;
    if (port === null || this.closeSent !== null) return;
    this.closeSent = code;
    port.close(code, reason);
  }

  private whenOpen(): Promise<void> {
    return new Promise<void>((resolve) => this.openWaiters.push(resolve));
  }

  private wakeOpenWaiters(): void {
    const waiters = this.openWaiters;
    if (waiters.length === 0) return;
    this.openWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- pings and flow ------------------------------------------------------------

  private startKeepalive(): void {
    const ping = this.port?.ping;
    const { pingIntervalMs, pingTimeoutMs } = this.env.limits;
    if (ping == null || pingIntervalMs === null) return;
    const keepalive = new Keepalive(pingIntervalMs, pingTimeoutMs, {
      ping: () => {
        try {
          ping();
        } catch {
          // closing already: the close event ends the schedule
        }
      },
      // A peer that stops answering is a lost connection (asgi.websocket.ping.1): dropped without a close handshake it could not complete, so the app sees 1006.
      timedOut: () => {
        this.env.logger.debug(`WebSocket ${this.scope.path}: no pong within the ping timeout; dropping the connection`);
        this.pingTimedOut = true;
        this.port?.terminate();
      },
    });
    this.keepalive = keepalive;
    keepalive.start();
  }

  private stopKeepalive(): void {
    this.keepalive?.stop();
    this.keepalive = null;
  }

  /** The app stopped receiving: stop reading the socket, and pinging (a pong would not be read). */
  private pauseReading(): void {
    const port = this.port;
    if (port === null) return;
    port.pause?.();
    this.stopKeepalive();
    this.env.logger.debug(`WebSocket ${this.scope.path}: the app left ${this.inbox.length} messages unreceived (${this.inbox.queuedBytes} bytes held); reading paused`);
  }

  private resumeReading(): void {
    const port = this.port;
    if (port === null) return;
    port.resume?.();
    if (this.keepalive === null) this.startKeepalive();
    this.env.logger.debug(`WebSocket ${this.scope.path}: reading resumed`);
  }

  // ---- the app's end -----------------------------------------------------------

  private readonly appExited = (exit: AppExit): void => {
    this.appDone = true;
    const ending = websocketEnding(this.cycle, exit, this.scope.path);
    if (ending.log !== null) this.env.logger.error(ending.log.message, ending.log.error);
    try {
      switch (ending.action) {
        case 'deny_403':
          if (this.handshake !== null) this.respond(403, [], EMPTY);
          break;
        case 'respond_500':
          if (this.handshake !== null) this.respond(500, TEXT_HEADERS, INTERNAL_ERROR_BODY);
          break;
        case 'close_1000':
          this.closeWhenOpen(CLOSE_NORMAL, '');
          break;
        case 'close_1011':
          this.closeWhenOpen(CLOSE_INTERNAL_ERROR, 'Internal Server Error');
          break;
        case 'abort':
          this.abort();
          break;
        case 'none':
          break;
      }
    } catch (e) {
      this.env.logger.error('Internal error while ending a WebSocket', e);
    }
    this.finishIfDone();
  };

  /** No socket will open or stay open: the app hears 1006. */
  private lost(): void {
    this.phase = 'ended';
    this.cycle.disconnect(CLOSE_ABNORMAL, null);
    this.inbox.close({ type: 'websocket.disconnect', code: CLOSE_ABNORMAL, reason: null });
    this.wakeOpenWaiters();
    this.finishIfDone();
  }

  /** Leaves the connection tracker once both the app and the transport are done. */
  private finishIfDone(): void {
    if (this.finished || !this.appDone || this.phase !== 'ended') return;
    this.finished = true;
    this.env.connections.delete(this);
  }

  private logAccess(outcome: 'accepted' | { status: number } | { closed: number }): void {
    const access = this.access;
    if (access !== null) this.env.logger.access(websocketAccessLine(access.prefix, outcome, access.startedMs));
  }

  // ---- graceful shutdown (TrackedConnection) -------------------------------------

  /** Server shutdown began: an open socket is closed with 1012 (service restart), as uvicorn does. */
  shutdown(): void {
    this.shuttingDown = true;
    const port = this.port;
    if (port === null) return;
    // A paused socket could not read the client's Close frame.
    if (this.inbox.paused) port.resume?.();
    this.closeOpen(CLOSE_SERVICE_RESTART, 'server shutting down');
  }

  /** The graceful timeout passed (or the app left a denial response unfinished): drop the connection now. */
  abort(): void {
    const handshake = this.handshake;
    if (handshake !== null) {
      this.handshake = null;
      handshake.abort();
      this.lost();
      return;
    }
    this.port?.terminate();
  }
}
