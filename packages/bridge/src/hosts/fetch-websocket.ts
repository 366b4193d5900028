/**
 * One ASGI-TS WebSocket on a runtime whose fetch server upgrades natively
 * (Bun.serve, Deno.serve): the transport of @tsgi/core's
 * ServerWebSocketSession, which holds the protocol (what the app may send
 * when, the handshake's outcomes, the inbox, the endings, shutdown's 1012).
 * A runtime module supplies a RuntimeHandshake (how it completes an upgrade)
 * and, once the socket is open, a RuntimeSocket, and reports the socket's
 * events to FetchWebSocket, which maps them onto the session's two ports:
 *
 * - handshake: the upgrade request waits on the promise the fetch handler
 *   returns, which resolves with the runtime's answer to `websocket.accept`
 *   (a 400 when the runtime refuses the upgrade) or with the plain Response
 *   of a denial; a client that leaves meanwhile (the Request's signal)
 *   reaches the app as websocket.disconnect 1006;
 * - messages: a message over wsMaxSize closes with 1009 (text measured in
 *   UTF-8); neither runtime can stop reading a WebSocket, so the session's
 *   inbox is bounded and a client that outruns the app is closed with 1008;
 * - send backpressure: send() resolves while the runtime holds at most
 *   `sendHighWaterMark` unsent bytes, else once it drained below it (the
 *   runtime's drain event, or polling where it has none);
 * - pings are the runtimes' own.
 */
import { ClientDisconnected, type NormalizedHeaders, type WebSocketScope } from '@tsgi/core';
import {
  ServerWebSocketSession,
  handshakeRefusal,
  statusReason,
  wantsWebSocket as upgradeWanted,
  type HandshakePort,
  type Logger,
  type SessionEnv,
  type SocketPort,
} from '@tsgi/core/server';
import { nativeResponse } from '../fetch/light-response.js';

/** What a runtime's open server-side WebSocket offers. */
export interface RuntimeSocket {
  /** Queues one message (text or binary); the runtime copies what it keeps. */
  send(data: string | Uint8Array): void;
  /** Starts the close handshake with this code and reason. */
  close(code: number, reason: string): void;
  /** Drops the connection at once, without a close handshake. */
  terminate(): void;
  /** Bytes queued by the runtime and not yet written to the socket. */
  bufferedAmount(): number;
  /** True when the runtime reports drained(); otherwise send() polls bufferedAmount(). */
  readonly reportsDrain: boolean;
}

/** How a runtime completes an upgrade the app accepted. */
export interface RuntimeHandshake {
  /**
   * Completes the handshake with this subprotocol and these extra response
   * headers; returns what the fetch handler answers (the runtime's 101
   * Response, or undefined where the runtime answers itself), or null when
   * the runtime refused the upgrade.
   */
  accept(subprotocol: string | null, headers: NormalizedHeaders): Response | undefined | null;
}

/** What the WebSockets of one host share. */
export interface FetchWebSocketEnv {
  readonly session: SessionEnv;
  /** Bytes the runtime may hold unsent before send() waits. */
  readonly sendHighWaterMark: number;
}

/** How often a runtime that reports no drain is asked how much it still holds. */
const DRAIN_POLL_MS = 5;
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

/** The fetch handler's pending answer to the upgrade request. */
interface PendingAnswer {
  resolve(response: Response | undefined): void;
  reject(error: unknown): void;
}

/** One WebSocket's transport: the upgrade Request and the fetch handler's answer, then the runtime's socket. */
export class FetchWebSocket implements HandshakePort, SocketPort {
  private readonly session: ServerWebSocketSession;
  /** The fetch handler's answer, until the handshake is answered. */
  private answer: PendingAnswer | null = null;
  private runtime: RuntimeHandshake | null = null;
  /** The open socket, from the runtime's open event to its close event. */
  private socket: RuntimeSocket | null = null;
  private drainWaiters: Array<() => void> = [];
  private drainTimer: ReturnType<typeof setTimeout> | null = null;
  // The runtimes ping by themselves and cannot stop reading.
  readonly ping = null;
  readonly pause = null;
  readonly resume = null;
  private readonly onAbort = (): void => this.clientLeft();

  constructor(
    private readonly env: FetchWebSocketEnv,
    scope: WebSocketScope,
    private readonly request: Request,
  ) {
    this.session = new ServerWebSocketSession(env.session, scope, null);
  }

  /** Runs the app with `websocket.connect` queued; resolves with what the fetch handler answers the upgrade request. */
  start(runtime: RuntimeHandshake): Promise<Response | undefined> {
    this.runtime = runtime;
    const answered = new Promise<Response | undefined>((resolve, reject) => (this.answer = { resolve, reject }));
    const signal = this.request.signal;
    signal.addEventListener('abort', this.onAbort, { once: true });
    this.session.start(this);
    if (signal.aborted) this.clientLeft();
    return answered;
  }

  // ---- the handshake (HandshakePort) -------------------------------------------

  /** Ends the handshake phase: returns the pending answer, or null when it was already given. */
  private takeAnswer(): PendingAnswer | null {
    const answer = this.answer;
    this.answer = null;
    this.request.signal.removeEventListener('abort', this.onAbort);
    return answer;
  }

  /** The Request's signal fired before the answer (asgi.websocket.disconnect.5). */
  private clientLeft(): void {
    // The runtime still awaits an answer, which no one will read.
    this.takeAnswer()?.resolve(plain(400));
    this.session.clientLeft();
  }

  /** websocket.accept: the runtime completes the upgrade; the fetch handler answers with its Response. */
  accept(subprotocol: string | null, headers: NormalizedHeaders): boolean {
    // Removes the listener first: Deno.upgradeWebSocket aborts the Request's signal as it takes the connection over.
    const answer = this.takeAnswer();
    if (answer === null) return false;
    if (this.request.signal.aborted) {
      answer.resolve(plain(400));
      return false;
    }
    let response: Response | undefined | null;
    try {
      response = this.runtime!.accept(subprotocol, headers);
    } catch (e) {
      // Headers the runtime will not write, for one: the upgrade fails, the connection must not hang.
      this.env.session.logger.error('The runtime failed the WebSocket upgrade', e);
      answer.resolve(plain(500));
      return false;
    }
    // The runtime refused an upgrade the checks passed: the client gets a 400, the app a disconnect.
    answer.resolve(response === null ? plain(400) : response);
    return response !== null;
  }

  /** Answers the upgrade request with a plain HTTP response (403, 500, or the app's denial response). */
  respond(status: number, headers: NormalizedHeaders, body: Uint8Array): void {
    const answer = this.takeAnswer();
    if (answer === null) return;
    let response: Response;
    try {
      // No body rather than an empty one: a Response of status 204 or 304 may have none.
      response = new (nativeResponse())(body.byteLength === 0 ? null : body, { status, headers });
    } catch (e) {
      this.env.session.logger.error('Invalid WebSocket denial response', e);
      response = plain(500);
    }
    answer.resolve(response);
  }

  /** Drops the upgrade request: the runtime answers a failed handler itself (500) or drops the connection. */
  abort(): void {
    this.takeAnswer()?.reject(new Error('the ASGI app ended its WebSocket denial response unfinished'));
  }

  // ---- the open socket (SocketPort) ----------------------------------------------

  /** One message to the runtime; resolves once it holds at most the high-water mark. */
  async send(data: string | Uint8Array): Promise<void> {
    const socket = this.socket;
    if (socket === null) throw new ClientDisconnected('send() after the WebSocket client disconnected');
    try {
      socket.send(data);
    } catch (e) {
      // Deno's socket throws once the client's close began.
      throw new ClientDisconnected(`send() failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const hwm = this.env.sendHighWaterMark;
    while (this.socket !== null && socket.bufferedAmount() > hwm) await this.drain(socket);
    if (this.socket === null) throw new ClientDisconnected('the WebSocket client disconnected during send()');
  }

  /** Starts the close handshake. */
  close(code: number, reason: string): void {
    this.socket?.close(code, reason);
  }

  /** Drops the connection without a close handshake. */
  terminate(): void {
    this.socket?.terminate();
  }

  private drain(socket: RuntimeSocket): Promise<void> {
    return new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      if (!socket.reportsDrain && this.drainTimer === null) this.drainTimer = setTimeout(() => this.drained(), DRAIN_POLL_MS);
    });
  }

  // ---- the runtime's socket events -------------------------------------------

  /** The runtime opened the socket after the 101. */
  opened(socket: RuntimeSocket): void {
    this.guard(() => {
      this.socket = socket;
      this.session.opened(this);
    });
  }

  /** One message from the client: a string for text, bytes for binary. */
  message(data: string | Uint8Array): void {
    this.guard(() => {
      // A string's UTF-8 length is at most 3 bytes per UTF-16 unit: only a long one is measured.
      const bytes = typeof data !== 'string' ? data.byteLength : data.length * 3 <= this.env.session.limits.maxMessageBytes ? data.length : encoder.encode(data).byteLength;
      if (this.session.withinLimit(bytes)) this.session.received(data);
    });
  }

  /** The socket closed (either side, or lost); `code` is 1005 for a Close frame without one, 1006 when none came. */
  closed(code: number, reason: string): void {
    this.guard(() => {
      this.socket = null;
      this.drained();
      this.session.closed(code, reason);
    });
  }

  /** The runtime wrote out what it held (Bun's drain), or it is time to poll again: the waiting sends look again. */
  drained(): void {
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimer = null;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.env.session.logger.error('Internal error in a WebSocket event handler', e);
    }
  }
}
