/**
 * Sync views: handlers that may block (a synchronous database driver, CPU
 * work, a blocking library), like Flask's and Starlette's `def` views. They
 * run on worker threads, never on the event loop.
 *
 * A function cannot cross a thread boundary, so sync
 * views live in their own module, which exports the table built here:
 *
 *   // notes.ts: imported by each worker thread
 *   export const views = syncViews({ module: import.meta.url, exportName: 'views' });
 *   views.get('/', (req) => db().prepare('select * from notes').all());
 *   views.get('/quote', async (req) => (await fetch(url)).json()); // Flask 2's async view
 *
 *   // app.ts
 *   app.mountSync('/api/notes', { module: new URL('./notes.ts', import.meta.url).href, exportName: 'views' });
 *
 * The table is itself a WSGI-TS application (PEP 3333's callable): @tsgi/bridge's
 * wsgiToAsgi loads it on its threads and streams both ways. It routes on
 * PATH_INFO, that is the path below the mount prefix.
 *
 * An async view in the table is Flask's model (Flask 2 runs `async def`
 * views through asgiref's async_to_sync): its worker thread blocks while
 * the view runs on the event loop's thread, through @tsgi/bridge's
 * asyncToSync. That thread finds the view by importing the table's module
 * (the `module` and `exportName` given to syncViews) and taking the view
 * declared at the same place; the request crosses as data (its environ's
 * plain values and its body, read first), the response comes back as data.
 */
import { asyncToSync } from '@tsgi/bridge';
import { createWsgiInput, memorySource, type StartResponse, type WsgiApplication, type WsgiEnviron, type WsgiResponse } from '@tsgi/core';
import { DEFAULT_MAX_BODY, SyncRequest } from './request.js';
import { errorResponse, headerPairs, HttpError, Response, STATUS_TEXT, text, toResponse, type HandlerResult } from './response.js';
import { Router } from './routing.js';

/** A sync view: may block its worker thread; must return (not a Promise). */
export type SyncHandler = (req: SyncRequest) => HandlerResult;
/** An async view in a sync table (`async (req) => …`): runs on the event loop's thread while its worker thread waits. */
export type AsyncViewHandler = (req: SyncRequest) => Promise<HandlerResult>;
/** Turns an error raised by a sync view into a response. */
export type SyncErrorHandler = (error: unknown, req: SyncRequest) => HandlerResult;

// Error classes are matched with instanceof, in the order they were registered.
type ErrorClass = abstract new (...args: never[]) => unknown;

/** Options of syncViews. */
export interface SyncViewsOptions {
  /** Largest body `req.text()`/`req.json()` accept (413 beyond); default 1 MiB. */
  maxBodySize?: number;
  /** `import.meta.url` of the module that exports this table: the event loop's thread imports it to run the table's async views. */
  module?: string;
  /** The name of the table's export in that module; default `views`. */
  exportName?: string;
}

/** A table of sync views; it is a WSGI-TS application, so it can also be served alone (`tsgi serve notes.ts:views`). */
export interface SyncViews extends WsgiApplication {
  get(pattern: string, handler: SyncHandler | AsyncViewHandler): SyncViews;
  post(pattern: string, handler: SyncHandler | AsyncViewHandler): SyncViews;
  put(pattern: string, handler: SyncHandler | AsyncViewHandler): SyncViews;
  patch(pattern: string, handler: SyncHandler | AsyncViewHandler): SyncViews;
  delete(pattern: string, handler: SyncHandler | AsyncViewHandler): SyncViews;
  route(methods: string | string[], pattern: string, handler: SyncHandler | AsyncViewHandler): SyncViews;
  onError(key: number | ErrorClass, handler: SyncErrorHandler): SyncViews;
  readonly routes: ReadonlyArray<{ method: string; pattern: string }>;
  /** The table's async views, in the order declared (what serveAsyncView runs on the event loop's thread). */
  readonly asyncViews: readonly AsyncViewHandler[];
}

/** Creates a table of sync views; export it from a module of its own and mount it with app.mountSync. */
export function syncViews(options: SyncViewsOptions = {}): SyncViews {
  const router = new Router<SyncHandler>();
  const errorHandlers: Array<[number | ErrorClass, SyncErrorHandler]> = [];
  const maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY;
  const asyncViews: AsyncViewHandler[] = [];
  const location = options.module === undefined ? null : { module: options.module, exportName: options.exportName ?? 'views', maxBody };

  /** In the router, an async view is a sync one that hands the request to the event loop's thread and waits. */
  const add = (method: string, pattern: string, handler: SyncHandler | AsyncViewHandler): void => {
    if (!isAsyncFunction(handler)) return router.add(method, pattern, handler as SyncHandler);
    if (location === null) {
      throw new TypeError(
        `async view for ${method} ${pattern}: the event loop's thread runs it and must find it, so create the table with syncViews({ module: import.meta.url, exportName: '<its export>' })`,
      );
    }
    const index = asyncViews.push(handler as AsyncViewHandler) - 1;
    router.add(method, pattern, (req) => runOnLoop(location, index, req));
  };

  const answer = (req: SyncRequest, log: (message: string) => void): Response => {
    try {
      const found = router.match(req.method, req.pathInfo || '/');
      if (found.kind === 'not-found') throw new HttpError(404);
      if (found.kind === 'method-not-allowed') throw new HttpError(405, undefined, { allow: found.allowed.join(', ') });
      req.params = found.params;
      const result = found.handler(req);
      if (isThenable(result)) throw new TypeError(`sync view for ${req.method} ${req.path} returned a Promise without being an async function: declare it \`async (req) => …\` to run it on the event loop`);
      return toResponse(result);
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const entry = errorHandlers.find(([key]) => (typeof key === 'number' ? key === status : error instanceof key));
      // An error with a handler is expected; any other non-HttpError is a bug worth a log line.
      if (!(error instanceof HttpError) && entry === undefined) log(`${req.method} ${req.path}: unhandled error: ${describeError(error)}`);
      if (entry !== undefined) {
        try {
          return toResponse(entry[1](error, req));
        } catch (handlerError) {
          log(`${req.method} ${req.path}: the error handler itself failed: ${describeError(handlerError)}`);
        }
      }
      return error instanceof HttpError ? errorResponse(error) : text('Internal Server Error\n', { status: 500 });
    }
  };

  const views = function syncViewsApp(environ: WsgiEnviron, startResponse: StartResponse): WsgiResponse {
    const req = new SyncRequest(environ, maxBody);
    // PEP 3333: errors go to wsgi.errors, which the server logs.
    const log = (message: string) => environ['wsgi.errors'].write(message + '\n');
    let res = answer(req, log);
    if (!(res.body instanceof Uint8Array)) {
      log(`${req.method} ${req.path}: a sync view must answer with a byte body, not a stream`);
      res = text('Internal Server Error\n', { status: 500 });
    }
    const body = res.body as Uint8Array;
    const headers = headerPairs(res);
    const bodyless = res.status === 204 || res.status === 304 || res.status < 200;
    if (!bodyless && !res.headers.has('content-length')) headers.push(['content-length', String(body.byteLength)]);
    startResponse(`${res.status} ${STATUS_TEXT[res.status] ?? 'Unknown'}`, headers);
    return req.method === 'HEAD' || bodyless ? [] : [body];
  } as SyncViews;

  const chain = (fn: () => void): SyncViews => {
    fn();
    return views;
  };
  type Handler = SyncHandler | AsyncViewHandler;
  Object.assign(views, {
    get: (p: string, h: Handler) => chain(() => add('GET', p, h)),
    post: (p: string, h: Handler) => chain(() => add('POST', p, h)),
    put: (p: string, h: Handler) => chain(() => add('PUT', p, h)),
    patch: (p: string, h: Handler) => chain(() => add('PATCH', p, h)),
    delete: (p: string, h: Handler) => chain(() => add('DELETE', p, h)),
    route: (methods: string | string[], p: string, h: Handler) => chain(() => [methods].flat().forEach((m) => add(m, p, h))),
    onError: (key: number | ErrorClass, h: SyncErrorHandler) => chain(() => errorHandlers.push([key, h])),
  });
  Object.defineProperty(views, 'routes', { get: () => router.routes });
  Object.defineProperty(views, 'asyncViews', { get: () => asyncViews });
  return views;
}

/** Where the event loop's thread finds a table, and its body limit. */
interface TableLocation {
  module: string;
  exportName: string;
  maxBody: number;
}

/** A request as it crosses to the event loop's thread: the environ's plain values, the body already read, the route's params. */
interface RequestData {
  environ: Record<string, unknown>;
  body: Uint8Array | null;
  params: Record<string, string>;
}

/** A response as it crosses back, or the HttpError the view raised. */
type ResponseData =
  | { kind: 'response'; status: number; headers: Array<[string, string]>; body: Uint8Array }
  | { kind: 'http-error'; status: number; message: string; headers: Array<[string, string]> };

const serveOnLoop = asyncToSync<typeof serveAsyncView>(import.meta.url, 'serveAsyncView');

/** On the worker thread: sends the request to the event loop's thread, waits, and rebuilds what the view answered. */
function runOnLoop(location: TableLocation, index: number, req: SyncRequest): Response {
  const environ: Record<string, unknown> = {};
  // wsgi.input, wsgi.errors and wsgi.file_wrapper are this thread's objects; the rest is plain data.
  for (const [key, value] of Object.entries(req.environ)) {
    if (typeof value === 'function' || (typeof value === 'object' && value !== null && !Array.isArray(value))) continue;
    environ[key] = value;
  }
  const hasBody = Number(req.environ.CONTENT_LENGTH || '0') > 0 || req.environ['HTTP_TRANSFER_ENCODING'] !== undefined;
  const out = serveOnLoop(location, index, { environ, body: hasBody ? req.body() : null, params: req.params });
  if (out.kind === 'http-error') throw new HttpError(out.status, out.message, out.headers);
  return new Response(out.body, { status: out.status, headers: out.headers });
}

/**
 * On the event loop's thread (called through asyncToSync): imports the
 * table, runs its async view number `index` with the request rebuilt, and
 * answers the response as data. An HttpError comes back as one; any other
 * error is thrown to the worker, where the table's error handling takes it.
 */
export async function serveAsyncView(location: TableLocation, index: number, data: RequestData): Promise<ResponseData> {
  const mod = (await import(location.module)) as Record<string, unknown>;
  const table = mod[location.exportName] as SyncViews | undefined;
  const view = table?.asyncViews?.[index];
  if (view === undefined) throw new Error(`no async view #${index} in export "${location.exportName}" of ${location.module}: is it the sync view table?`);
  const body = data.body ?? new Uint8Array(0);
  const environ = {
    ...data.environ,
    'wsgi.input': createWsgiInput(memorySource(data.body === null ? [] : [body]), body.byteLength),
    // What an async view writes to wsgi.errors goes to this thread's stderr.
    'wsgi.errors': {
      write: (s: string) => void process.stderr.write(s),
      writelines: (lines: Iterable<string>) => void process.stderr.write([...lines].join('')),
      flush: () => {},
    },
  } as unknown as WsgiEnviron;
  const req = new SyncRequest(environ, location.maxBody);
  req.params = data.params;
  try {
    const res = toResponse(await view(req));
    if (!(res.body instanceof Uint8Array)) throw new TypeError(`async view #${index} of ${location.module}: a view of a sync table must answer with a byte body, not a stream`);
    return { kind: 'response', status: res.status, headers: headerPairs(res), body: res.body };
  } catch (error) {
    if (error instanceof HttpError) return { kind: 'http-error', status: error.status, message: error.message, headers: [...new Headers(error.headers)] };
    throw error;
  }
}

/** `async function` (and async arrows): what the table runs on the event loop; detected when declared, since calling it on the worker would start it there. */
function isAsyncFunction(fn: unknown): boolean {
  return Object.prototype.toString.call(fn) === '[object AsyncFunction]';
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}
