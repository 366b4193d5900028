/**
 * AsgiTestClient: drives an ASGI-TS app in process, without a network, in
 * the spirit of Starlette's TestClient and asgiref's ApplicationCommunicator.
 *
 * Scopes come from the servers' own builders (asgi/scope.ts) and every event
 * the app sends goes through the servers' own state machines (http-cycle,
 * websocket-cycle, lifespan-cycle), so an app that passes here behaves the
 * same under @tsgi/uws. By default the app is also wrapped in validateAsgi,
 * so a protocol mistake fails the test with the id of the broken clause.
 */
import { randomBytes } from 'node:crypto';
import { buildHttpScope, buildWebSocketScope } from '../asgi/scope.js';
import type { AsgiApplication, Extensions } from '../asgi/types.js';
import { validateAsgi } from '../asgi/validate.js';
import { ClientDisconnected } from '../errors.js';
import { HttpExchange, StreamingTestResponse, type AsgiTestResponse } from './asgi-http.js';
import { LifespanSession } from './asgi-lifespan.js';
import { WebSocketConnection, WebSocketDenied, WebSocketSession } from './asgi-websocket.js';
import { CookieJar } from './cookies.js';
import {
  bodySource,
  buildRequestHead,
  normalizeRequestHeaders,
  resolveConnection,
  urlPath,
  withJson,
  type ConnectionOptions,
  type ResolvedConnection,
  type TestHeadersInit,
  type TestRequestInit,
} from './request.js';
import type { ResponseHeaders } from './response.js';

/** Options of an AsgiTestClient. */
export interface AsgiTestClientOptions extends ConnectionOptions {
  /** Wrap the app in validateAsgi, so protocol mistakes fail with their clause id. Default true. */
  validate?: boolean;
  /**
   * Default true (as in Starlette): an exception the app raises reaches the
   * test (request() rejects with it). When false the test sees what a server
   * would send instead: a 500 before the response started, a cut response
   * (IncompleteResponseError) after.
   */
  raiseServerExceptions?: boolean;
  /**
   * `scope.extensions` of every http and websocket scope; by default what
   * @tsgi/uws announces (DEFAULT_HTTP_EXTENSIONS, DEFAULT_WEBSOCKET_EXTENSIONS).
   */
  extensions?: Extensions;
  /**
   * How long close() waits for apps to return after disconnecting them (and
   * for lifespan shutdown) before it fails, so a stuck app (often one still
   * waiting on a test that already failed) is reported instead of hanging
   * the test run. Default 5000 ms.
   */
  closeTimeoutMs?: number;
}

/** Options of one WebSocket connection. */
export interface WebSocketConnectOptions {
  /** Offered in Sec-WebSocket-Protocol (scope.subprotocols). */
  subprotocols?: string[];
  headers?: TestHeadersInit;
}

/**
 * What the test client announces in http scopes unless told otherwise: the
 * same as @tsgi/uws, so an app that looks at `scope.extensions` takes the
 * same path here as in production. The client carries out every extension
 * (trailers, early hints, push, debug too) when `extensions` names it.
 */
export const DEFAULT_HTTP_EXTENSIONS: Extensions = Object.freeze({
  'http.response.pathsend': Object.freeze({}),
  'http.response.reason_phrase': Object.freeze({}),
  'http.response.zerocopysend': Object.freeze({}),
}) as Extensions;

/** What the test client announces in websocket scopes unless told otherwise: the same as @tsgi/uws. */
export const DEFAULT_WEBSOCKET_EXTENSIONS: Extensions = Object.freeze({
  'websocket.http.response': Object.freeze({}),
}) as Extensions;

/** Something the client must end on close(): an unfinished response or an open WebSocket. */
interface OpenThing {
  end(): void;
  settled: Promise<void>;
}

/** An in-process client for an ASGI-TS app: HTTP requests, streamed responses, WebSocket sessions and lifespan. */
export class AsgiTestClient implements AsyncDisposable {
  /** The app as the client calls it (wrapped in validateAsgi unless `validate: false`). */
  readonly app: AsgiApplication;
  private readonly conn: ResolvedConnection;
  private readonly raise: boolean;
  private readonly extensions: { http: Extensions; websocket: Extensions };
  private readonly closeTimeoutMs: number;
  private readonly open = new Set<OpenThing>();
  /** The cookies kept from responses and sent with later requests; null with `cookies: false`. */
  readonly cookies: CookieJar | null;
  private lifespanSession: LifespanSession | null = null;
  private closed = false;

  constructor(app: AsgiApplication, options: AsgiTestClientOptions = {}) {
    this.app = options.validate === false ? app : validateAsgi(app);
    this.conn = resolveConnection(options);
    this.raise = options.raiseServerExceptions ?? true;
    this.extensions = {
      http: options.extensions ?? DEFAULT_HTTP_EXTENSIONS,
      websocket: options.extensions ?? DEFAULT_WEBSOCKET_EXTENSIONS,
    };
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    this.cookies = options.cookies === false ? null : new CookieJar();
  }

  /**
   * Creates a client and runs lifespan startup, so requests see the app's
   * state from the first one on: `await using client = await
   * AsgiTestClient.start(app)`; close() (or leaving the block) runs shutdown.
   * Rejects with LifespanStartupFailed (the app's message) if startup fails.
   */
  static async start(app: AsgiApplication, options: AsgiTestClientOptions = {}): Promise<AsgiTestClient> {
    const client = new AsgiTestClient(app, options);
    try {
      await client.lifespan().startup();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    return client;
  }

  /**
   * Sends one request and reads the whole response. Resolves after the app
   * has returned; rejects with the app's error (raiseServerExceptions), a
   * ProtocolError naming the broken clause, or the abort reason of
   * `init.signal`.
   */
  async request(method: string, path: string, init: TestRequestInit = {}): Promise<AsgiTestResponse> {
    const res = await this.stream(method, path, init);
    return res.read();
  }

  /**
   * Sends one request and resolves as soon as the app has sent
   * http.response.start; the body then arrives chunk by chunk as the test
   * iterates the response. The app's send() of a body chunk resolves only
   * when the test takes it, like a socket that is not read. Leaving the
   * iteration early (or close()) disconnects the client.
   */
  async stream(method: string, path: string, init: TestRequestInit = {}): Promise<StreamingTestResponse> {
    this.assertOpen();
    const req = withJson(init);
    const signal = req.signal;
    signal?.throwIfAborted();
    const body = bodySource(req.body);
    const head = buildRequestHead(this.conn, method, path, req, body, [], this.cookies);
    const scope = buildHttpScope(head, this.scopeOptions('http'));
    const exchange = new HttpExchange({ app: this.app, scope, body, raiseServerExceptions: this.raise });
    const onAbort = (): void => exchange.disconnect(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.track({ end: () => exchange.disconnect(new ClientDisconnected('the test client was closed')), settled: exchange.settled });
    void exchange.settled.then(() => signal?.removeEventListener('abort', onAbort));
    const responseHead = await exchange.head.promise;
    this.cookies?.receive(responseHead.headers.getAll('set-cookie'), urlPath(this.conn, head.target));
    return new StreamingTestResponse(exchange, responseHead);
  }

  /** GET `path`. */
  get(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('GET', path, init);
  }
  /** HEAD `path` (the app's body is counted, not returned). */
  head(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('HEAD', path, init);
  }
  /** OPTIONS `path`. */
  options(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('OPTIONS', path, init);
  }
  /** POST `path`. */
  post(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('POST', path, init);
  }
  /** PUT `path`. */
  put(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('PUT', path, init);
  }
  /** PATCH `path`. */
  patch(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('PATCH', path, init);
  }
  /** DELETE `path`. */
  delete(path: string, init?: TestRequestInit): Promise<AsgiTestResponse> {
    return this.request('DELETE', path, init);
  }

  /**
   * Opens a WebSocket connection: resolves with the session once the app
   * sends websocket.accept; rejects with WebSocketDenied (holding the 403 or
   * the app's denial response) when the app refuses, or with the app's error.
   */
  async websocket(path: string, options: WebSocketConnectOptions = {}): Promise<WebSocketSession> {
    this.assertOpen();
    const handshake = normalizeRequestHeaders([
      ['connection', 'Upgrade'],
      ['upgrade', 'websocket'],
      ['sec-websocket-version', '13'],
      ['sec-websocket-key', randomBytes(16).toString('base64')],
    ]);
    if (options.subprotocols !== undefined && options.subprotocols.length > 0) {
      handshake.push(['sec-websocket-protocol', options.subprotocols.join(', ')]);
    }
    const init: TestRequestInit = options.headers === undefined ? {} : { headers: options.headers };
    const head = buildRequestHead(this.conn, 'GET', path, init, bodySource(undefined), handshake, this.cookies);
    const scope = buildWebSocketScope(head, this.scopeOptions('websocket'));
    const conn = new WebSocketConnection({ app: this.app, scope, raiseServerExceptions: this.raise });
    this.track({ end: () => conn.disconnect(1001, ''), settled: conn.settled });
    const keep = (headers: ResponseHeaders): void => this.cookies?.receive(headers.getAll('set-cookie'), urlPath(this.conn, head.target));
    try {
      const accepted = await conn.handshake.promise;
      keep(accepted.headers);
      return new WebSocketSession(conn, accepted);
    } catch (error) {
      if (error instanceof WebSocketDenied) keep(error.response.headers);
      throw error;
    }
  }

  /**
   * The app's lifespan: `startup()` runs lifespan.startup and returns the
   * state, which every later request and WebSocket scope gets a shallow copy
   * of; `shutdown()` runs lifespan.shutdown. One per client; close() shuts
   * it down if the test did not.
   */
  lifespan(): LifespanSession {
    this.assertOpen();
    this.lifespanSession ??= new LifespanSession(this.app);
    return this.lifespanSession;
  }

  /**
   * Ends what is still open: disconnects unfinished responses and open
   * WebSockets (code 1001) and waits for their apps to return, then shuts
   * the lifespan down if it was started. Rejects if the shutdown fails, or
   * if that takes longer than `closeTimeoutMs`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.open];
    for (const thing of open) thing.end();
    await withDeadline(Promise.all(open.map((t) => t.settled)), this.closeTimeoutMs, `${open.length} app call(s) did not return after the test client disconnected them`);
    if (this.lifespanSession?.phase === 'started') {
      await withDeadline(this.lifespanSession.shutdown(), this.closeTimeoutMs, 'lifespan shutdown did not finish');
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private scopeOptions(type: 'http' | 'websocket'): { rootPath: string; extensions: Extensions; state?: Record<string, unknown> } {
    const opts: { rootPath: string; extensions: Extensions; state?: Record<string, unknown> } = { rootPath: this.conn.rootPath, extensions: this.extensions[type] };
    if (this.lifespanSession !== null && this.lifespanSession.phase !== 'idle') opts.state = this.lifespanSession.state;
    return opts;
  }

  private track(thing: OpenThing): void {
    this.open.add(thing);
    void thing.settled.then(() => this.open.delete(thing));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the test client is closed');
  }
}

/** `promise`, or a rejection naming `what` once `ms` have passed; the timer never keeps the process alive. */
async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms (closeTimeoutMs)`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
