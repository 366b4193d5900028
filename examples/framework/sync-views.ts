/**
 * Sync views: handlers that may block (a synchronous database driver, CPU
 * work, a blocking library), like Flask's and Starlette's `def` views. They
 * run on worker threads, never on the event loop.
 *
 * A function cannot cross a thread boundary, so sync
 * views live in their own module, which exports the table built here:
 *
 *   // notes.ts: imported by each worker thread, never by the event loop's thread
 *   export const views = syncViews();
 *   views.get('/', (req) => db().prepare('select * from notes').all());
 *
 *   // app.ts
 *   app.mountSync('/api/notes', { module: new URL('./notes.ts', import.meta.url).href, exportName: 'views' });
 *
 * The table is itself a WSGI-TS application (PEP 3333's callable): @tsgi/bridge's
 * wsgiToAsgi loads it on its threads and streams both ways. It routes on
 * PATH_INFO, that is the path below the mount prefix.
 */
import type { StartResponse, WsgiApplication, WsgiEnviron, WsgiResponse } from '@tsgi/core';
import { DEFAULT_MAX_BODY, SyncRequest } from './request.js';
import { errorResponse, headerPairs, HttpError, STATUS_TEXT, text, toResponse, type HandlerResult, type Response } from './response.js';
import { Router } from './routing.js';

/** A sync view: may block its worker thread; must return (not a Promise). */
export type SyncHandler = (req: SyncRequest) => HandlerResult;
/** Turns an error raised by a sync view into a response. */
export type SyncErrorHandler = (error: unknown, req: SyncRequest) => HandlerResult;

// Error classes are matched with instanceof, in the order they were registered.
type ErrorClass = abstract new (...args: never[]) => unknown;

/** Options of syncViews. */
export interface SyncViewsOptions {
  /** Largest body `req.text()`/`req.json()` accept (413 beyond); default 1 MiB. */
  maxBodySize?: number;
}

/** A table of sync views; it is a WSGI-TS application, so it can also be served alone (`tsgi serve notes.ts:views`). */
export interface SyncViews extends WsgiApplication {
  get(pattern: string, handler: SyncHandler): SyncViews;
  post(pattern: string, handler: SyncHandler): SyncViews;
  put(pattern: string, handler: SyncHandler): SyncViews;
  patch(pattern: string, handler: SyncHandler): SyncViews;
  delete(pattern: string, handler: SyncHandler): SyncViews;
  route(methods: string | string[], pattern: string, handler: SyncHandler): SyncViews;
  onError(key: number | ErrorClass, handler: SyncErrorHandler): SyncViews;
  readonly routes: ReadonlyArray<{ method: string; pattern: string }>;
}

/** Creates a table of sync views; export it from a module of its own and mount it with app.mountSync. */
export function syncViews(options: SyncViewsOptions = {}): SyncViews {
  const router = new Router<SyncHandler>();
  const errorHandlers: Array<[number | ErrorClass, SyncErrorHandler]> = [];
  const maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY;

  const answer = (req: SyncRequest, log: (message: string) => void): Response => {
    try {
      const found = router.match(req.method, req.pathInfo || '/');
      if (found.kind === 'not-found') throw new HttpError(404);
      if (found.kind === 'method-not-allowed') throw new HttpError(405, undefined, { allow: found.allowed.join(', ') });
      req.params = found.params;
      const result = found.handler(req);
      if (isThenable(result)) throw new TypeError(`sync view for ${req.method} ${req.path} returned a Promise: declare async views with app.get()/app.post() instead`);
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
  Object.assign(views, {
    get: (p: string, h: SyncHandler) => chain(() => router.add('GET', p, h)),
    post: (p: string, h: SyncHandler) => chain(() => router.add('POST', p, h)),
    put: (p: string, h: SyncHandler) => chain(() => router.add('PUT', p, h)),
    patch: (p: string, h: SyncHandler) => chain(() => router.add('PATCH', p, h)),
    delete: (p: string, h: SyncHandler) => chain(() => router.add('DELETE', p, h)),
    route: (methods: string | string[], p: string, h: SyncHandler) => chain(() => [methods].flat().forEach((m) => router.add(m, p, h))),
    onError: (key: number | ErrorClass, h: SyncErrorHandler) => chain(() => errorHandlers.push([key, h])),
  });
  Object.defineProperty(views, 'routes', { get: () => router.routes });
  return views;
}

function isThenable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}
