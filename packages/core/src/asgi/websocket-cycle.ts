/**
 * The sans-IO state machine of one WebSocket connection as the app drives it
 * (spec/asgi.md, "WebSocket"): the handshake (accept, close before accept =
 * HTTP 403, or a denial response with the websocket.http.response
 * extension), the connected phase, and the end. Transports feed every app
 * event to `send()` and carry out the returned action.
 */
import { concatBytes } from '../bytes.js';
import { ClientDisconnected, ProtocolError } from '../errors.js';
import { checkWebSocketSendEvent, type CheckOptions, type HeaderCase, type NormalizedHeaders } from './events.js';
import type { Extensions } from './types.js';

/** What the transport must do for one event the app sent. */
export type WebSocketAction =
  /** Complete the handshake (101), with this subprotocol and these extra headers. */
  | { kind: 'accept'; subprotocol: string | null; headers: NormalizedHeaders }
  /** Refuse the handshake with a bare HTTP 403 (websocket.close before accept, asgi.websocket.close.3). */
  | { kind: 'deny'; status: 403 }
  /** Send a text frame. */
  | { kind: 'text'; text: string }
  /** Send a binary frame. */
  | { kind: 'binary'; bytes: Uint8Array }
  /** Send a Close frame with this code and reason, then end the connection. */
  | { kind: 'close'; code: number; reason: string }
  /** A denial response (websocket.http.response extension) is being collected here: nothing goes on the wire yet. */
  | { kind: 'response_pending' }
  /**
   * Refuse the handshake with this whole HTTP response (websocket.http.response
   * extension, at its last body event), then end the connection. `body` is
   * the cycle's own copy of every chunk: the app owned each again once its
   * send() returned.
   */
  | { kind: 'respond'; status: number; headers: NormalizedHeaders; body: Uint8Array };

/** Where the connection stands, from the app's side. */
export type WebSocketState =
  /** Handshake pending: accept, close or a denial response may come. */
  | 'connecting'
  /** Accepted: messages and close may come. */
  | 'connected'
  /** A denial response started: its body events may come. */
  | 'responding'
  /** Closed by the app (close, denial complete) or by the client (`disconnect()`). */
  | 'closed';

/** Options of a WebSocket cycle. */
export interface WebSocketCycleOptions {
  /** `scope.subprotocols`: an accepted subprotocol must be one of them (asgi.websocket.accept.4). */
  subprotocols?: readonly string[] | undefined;
  /** `scope.extensions`: websocket.http.response.* is legal only when announced. */
  extensions?: Extensions | undefined;
  /** Upper-case header names: 'fold' (servers, default) or 'require' lower-case (validator). */
  headerCase?: HeaderCase;
}

const EMPTY = new Uint8Array(0);
const PENDING: WebSocketAction = Object.freeze({ kind: 'response_pending' });
// The options of the event checks, one object per header case rather than one per event.
const FOLD_CASE: CheckOptions = Object.freeze({ headerCase: 'fold' });
const REQUIRE_LOWER_CASE: CheckOptions = Object.freeze({ headerCase: 'require' });

/** The state machine of one WebSocket connection: validates each app event and says what to do. */
export class WebSocketCycle {
  private _state: WebSocketState = 'connecting';
  private _accepted = false;
  private _disconnected = false;
  private _closeCode: number | null = null;
  private _closeReason: string | null = null;
  /** The denial response so far: its start, and a copy of each body chunk. */
  private denial: { status: number; headers: NormalizedHeaders; chunks: Uint8Array[] } | null = null;
  private readonly subprotocols: readonly string[] | undefined;
  private readonly extensions: Extensions | undefined;
  private readonly checks: CheckOptions;

  constructor(options: WebSocketCycleOptions = {}) {
    this.subprotocols = options.subprotocols;
    this.extensions = options.extensions;
    this.checks = options.headerCase === 'require' ? REQUIRE_LOWER_CASE : FOLD_CASE;
  }

  /** Current state. */
  get state(): WebSocketState {
    return this._state;
  }
  /** True once websocket.accept was accepted. */
  get accepted(): boolean {
    return this._accepted;
  }
  /** True once `disconnect()` was called. */
  get disconnected(): boolean {
    return this._disconnected;
  }
  /** The close code the client sent (via `disconnect()`), or null. */
  get closeCode(): number | null {
    return this._closeCode;
  }
  /** The close reason the client sent (via `disconnect()`), or null. */
  get closeReason(): string | null {
    return this._closeReason;
  }

  /** Marks the connection closed by the client or lost: every later `send()` throws ClientDisconnected (asgi.websocket.disconnect.4). */
  disconnect(code: number, reason: string | null = null): void {
    if (this._disconnected) return;
    this._disconnected = true;
    this._closeCode = code;
    this._closeReason = reason;
    this._state = 'closed';
    this.denial = null;
  }

  /**
   * What the transport must do now that the app has returned normally
   * (asgi.app.return.3): an unanswered handshake is refused with 403; an
   * accepted connection still open is closed with 1000; a denial response not
   * finished is aborted. (When the app threw instead, the transport answers an
   * unanswered handshake with 500 and closes an open connection with 1011.)
   */
  whenAppReturns(): 'complete' | 'deny_403' | 'close_1000' | 'abort' {
    switch (this._state) {
      case 'closed':
        return 'complete';
      case 'connecting':
        return 'deny_403';
      case 'connected':
        return 'close_1000';
      case 'responding':
        return 'abort';
    }
  }

  /**
   * Validates one event the app sent against the current state and returns
   * the action for the transport. Throws ProtocolError (naming the clause)
   * for an illegal event, ClientDisconnected once the client is gone.
   */
  send(event: unknown): WebSocketAction {
    if (this._disconnected) throw new ClientDisconnected('send() after the WebSocket client disconnected');
    const e = checkWebSocketSendEvent(event, this.checks);
    switch (e.type) {
      case 'websocket.send':
        if (this._state !== 'connected') this.wrongState(e.type);
        return e.text !== undefined && e.text !== null ? { kind: 'text', text: e.text } : { kind: 'binary', bytes: e.bytes! };
      case 'websocket.accept': {
        if (this._state !== 'connecting') this.wrongState(e.type);
        const sub = e.subprotocol ?? null;
        if (sub !== null && this.subprotocols !== undefined && !this.subprotocols.includes(sub)) {
          throw new ProtocolError('asgi.websocket.accept.4', `subprotocol must be one the client offered (${JSON.stringify(this.subprotocols)})`, sub);
        }
        this._state = 'connected';
        this._accepted = true;
        return { kind: 'accept', subprotocol: sub, headers: e.headers };
      }
      case 'websocket.close':
        if (this._state === 'connecting') {
          this._state = 'closed';
          return { kind: 'deny', status: 403 };
        }
        if (this._state !== 'connected') this.wrongState(e.type);
        this._state = 'closed';
        return { kind: 'close', code: e.code ?? 1000, reason: e.reason ?? '' };
      case 'websocket.http.response.start':
        this.needExtension(e.type);
        if (this._state !== 'connecting') this.wrongState(e.type);
        this._state = 'responding';
        this.denial = { status: e.status, headers: e.headers, chunks: [] };
        return PENDING;
      case 'websocket.http.response.body': {
        this.needExtension(e.type);
        if (this._state !== 'responding') this.wrongState(e.type);
        const denial = this.denial!;
        if (e.body != null && e.body.byteLength > 0) denial.chunks.push(e.body.slice());
        if (e.more_body === true) return PENDING;
        this._state = 'closed';
        this.denial = null;
        return { kind: 'respond', status: denial.status, headers: denial.headers, body: denial.chunks.length === 0 ? EMPTY : concatBytes(denial.chunks) };
      }
    }
  }

  private needExtension(type: string): void {
    if (this.extensions?.['websocket.http.response'] === undefined) {
      throw new ProtocolError('asgi.ext.websocket_http_response.1', `${type} needs the "websocket.http.response" extension, which scope.extensions does not announce`, type);
    }
  }

  private wrongState(type: string): never {
    switch (this._state) {
      case 'connecting':
        throw new ProtocolError('asgi.websocket.order.1', `${type} before the handshake was answered (websocket.accept, websocket.close or websocket.http.response.start)`, type);
      case 'connected':
        throw new ProtocolError('asgi.websocket.order.2', `${type} after the connection was accepted`, type);
      case 'responding':
        throw new ProtocolError('asgi.ext.websocket_http_response.4', `${type} while a denial response is being sent; only websocket.http.response.body may follow`, type);
      case 'closed':
        throw new ProtocolError('asgi.websocket.order.3', `${type} after the connection was closed`, type);
    }
  }
}
