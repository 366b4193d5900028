/**
 * The sans-IO state machine of one HTTP response (spec/asgi.md, "HTTP"):
 * what an app may send when. A transport (the uWebSockets.js server, the
 * fetch bridge, the test client, the validator) feeds every event the app
 * sends to `send()` and carries out the action it returns; it never decides
 * these rules itself. No sockets, no timers, no promises here.
 */
import type { ByteString } from '../bytes.js';
import { ClientDisconnected, ProtocolError } from '../errors.js';
import { checkHttpSendEvent, type CheckOptions, type HeaderCase, type NormalizedHeaders } from './events.js';
import type { Extensions } from './types.js';

/** What the transport must do for one event the app sent. */
export type HttpAction =
  /** Send the status line and headers (a transport may hold them until the first body action). */
  | {
      kind: 'start';
      status: number;
      headers: NormalizedHeaders;
      /** The app's Content-Length, or null when it sent none (then chunk or close-delimit). */
      contentLength: number | null;
      /** Trailers will follow the body (http.response.trailers extension): use chunked framing. */
      trailers: boolean;
      /** The app's reason phrase (http.response.reason_phrase extension), or null for the status's standard one. */
      reason: string | null;
      /** The response has no body on the wire (HEAD, 204, 304): later body actions carry transmit: false. */
      bodyless: boolean;
    }
  /** Write `body`; when `more` is false the body is complete. With `transmit: false` (HEAD) the bytes were counted, not sent. */
  | { kind: 'body'; body: Uint8Array; more: boolean; transmit: boolean }
  /** Send `count` bytes (null: to end of file) of file descriptor `file` from `offset` (null: current position). */
  | { kind: 'zerocopysend'; file: number; offset: number | null; count: number | null; more: boolean; transmit: boolean }
  /** Send the file at `path` as the rest of the body; the body is then complete. */
  | { kind: 'pathsend'; path: string; transmit: boolean }
  /** Send trailer fields; when `more` is false the response is complete. */
  | { kind: 'trailers'; headers: NormalizedHeaders; more: boolean }
  /** Send a 103 Early Hints response carrying these Link values if the final status line is not yet on the wire; else drop it (asgi.ext.early_hint.4). */
  | { kind: 'early_hint'; links: ByteString[] }
  /** Push this resource (HTTP/2); a transport that cannot push drops it silently (asgi.ext.push.4). */
  | { kind: 'push'; path: string; headers: NormalizedHeaders }
  /** Nothing goes on the wire; test clients may record `info` (http.response.debug). */
  | { kind: 'debug'; info: Record<string, unknown> };

/** Where the response stands. */
export type HttpResponseState =
  /** Nothing sent yet: http.response.start (or an early hint, push, debug) may come. */
  | 'init'
  /** Headers sent; body events may come. */
  | 'body'
  /** The body is complete and announced trailers are due. */
  | 'trailers'
  /** The response is complete: nothing more may be sent. */
  | 'done';

/** What a transport does when the app returns (asgi.app.return.*). */
export type HttpAppReturnOutcome =
  /** The response was complete: finish normally. */
  | 'complete'
  /** Nothing was sent: answer 500 (asgi.app.return.1). */
  | 'respond_500'
  /** Headers went out but the body did not end: abort the connection so the client sees a truncated response (asgi.app.return.2). */
  | 'abort';

/** Options of a response cycle. */
export interface HttpResponseCycleOptions {
  /** Request method, upper-case; HEAD responses carry no body on the wire. */
  method: string;
  /** `scope.extensions`: extension events are legal only when announced here. */
  extensions?: Extensions | undefined;
  /** Upper-case response header names: 'fold' (servers, default) or 'require' lower-case (validator). */
  headerCase?: HeaderCase;
}

const EMPTY = new Uint8Array(0);
// The options of the event checks, one object per header case rather than one per event.
const FOLD_CASE: CheckOptions = Object.freeze({ headerCase: 'fold' });
const REQUIRE_LOWER_CASE: CheckOptions = Object.freeze({ headerCase: 'require' });
const DIGITS = /^[0-9]+$/;

/** The state machine of one HTTP response: validates each app event against the state and says what to do. */
export class HttpResponseCycle {
  private _state: HttpResponseState = 'init';
  private _disconnected = false;
  private _status = 0;
  private _trailers = false;
  private _bodyless = false;
  private _contentLength: number | null = null;
  /** Body bytes the app has sent (counted for HEAD too). */
  private _bytes = 0;
  /** False once the body length cannot be known here (zerocopysend without count, pathsend). */
  private _lengthKnown = true;
  private _debugSent = false;
  private readonly head: boolean;
  private readonly extensions: Extensions | undefined;
  private readonly checks: CheckOptions;

  constructor(options: HttpResponseCycleOptions) {
    this.head = options.method === 'HEAD';
    this.extensions = options.extensions;
    this.checks = options.headerCase === 'require' ? REQUIRE_LOWER_CASE : FOLD_CASE;
  }

  /** Current state. */
  get state(): HttpResponseState {
    return this._state;
  }
  /** True once http.response.start was accepted. */
  get started(): boolean {
    return this._state !== 'init';
  }
  /** True once the response is complete (final body, and final trailers when announced). */
  get finished(): boolean {
    return this._state === 'done';
  }
  /** True once `disconnect()` was called. */
  get disconnected(): boolean {
    return this._disconnected;
  }
  /** The status sent, or 0 before http.response.start. */
  get status(): number {
    return this._status;
  }
  /** Body bytes sent so far (for HEAD: counted, not transmitted). */
  get bytesSent(): number {
    return this._bytes;
  }

  /** Marks the client gone: every later `send()` throws ClientDisconnected (asgi.http.disconnect.3). */
  disconnect(): void {
    this._disconnected = true;
  }

  /** What the transport must do now that the app has returned. */
  whenAppReturns(): HttpAppReturnOutcome {
    if (this._state === 'done') return 'complete';
    return this._state === 'init' ? 'respond_500' : 'abort';
  }

  /**
   * Validates one event the app sent against the current state and returns
   * the action for the transport. Throws ProtocolError (naming the clause)
   * for an illegal event, ClientDisconnected once the client is gone.
   */
  send(event: unknown): HttpAction {
    if (this._disconnected) throw new ClientDisconnected('send() after the HTTP client disconnected');
    const e = checkHttpSendEvent(event, this.checks);
    switch (e.type) {
      case 'http.response.body': {
        this.expectBody(e.type);
        const body = e.body ?? EMPTY;
        const more = e.more_body === true;
        this.count(body.byteLength, more);
        this.endBodyUnless(more);
        return { kind: 'body', body, more, transmit: !this._bodyless };
      }
      case 'http.response.start':
        return this.start(e.status, e.headers, e.trailers === true, e.reason_phrase ?? null);
      case 'http.response.trailers':
        this.needExtension('http.response.trailers', 'asgi.ext.trailers.1', e.type);
        this.notDone(e.type);
        if (this._state !== 'trailers') {
          throw new ProtocolError(
            'asgi.ext.trailers.4',
            this._trailers
              ? 'http.response.trailers may only follow the final http.response.body'
              : 'http.response.trailers needs "trailers": true in http.response.start',
            this._state,
          );
        }
        if (e.more_trailers !== true) this._state = 'done';
        return { kind: 'trailers', headers: e.headers, more: e.more_trailers === true };
      case 'http.response.zerocopysend': {
        this.needExtension('http.response.zerocopysend', 'asgi.ext.zerocopysend.1', e.type);
        this.expectBody(e.type);
        const more = e.more_body === true;
        if (e.count === undefined) this._lengthKnown = false;
        else this.count(e.count, more);
        this.endBodyUnless(more);
        return { kind: 'zerocopysend', file: e.file, offset: e.offset ?? null, count: e.count ?? null, more, transmit: !this._bodyless };
      }
      case 'http.response.pathsend':
        this.needExtension('http.response.pathsend', 'asgi.ext.pathsend.1', e.type);
        this.expectBody(e.type);
        this._lengthKnown = false;
        this.endBodyUnless(false);
        return { kind: 'pathsend', path: e.path, transmit: !this._bodyless };
      case 'http.response.early_hint':
        this.needExtension('http.response.early_hint', 'asgi.ext.early_hint.1', e.type);
        this.notDone(e.type);
        if (this._state === 'trailers') {
          throw new ProtocolError('asgi.ext.early_hint.3', 'http.response.early_hint must come before the final body', e.type);
        }
        return { kind: 'early_hint', links: e.links };
      case 'http.response.push':
        this.needExtension('http.response.push', 'asgi.ext.push.1', e.type);
        this.notDone(e.type);
        if (this._state !== 'body') {
          throw new ProtocolError('asgi.ext.push.3', 'http.response.push must come after http.response.start and before the final body', this._state);
        }
        return { kind: 'push', path: e.path, headers: e.headers };
      case 'http.response.debug':
        this.needExtension('http.response.debug', 'asgi.ext.debug.1', e.type);
        if (this._state !== 'init' || this._debugSent) {
          throw new ProtocolError('asgi.ext.debug.3', 'http.response.debug is sent at most once, before http.response.start', e.type);
        }
        this._debugSent = true;
        return { kind: 'debug', info: e.info };
    }
  }

  private start(status: number, headers: NormalizedHeaders, trailers: boolean, reason: string | null): HttpAction {
    if (this._state !== 'init') {
      this.notDone('http.response.start');
      throw new ProtocolError('asgi.http.order.2', 'http.response.start may be sent only once', 'http.response.start');
    }
    if (trailers) this.needExtension('http.response.trailers', 'asgi.ext.trailers.1', '"trailers": true');
    if (reason !== null) this.needExtension('http.response.reason_phrase', 'asgi.ext.reason_phrase.1', '"reason_phrase"');
    let contentLength: number | null = null;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      if (h[0] !== 'content-length') continue;
      if (!DIGITS.test(h[1]) || (contentLength !== null && Number(h[1]) !== contentLength)) {
        throw new ProtocolError('asgi.http.length.1', 'content-length must be ASCII digits, and repeated only with the same value', h[1]);
      }
      contentLength = Number(h[1]);
    }
    this._state = 'body';
    this._status = status;
    this._trailers = trailers;
    this._bodyless = this.head || status === 204 || status === 304;
    this._contentLength = contentLength;
    return { kind: 'start', status, headers, contentLength, trailers, reason, bodyless: this._bodyless };
  }

  /** Counts body bytes and checks them against the app's Content-Length (asgi.http.length.2/3). */
  private count(n: number, more: boolean): void {
    this._bytes += n;
    if (this._bodyless) {
      // HEAD bodies are counted and dropped; 204 and 304 have no body at all.
      if (n > 0 && !this.head) {
        throw new ProtocolError('asgi.http.body.3', `a ${this._status} response has no body`, n);
      }
      return;
    }
    const cl = this._contentLength;
    if (cl === null) return;
    if (this._bytes > cl) {
      throw new ProtocolError('asgi.http.length.2', `body exceeds content-length ${cl}: ${this._bytes} bytes sent`, this._bytes);
    }
    if (!more && this._lengthKnown && this._bytes < cl) {
      throw new ProtocolError('asgi.http.length.3', `body ended short of content-length ${cl}: ${this._bytes} bytes sent`, this._bytes);
    }
  }

  private endBodyUnless(more: boolean): void {
    if (!more) this._state = this._trailers ? 'trailers' : 'done';
  }

  private expectBody(type: string): void {
    if (this._state === 'body') return;
    if (this._state === 'init') {
      throw new ProtocolError('asgi.http.order.1', `${type} before http.response.start`, type);
    }
    this.notDone(type);
    throw new ProtocolError('asgi.ext.trailers.4', `${type} after the final body; only http.response.trailers may follow`, type);
  }

  private notDone(type: string): void {
    if (this._state === 'done') {
      throw new ProtocolError('asgi.http.order.3', `${type} after the response was complete`, type);
    }
  }

  private needExtension(name: string, clause: string, what: string): void {
    if (this.extensions?.[name] === undefined) {
      throw new ProtocolError(clause, `${what} needs the "${name}" extension, which scope.extensions does not announce`, what);
    }
  }
}
