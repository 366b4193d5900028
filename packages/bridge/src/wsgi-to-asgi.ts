/**
 * wsgiToAsgi: a WSGI-TS app (loaded by module path, since each worker thread
 * imports it) as an ASGI-TS app, so an async server such as @tsgi/uws hosts
 * sync and async apps side by side. The app runs on worker threads through
 * @tsgi/pool's sync-app runner, the same implementation the pool server
 * uses; this module is only the ASGI front of it:
 *
 * - the request body is pulled from `receive()` only when the app reads
 *   `wsgi.input` (which blocks its thread until the chunk arrives);
 * - response chunks go out through `send()`, and the worker blocks once it
 *   is a credit window ahead of the client (backpressure both ways);
 * - `http.disconnect` makes the app's next write raise, and its iterable is
 *   closed;
 * - SCRIPT_NAME is the scope's root_path, PATH_INFO the rest of the path.
 *
 * Unlike asgiref's WsgiToAsgi (and uvicorn's, Starlette's, hypercorn's), the
 * body is never read whole before the app is called.
 */
import {
  describe,
  isClientDisconnected,
  type AsgiApplication,
  type HttpScope,
  type ModuleRef,
  type Receive,
  type Scope,
  type Send,
  type WsgiHeaders,
} from '@tsgi/core';
import { consoleLogger, type Logger } from '@tsgi/core/server';
import { createSyncRunner, type ResponseSink, type SyncRunner, type SyncRunnerOptions } from '@tsgi/pool';
import { hasRequestBody, InboundBody, ResponseProgress } from './inbound-body.js';
import { answerLifespan } from './lifespan.js';
import { refuseWebSocket, sendPlainAnswer } from './own-answers.js';
import { responseStart } from './response-start.js';

/** Options of wsgiToAsgi: those of the pool server that concern the app's threads, with the same names and units. */
export interface WsgiToAsgiOptions {
  /** Worker threads running the app, one request at a time each (default: 8 per core, as @tsgi/pool). 0: inline, for tests. */
  threads?: number;
  /** Requests that may wait for a free thread; beyond that the answer is 503 (default 1024). */
  maxQueue?: number;
  /** Seconds a request may run without making progress before its thread is replaced (504 or a cut response); 0 disables. Default 30. */
  timeout?: number;
  /** Recycle a worker thread after this many requests (default 0: never). */
  maxRequestsPerWorker?: number;
  /** Response bytes a worker may produce ahead of the client before it blocks (default 256 KiB). */
  creditWindow?: number;
  /** Seconds lifespan shutdown waits for requests in flight before ending the threads (default: no limit). */
  timeoutGracefulShutdown?: number | null;
  /** Where app exceptions and wsgi.errors output go (default: the console). */
  logger?: Logger;
}

/** The ASGI app wsgiToAsgi returns: an AsgiApplication that can also be closed by hosts without lifespan. */
export interface WsgiAsgiApp extends AsgiApplication {
  /** Starts the worker threads and imports the app (lifespan startup does this; the first request otherwise). */
  start(): Promise<void>;
  /** Ends the worker threads after the requests in flight (lifespan shutdown does this); later requests get 503. */
  close(graceMs?: number): Promise<void>;
}

const EMPTY = new Uint8Array(0);

/**
 * Wraps the WSGI-TS app exported by `ref` as an ASGI-TS app running it on
 * worker threads. Lifespan startup starts the threads (and fails if the app
 * cannot be imported), shutdown ends them; WebSocket connections are
 * refused (closed before accept: the server answers 403).
 */
export function wsgiToAsgi(ref: ModuleRef, options: WsgiToAsgiOptions = {}): WsgiAsgiApp {
  const runnerOptions = toRunnerOptions(options);
  const grace = options.timeoutGracefulShutdown;
  const shutdownGraceMs = grace === undefined || grace === null ? undefined : nonNegative('timeoutGracefulShutdown', grace) * 1000;
  let runner: SyncRunner | null = null;
  let starting: Promise<SyncRunner> | null = null;
  /** After shutdown the threads stay ended: a straggling request gets 503 rather than new threads. */
  let closed = false;
  let nextId = 1;

  // One runner for the app's life: created on lifespan startup or on the first request.
  const ensureRunner = (): Promise<SyncRunner> => {
    starting ??= (async () => {
      const r = createSyncRunner(ref, runnerOptions);
      try {
        await r.ready();
      } catch (e) {
        starting = null;
        await r.close(0).catch(() => {});
        throw e;
      }
      runner = r;
      return r;
    })();
    return starting;
  };

  const close = async (graceMs = shutdownGraceMs): Promise<void> => {
    closed = true;
    const r = starting === null ? null : await starting.catch(() => null);
    starting = null;
    runner = null;
    if (r !== null) await r.close(graceMs);
  };

  const app = async function wsgiApp(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'http') {
      if (closed) return sendPlainAnswer(send, 503);
      const r = runner ?? (await ensureRunner());
      return serveHttp(r, scope, receive, send, nextId++);
    }
    if (scope.type === 'lifespan') {
      return answerLifespan(receive, send, {
        startup: () => app.start(),
        shutdown: () => close(),
      });
    }
    // WSGI has no WebSockets: refuse the handshake cleanly.
    return refuseWebSocket(receive, send);
  } as WsgiAsgiApp;
  app.start = async () => {
    closed = false;
    await ensureRunner();
  };
  app.close = close;
  return app;
}

/** Checks the options up front (a typo fails at wsgiToAsgi(), not at the first request) and maps them to the runner's. */
function toRunnerOptions(o: WsgiToAsgiOptions): SyncRunnerOptions {
  const known = new Set(['threads', 'maxQueue', 'timeout', 'maxRequestsPerWorker', 'creditWindow', 'timeoutGracefulShutdown', 'logger']);
  for (const key of Object.keys(o)) if (!known.has(key)) throw new TypeError(`wsgiToAsgi(): unknown option ${JSON.stringify(key)}`);
  const out: SyncRunnerOptions = { logger: o.logger ?? consoleLogger() };
  if (o.threads !== undefined) out.threads = integer('threads', o.threads);
  if (o.maxQueue !== undefined) out.maxQueue = integer('maxQueue', o.maxQueue);
  if (o.timeout !== undefined) out.timeoutMs = nonNegative('timeout', o.timeout) * 1000;
  if (o.maxRequestsPerWorker !== undefined) out.maxRequestsPerWorker = integer('maxRequestsPerWorker', o.maxRequestsPerWorker);
  if (o.creditWindow !== undefined) out.creditWindow = integer('creditWindow', o.creditWindow);
  return out;
}

function integer(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`wsgiToAsgi(): ${name} must be a non-negative integer; got ${describe(v)}`);
  return v;
}

function nonNegative(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`wsgiToAsgi(): ${name} must be a non-negative number of seconds; got ${describe(v)}`);
  return v;
}

/** One HTTP request through the runner, with the ASGI connection as its transport. */
async function serveHttp(runner: SyncRunner, scope: HttpScope, receive: Receive, send: Send, id: number): Promise<void> {
  const progress = new ResponseProgress();
  const inbound = new InboundBody(receive, () => progress.done);
  const withBody = hasRequestBody(scope.headers);
  if (!withBody) inbound.watch();
  let failure: unknown = null;
  const sink: ResponseSink = {
    start: (status, reason, headers) => {
      progress.start(headers);
      // WSGI's status line carries the app's reason phrase; it reaches the wire where the server has a place for it.
      return send(responseStart(scope, status, lowerCaseNames(headers), reason));
    },
    body: (chunk) => {
      progress.body(chunk.byteLength);
      return send({ type: 'http.response.body', body: chunk, more_body: true });
    },
    end: () => {
      progress.finish();
      return send({ type: 'http.response.body', body: EMPTY, more_body: false });
    },
    abort: (reason) => {
      failure = reason;
    },
  };
  await runner.handle(scope, withBody ? inbound : null, sink, { signal: inbound, tag: `${scope.method} ${scope.path} #${id}` });
  // A cut response is an app error after start: raising makes the server close the connection.
  // A client that left needs no answer; the server ends the request quietly.
  if (failure !== null && !isClientDisconnected(failure) && !inbound.aborted) throw failure;
}

// ASGI header names are lower-case; WSGI apps may send any case.
function lowerCaseNames(headers: WsgiHeaders): Array<[string, string]> {
  const out: Array<[string, string]> = new Array(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    out[i] = [name.toLowerCase(), value];
  }
  return out;
}
