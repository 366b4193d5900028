/**
 * One WebSocket connection through an ASGI-TS app, in process: the test
 * sends and receives messages as a WebSocket client would, and the app's
 * events go through the same WebSocketCycle the servers use (handshake,
 * denial, close, what may come after), so the session behaves like a real
 * connection to a tsgi server.
 */
import type { ByteString } from '../bytes.js';
import { RETURNED, websocketEnding, type AppExit } from '../server/app-run.js';
import { isSendableCloseCode } from '../asgi/events.js';
import { WebSocketCycle, type WebSocketAction } from '../asgi/websocket-cycle.js';
import type {
  AsgiApplication,
  Receive,
  Send,
  SendEvent,
  WebSocketDisconnectEvent,
  WebSocketReceiveEventUnion,
  WebSocketScope,
} from '../asgi/types.js';
import { deferred, Mailbox, type Deferred } from './channel.js';
import { BaseTestResponse, IncompleteResponseError, INTERNAL_ERROR_BODY, INTERNAL_ERROR_HEADERS, ResponseHeaders } from './response.js';

/** A message the app sent, as the test receives it; `close` ends the stream. */
export type WebSocketMessage =
  | { type: 'text'; text: string }
  | { type: 'bytes'; bytes: Uint8Array }
  | { type: 'close'; code: number; reason: string };

/**
 * The app refused the handshake: with websocket.close before accept (a bare
 * 403), by returning or failing before accepting, or with a denial response
 * (websocket.http.response extension), which `response` holds.
 */
export class WebSocketDenied extends Error {
  override name = 'WebSocketDenied';
  /** The HTTP response the client got instead of the 101 upgrade. */
  readonly response: BaseTestResponse;
  constructor(response: BaseTestResponse, how: string) {
    super(`the app denied the WebSocket handshake (${how}): HTTP ${response.status}`);
    this.response = response;
  }
}

/** The connection is closed: the test sent or received after the close, or waited for a message that cannot come. */
export class WebSocketClosed extends Error {
  override name = 'WebSocketClosed';
  /** The close code, when a close frame was exchanged. */
  readonly code: number | null;
  constructor(message: string, code: number | null = null) {
    super(message);
    this.code = code;
  }
}

/** What the client saw of an accepted handshake. */
interface Accepted {
  subprotocol: string | null;
  headers: ResponseHeaders;
}

/** How one connection runs: the app, its scope, and the client's policy on app errors. */
export interface WebSocketConnectionOptions {
  app: AsgiApplication;
  scope: WebSocketScope;
  raiseServerExceptions: boolean;
}

// Close code of a connection that ended without a close frame (RFC 6455 7.1.5).
const ABNORMAL_CLOSURE = 1006;
// Close code a server sends when the app failed (RFC 6455 7.4.1).
const INTERNAL_ERROR = 1011;

/** The state of one WebSocket connection between a test and an app. */
export class WebSocketConnection {
  /** Resolves when the app accepts; rejects with WebSocketDenied or the app's error. */
  readonly handshake: Deferred<Accepted> = deferred();
  /** Resolves when the app has returned or raised (never rejects). */
  readonly settled: Promise<void>;
  /** Messages from the app, for the test. */
  readonly inbox = new Mailbox<WebSocketMessage>();
  /** The app's error when it raised (other than ClientDisconnected after the client left). */
  appError: { error: unknown } | null = null;

  /** raiseServerExceptions: app errors reach the test instead of becoming what a server would send. */
  readonly raise: boolean;
  private readonly cycle: WebSocketCycle;
  private readonly toApp = new Mailbox<WebSocketReceiveEventUnion>();
  // Once set, what receive() returns forever after the queued events: the connection is over.
  private finalEvent: WebSocketDisconnectEvent | null = null;
  private closeSeen: { code: number; reason: string } | null = null;

  constructor(opts: WebSocketConnectionOptions) {
    this.raise = opts.raiseServerExceptions;
    this.cycle = new WebSocketCycle({ subprotocols: opts.scope.subprotocols, extensions: opts.scope.extensions });
    this.toApp.put({ type: 'websocket.connect' });
    this.settled = this.run(opts.app, opts.scope);
  }

  /** True once either side closed, or the app ended. */
  get isClosed(): boolean {
    return this.finalEvent !== null || this.closeSeen !== null;
  }

  /** Delivers a message from the test to the app. */
  deliver(event: WebSocketReceiveEventUnion & { type: 'websocket.receive' }): void {
    if (this.isClosed) throw new WebSocketClosed('cannot send: the WebSocket connection is closed', this.closeSeen?.code ?? null);
    this.toApp.put(event);
  }

  /** The client closes (or loses) the connection: the app receives websocket.disconnect; its sends throw ClientDisconnected. */
  disconnect(code: number, reason: string): void {
    if (this.finalEvent !== null) return;
    this.finalEvent = { type: 'websocket.disconnect', code, reason };
    this.cycle.disconnect(code, reason);
    this.toApp.put(this.finalEvent);
  }

  private async run(app: AsgiApplication, scope: WebSocketScope): Promise<void> {
    let exit: AppExit = RETURNED;
    try {
      await app(scope, this.receive as Receive, this.send as Send);
    } catch (error) {
      exit = { raised: true, error };
    }
    this.finish(exit, scope.path);
  }

  // Turns how the app ended into what the test sees, by the servers' own rules (websocketEnding).
  private finish(exit: AppExit, path: string): void {
    const ending = websocketEnding(this.cycle, exit, path);
    if (exit.raised && ending.log !== null) {
      this.appError = { error: exit.error };
      if (this.raise) {
        this.handshake.reject(exit.error);
        this.inbox.fail(exit.error);
        return;
      }
    }
    switch (ending.action) {
      case 'respond_500':
        this.deny(500, INTERNAL_ERROR_HEADERS, [INTERNAL_ERROR_BODY], 'the app raised before accepting');
        break;
      case 'deny_403':
        this.deny(403, [], [], 'the app returned without accepting');
        break;
      case 'abort':
        this.handshake.reject(
          exit.raised
            ? new IncompleteResponseError('the app raised during its denial response; a server would close the connection', { cause: exit.error })
            : new IncompleteResponseError('the app returned before its denial response was complete; a server would close the connection'),
        );
        break;
      case 'close_1011':
        this.closeSeen = { code: INTERNAL_ERROR, reason: 'Internal Server Error' };
        this.inbox.put({ type: 'close', ...this.closeSeen });
        break;
      case 'close_1000':
        // A server closes an accepted connection the app left open with 1000.
        this.inbox.put({ type: 'close', code: 1000, reason: '' });
        this.closeSeen = { code: 1000, reason: '' };
        break;
      case 'none':
        break;
    }
    const why = exit.raised && ending.log !== null ? 'the app raised; the server ended the connection' : 'the WebSocket connection is closed: no more messages';
    this.inbox.fail(new WebSocketClosed(why, this.closeSeen?.code ?? null));
  }

  private deny(status: number, headers: ReadonlyArray<readonly [ByteString, ByteString]>, chunks: Uint8Array[], how: string): void {
    this.handshake.reject(new WebSocketDenied(new BaseTestResponse(status, new ResponseHeaders(headers), chunks), how));
  }

  private readonly receive = (): Promise<WebSocketReceiveEventUnion> => {
    // After the connection ended the app keeps hearing websocket.disconnect, as from a server.
    if (this.finalEvent !== null && this.toApp.size === 0) return Promise.resolve(this.finalEvent);
    return this.toApp.take();
  };

  private readonly send = async (event: SendEvent): Promise<void> => {
    this.apply(this.cycle.send(event));
  };

  private apply(action: WebSocketAction): void {
    switch (action.kind) {
      case 'accept':
        this.handshake.resolve({ subprotocol: action.subprotocol, headers: new ResponseHeaders(action.headers) });
        return;
      case 'text':
        this.inbox.put({ type: 'text', text: action.text });
        return;
      case 'binary':
        this.inbox.put({ type: 'bytes', bytes: action.bytes });
        return;
      case 'close':
        this.closeSeen = { code: action.code, reason: action.reason };
        this.inbox.put({ type: 'close', code: action.code, reason: action.reason });
        // The client answers the close frame; the app then hears websocket.disconnect with that code.
        this.endFromServer(action.code, action.reason);
        return;
      case 'deny':
        this.deny(action.status, [], [], 'websocket.close before websocket.accept');
        this.endFromServer(ABNORMAL_CLOSURE, '');
        return;
      case 'response_pending':
        return;
      case 'respond': {
        const chunks = action.body.byteLength > 0 ? [action.body] : [];
        this.handshake.reject(new WebSocketDenied(new BaseTestResponse(action.status, new ResponseHeaders(action.headers), chunks), 'websocket.http.response'));
        this.endFromServer(ABNORMAL_CLOSURE, '');
        return;
      }
    }
  }

  // The connection ended on the server side: a pending receive() (say, a reader task) wakes with websocket.disconnect too.
  private endFromServer(code: number, reason: string): void {
    if (this.finalEvent !== null) return;
    this.finalEvent = { type: 'websocket.disconnect', code, reason };
    this.toApp.put(this.finalEvent);
  }
}

/** An accepted WebSocket connection, seen from the client side. */
export class WebSocketSession implements AsyncDisposable {
  /** The subprotocol the app accepted, or null. */
  readonly subprotocol: string | null;
  /** The extra headers the app sent with websocket.accept. */
  readonly headers: ResponseHeaders;
  private readonly conn: WebSocketConnection;

  constructor(conn: WebSocketConnection, accepted: Accepted) {
    this.conn = conn;
    this.subprotocol = accepted.subprotocol;
    this.headers = accepted.headers;
  }

  /** Sends a text frame: the app receives websocket.receive with `text`. */
  sendText(text: string): void {
    this.conn.deliver({ type: 'websocket.receive', text });
  }

  /** Sends a binary frame: the app receives websocket.receive with `bytes`. */
  sendBytes(bytes: Uint8Array): void {
    this.conn.deliver({ type: 'websocket.receive', bytes });
  }

  /** Sends `value` as JSON in a text frame. */
  sendJson(value: unknown): void {
    this.sendText(JSON.stringify(value));
  }

  /**
   * The next message from the app: text, bytes, or the close frame. Rejects
   * with WebSocketClosed once nothing more can come, or with the app's error
   * when it raised and raiseServerExceptions is on.
   */
  receive(): Promise<WebSocketMessage> {
    return this.conn.inbox.take();
  }

  /** The next message, which must be text. */
  async receiveText(): Promise<string> {
    const m = await this.receive();
    if (m.type !== 'text') throw new TypeError(`expected a text message; got ${describeMessage(m)}`);
    return m.text;
  }

  /** The next message, which must be bytes. */
  async receiveBytes(): Promise<Uint8Array> {
    const m = await this.receive();
    if (m.type !== 'bytes') throw new TypeError(`expected a binary message; got ${describeMessage(m)}`);
    return m.bytes;
  }

  /** The next message, which must be text holding JSON. */
  async receiveJson<T = unknown>(): Promise<T> {
    return JSON.parse(await this.receiveText()) as T;
  }

  /** The next message, which must be the close frame; returns its code and reason. */
  async receiveClose(): Promise<{ code: number; reason: string }> {
    const m = await this.receive();
    if (m.type !== 'close') throw new TypeError(`expected the close frame; got ${describeMessage(m)}`);
    return { code: m.code, reason: m.reason };
  }

  /**
   * Closes the connection from the client side (the app receives
   * websocket.disconnect with `code` and `reason`) unless it is already
   * closed, then waits for the app to return. Rethrows the app's error when
   * it raised and raiseServerExceptions is on. `code` is one a client may
   * send (RFC 6455 7.4), or 1006 to simulate a connection lost without a
   * close frame; `reason` fits a close frame (<= 123 UTF-8 bytes).
   */
  async close(code = 1000, reason = ''): Promise<void> {
    if (code !== ABNORMAL_CLOSURE && !isSendableCloseCode(code)) {
      throw new RangeError(`close code must be one a client can send (1000-1003, 1007-1014, 3000-4999) or 1006 for a lost connection; got ${code}`);
    }
    if (Buffer.byteLength(reason, 'utf8') > 123) throw new RangeError(`close reason must fit a close frame (<= 123 UTF-8 bytes); got ${Buffer.byteLength(reason, 'utf8')}`);
    this.conn.disconnect(code, reason);
    await this.conn.settled;
    const failure = this.conn.appError;
    if (failure !== null && this.conn.raise) throw failure.error;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function describeMessage(m: WebSocketMessage): string {
  switch (m.type) {
    case 'text':
      return `text ${JSON.stringify(m.text.length > 40 ? m.text.slice(0, 37) + '...' : m.text)}`;
    case 'bytes':
      return `bytes (${m.bytes.byteLength})`;
    case 'close':
      return `close ${m.code}${m.reason ? ` ${JSON.stringify(m.reason)}` : ''}`;
  }
}
