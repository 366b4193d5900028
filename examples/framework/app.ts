/**
 * The app: a route table of async handlers and WebSocket handlers,
 * middleware, error handlers, lifespan hooks, and mounted apps (sync views
 * on worker threads among them). `createApp()` returns an ASGI-TS
 * application, so any ASGI-TS server hosts it: `tsgi serve app.ts:app`.
 */
import { isClientDisconnected, type AsgiApplication, type HttpScope, type LifespanScope, type ModuleRef, type Receive, type Scope, type Send, type WebSocketScope } from '@tsgi/core';
import { wsgiToAsgi, type WsgiToAsgiOptions } from '@tsgi/bridge';
import { callMounted } from './mounted-response.js';
import { DEFAULT_MAX_BODY, Request } from './request.js';
import { errorResponse, headerPairs, HttpError, Response, text, toResponse, type HandlerResult } from './response.js';
import { Router } from './routing.js';
import { WebSocket } from './websocket.js';

/** An async view: runs on the event loop, so it must await (never block) while it waits. */
export type Handler = (req: Request) => HandlerResult | Promise<HandlerResult>;
/** A WebSocket view: accept, then exchange messages until either side closes. */
export type WebSocketHandler = (ws: WebSocket) => Promise<void>;
/** Middleware wraps every HTTP request: call `next()` for the response, or answer without it. */
export type Middleware = (req: Request, next: () => Promise<Response>) => Promise<Response>;
/** Turns an error into a response (registered by status code or by error class). */
export type ErrorHandler = (error: unknown, req: Request) => HandlerResult | Promise<HandlerResult>;
/** Runs at lifespan startup or shutdown; `state` is copied into every request (`req.state`). */
export type LifespanHook = (state: Record<string, unknown>) => void | Promise<void>;
/** Where the app reports errors that are bugs (default: console.error). */
export type ErrorLogger = (message: string, error: unknown) => void;

/** Options of createApp. */
export interface AppOptions {
  /** Largest body `req.text()`/`req.json()` accept (413 beyond); default 1 MiB. */
  maxBodySize?: number;
  logger?: ErrorLogger;
}

/** An ASGI app that is hosted under a path prefix of this one (path stays whole, root_path grows by the prefix). */
interface Mount {
  prefix: string;
  app: AsgiApplication;
  start?: () => Promise<void>;
  close?: () => Promise<void>;
}

// Error classes are matched with instanceof, in the order they were registered.
type ErrorClass = abstract new (...args: never[]) => unknown;

/** The app returned by createApp: an ASGI-TS application with Flask-style methods to declare it. */
export interface App extends AsgiApplication {
  get(pattern: string, handler: Handler): App;
  post(pattern: string, handler: Handler): App;
  put(pattern: string, handler: Handler): App;
  patch(pattern: string, handler: Handler): App;
  delete(pattern: string, handler: Handler): App;
  /** A route for any method (`'*'`) or a list of methods. */
  route(methods: string | string[], pattern: string, handler: Handler): App;
  ws(pattern: string, handler: WebSocketHandler): App;
  use(middleware: Middleware): App;
  onError(key: number | ErrorClass, handler: ErrorHandler): App;
  onStartup(hook: LifespanHook): App;
  onShutdown(hook: LifespanHook): App;
  /** Hosts another ASGI app under `prefix` (e.g. `/api`): it gets every HTTP request whose path is the prefix or below it. */
  mount(prefix: string, app: AsgiApplication): App;
  /**
   * Hosts sync views (a WSGI-TS app, see syncViews) under `prefix`, on worker
   * threads: the module is imported by each thread (functions cannot cross
   * threads), so pass where it lives and the name it exports.
   */
  mountSync(prefix: string, ref: ModuleRef, options?: WsgiToAsgiOptions): App;
  /** The routes declared so far (for listings and tests). */
  readonly routes: ReadonlyArray<{ method: string; pattern: string }>;
}

/** Creates an app; export it and serve it with `tsgi serve file.ts:app`. */
export function createApp(options: AppOptions = {}): App {
  const core = new AppCore(options);
  const app = (async (scope: Scope, receive: Receive, send: Send) => core.handle(scope, receive, send)) as App;
  const chain = (fn: () => void): App => {
    fn();
    return app;
  };
  Object.assign(app, {
    get: (p: string, h: Handler) => chain(() => core.http.add('GET', p, h)),
    post: (p: string, h: Handler) => chain(() => core.http.add('POST', p, h)),
    put: (p: string, h: Handler) => chain(() => core.http.add('PUT', p, h)),
    patch: (p: string, h: Handler) => chain(() => core.http.add('PATCH', p, h)),
    delete: (p: string, h: Handler) => chain(() => core.http.add('DELETE', p, h)),
    route: (methods: string | string[], p: string, h: Handler) => chain(() => [methods].flat().forEach((m) => core.http.add(m, p, h))),
    ws: (p: string, h: WebSocketHandler) => chain(() => core.websocket.add('GET', p, h)),
    use: (m: Middleware) => chain(() => core.middleware.push(m)),
    onError: (key: number | ErrorClass, h: ErrorHandler) => chain(() => core.errorHandlers.push([key, h])),
    onStartup: (hook: LifespanHook) => chain(() => core.startup.push(hook)),
    onShutdown: (hook: LifespanHook) => chain(() => core.shutdown.push(hook)),
    mount: (prefix: string, sub: AsgiApplication) => chain(() => core.addMount({ prefix: checkPrefix(prefix), app: sub })),
    mountSync: (prefix: string, ref: ModuleRef, opts?: WsgiToAsgiOptions) =>
      chain(() => {
        const sub = wsgiToAsgi(ref, opts);
        core.addMount({ prefix: checkPrefix(prefix), app: sub, start: () => sub.start(), close: () => sub.close() });
      }),
  });
  Object.defineProperty(app, 'routes', { get: () => core.http.routes });
  return app;
}

function checkPrefix(prefix: string): string {
  if (!prefix.startsWith('/') || prefix.endsWith('/')) throw new TypeError(`mount prefix must start with "/" and not end with one; got ${JSON.stringify(prefix)}`);
  return prefix;
}

const INTERNAL_ERROR = 'Internal Server Error\n';

/** Everything behind the App's methods: the tables, and the ASGI handling of each scope type. */
class AppCore {
  readonly http = new Router<Handler>();
  readonly websocket = new Router<WebSocketHandler>();
  readonly middleware: Middleware[] = [];
  readonly errorHandlers: Array<[number | ErrorClass, ErrorHandler]> = [];
  readonly startup: LifespanHook[] = [];
  readonly shutdown: LifespanHook[] = [];
  readonly #mounts: Mount[] = [];
  readonly #maxBody: number;
  readonly #log: ErrorLogger;

  constructor(options: AppOptions) {
    this.#maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY;
    this.#log = options.logger ?? ((message, error) => console.error(message, error));
  }

  addMount(mount: Mount): void {
    this.#mounts.push(mount);
    // Longest prefix first, so /api/v2 wins over /api.
    this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    switch (scope.type) {
      case 'http':
        return this.#http(scope, receive, send);
      case 'websocket':
        return this.#websocket(scope, receive, send);
      case 'lifespan':
        return this.#lifespan(scope, receive, send);
    }
  }

  // ---- HTTP ---------------------------------------------------------------

  async #http(scope: HttpScope, receive: Receive, send: Send): Promise<void> {
    const req = new Request(scope, receive, this.#maxBody);
    let res: Response;
    try {
      res = await this.#runMiddleware(req, 0);
    } catch (error) {
      // A client that left needs no answer.
      if (isClientDisconnected(error)) return;
      res = await this.#errorToResponse(error, req);
    }
    await writeResponse(res, send, scope.method === 'HEAD', this.#log);
  }

  #runMiddleware(req: Request, i: number): Promise<Response> {
    const middleware = this.middleware[i];
    if (middleware === undefined) return this.#dispatch(req);
    return middleware(req, () => this.#runMiddleware(req, i + 1));
  }

  /** Finds who answers: a mounted app, else a route; errors become responses here, so middleware sees them. */
  async #dispatch(req: Request): Promise<Response> {
    try {
      const path = ownPath(req.scope);
      const mount = this.#mounts.find((m) => path === m.prefix || path.startsWith(m.prefix + '/'));
      if (mount !== undefined) {
        const scope: HttpScope = { ...req.scope, root_path: req.scope.root_path + mount.prefix };
        return await callMounted(mount.app, scope, req.receive);
      }
      const found = this.http.match(req.method, path);
      if (found.kind === 'not-found') throw new HttpError(404);
      if (found.kind === 'method-not-allowed') throw new HttpError(405, undefined, { allow: found.allowed.join(', ') });
      req.params = found.params;
      return toResponse(await found.handler(req));
    } catch (error) {
      if (isClientDisconnected(error)) throw error;
      return this.#errorToResponse(error, req);
    }
  }

  /** The registered handler for an error, else the default: an HttpError's own status, or a logged 500. */
  async #errorToResponse(error: unknown, req: Request): Promise<Response> {
    const status = error instanceof HttpError ? error.status : 500;
    const entry = this.errorHandlers.find(([key]) => (typeof key === 'number' ? key === status : error instanceof key));
    // An error with a handler is expected; any other non-HttpError is a bug worth a log line.
    if (!(error instanceof HttpError) && entry === undefined) this.#log(`${req.method} ${req.path}: unhandled error`, error);
    if (entry !== undefined) {
      try {
        return toResponse(await entry[1](error, req));
      } catch (handlerError) {
        this.#log(`${req.method} ${req.path}: the error handler itself failed`, handlerError);
        return text(INTERNAL_ERROR, { status: 500 });
      }
    }
    return error instanceof HttpError ? errorResponse(error) : text(INTERNAL_ERROR, { status: 500 });
  }

  // ---- WebSocket ----------------------------------------------------------

  async #websocket(scope: WebSocketScope, receive: Receive, send: Send): Promise<void> {
    const ws = new WebSocket(scope, receive, send);
    const found = this.websocket.match('GET', ownPath(scope));
    // No route: refuse the handshake (the client gets 403, as Starlette does).
    if (found.kind !== 'found') return ws.close(1000);
    ws.params = found.params;
    try {
      await found.handler(ws);
    } catch (error) {
      if (isClientDisconnected(error) || ws.closeCode !== null) return;
      this.#log(`WebSocket ${scope.path}: unhandled error`, error);
      // 1011: the server hit an unexpected condition (before accept this is a refusal, 403).
      return ws.close(1011).catch(() => {});
    }
    await ws.close(1000).catch(() => {});
  }

  // ---- Lifespan -----------------------------------------------------------

  async #lifespan(scope: LifespanScope, receive: Receive, send: Send): Promise<void> {
    const state = scope.state ?? {};
    for (;;) {
      const event = await receive();
      if (event.type === 'lifespan.startup') {
        try {
          for (const mount of [...this.#mounts].reverse()) await mount.start?.();
          for (const hook of this.startup) await hook(state);
        } catch (error) {
          await send({ type: 'lifespan.startup.failed', message: error instanceof Error ? error.message : String(error) });
          return;
        }
        await send({ type: 'lifespan.startup.complete' });
      } else if (event.type === 'lifespan.shutdown') {
        let failure: unknown = null;
        for (const hook of [...this.shutdown].reverse()) await Promise.resolve(hook(state)).catch((e: unknown) => (failure ??= e));
        for (const mount of this.#mounts) await mount.close?.().catch((e: unknown) => (failure ??= e));
        if (failure !== null) {
          await send({ type: 'lifespan.shutdown.failed', message: failure instanceof Error ? failure.message : String(failure) });
        } else {
          await send({ type: 'lifespan.shutdown.complete' });
        }
        return;
      }
    }
  }
}

/** The path below the app's own mount point: what routes are matched against. */
function ownPath(scope: HttpScope | WebSocketScope): string {
  const { path, root_path: root } = scope;
  return root !== '' && path.startsWith(root) ? path.slice(root.length) || '/' : path;
}

const EMPTY = new Uint8Array(0);

/** Sends a Response as ASGI events; a streamed body goes chunk by chunk, each send awaited (backpressure). */
async function writeResponse(res: Response, send: Send, head: boolean, log: ErrorLogger): Promise<void> {
  const headers = headerPairs(res);
  const { body } = res;
  if (body instanceof Uint8Array) {
    const bodyless = res.status === 204 || res.status === 304 || res.status < 200;
    if (!bodyless && !res.headers.has('content-length')) headers.push(['content-length', String(body.byteLength)]);
    await send({ type: 'http.response.start', status: res.status, headers });
    await send({ type: 'http.response.body', body: head || bodyless ? EMPTY : body });
    return;
  }
  await send({ type: 'http.response.start', status: res.status, headers });
  if (!head) {
    try {
      for await (const chunk of body) await send({ type: 'http.response.body', body: chunk, more_body: true });
    } catch (error) {
      if (isClientDisconnected(error)) return;
      // The head is out: the only honest signal left is cutting the connection, which raising does.
      log('streamed response failed after it started', error);
      throw error;
    }
  } else {
    // Nobody reads a HEAD body, but a mounted producer waits for its chunks to be taken.
    for await (const _ of body);
  }
  await send({ type: 'http.response.body', body: EMPTY, more_body: false });
}
