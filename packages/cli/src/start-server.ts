/**
 * Wiring: given a loaded app, its interface and the validated flags, start the
 * right server. ASGI-TS apps run on @tsgi/uws; WSGI-TS apps on @tsgi/pool
 * (or on @tsgi/uws through the bridge's wsgiToAsgi); fetch handlers on
 * @tsgi/uws through the bridge's fromFetchHandler.
 */
import type { AsgiApplication, ModuleRef, ServerHandle } from '@tsgi/core';
import { fromFetchHandler, wsgiToAsgi, type FetchHandler, type FetchHandlerObject } from '@tsgi/bridge';
import { serve as servePool, type PoolServeOptions } from '@tsgi/pool';
import { serve as serveUws, type ServeOptions as UwsOptions } from '@tsgi/uws';
import { CliError } from './errors.js';
import type { AppInterface } from './detect-interface.js';
import type { ServeConfig, ServerChoice } from './options.js';

/** What the CLI starts: the app (loaded value), how to reach it from other threads, and how to serve it. */
export interface StartRequest {
  value: unknown;
  ref: ModuleRef;
  iface: AppInterface;
  server: ServerChoice;
  config: ServeConfig;
  /** Called once per request or connection the app has finished (for --limit-max-requests). */
  onRequest?: () => void;
}

/** The uvicorn-style flags as @tsgi/uws options; flags left at their default are left to the server. */
function uwsOptions(config: ServeConfig): UwsOptions {
  const options: UwsOptions = {
    host: config.host,
    port: config.port,
    rootPath: config.rootPath,
    proxyHeaders: config.proxyHeaders,
    forwardedAllowIps: config.forwardedAllowIps,
    wsMaxSize: config.wsMaxSize,
    wsPingInterval: config.wsPingInterval,
    wsPingTimeout: config.wsPingTimeout,
    lifespan: config.lifespan,
    accessLog: config.accessLog,
    logLevel: config.logLevel,
    workers: config.workers,
  };
  if (config.uds !== undefined) options.uds = config.uds;
  if (config.limitConcurrency !== undefined) options.limitConcurrency = config.limitConcurrency;
  if (config.timeoutKeepAlive !== undefined) options.timeoutKeepAlive = config.timeoutKeepAlive;
  if (config.timeoutGracefulShutdown !== undefined) options.timeoutGracefulShutdown = config.timeoutGracefulShutdown;
  return options;
}

/** The uvicorn-style flags as @tsgi/pool options. */
function poolOptions(config: ServeConfig): PoolServeOptions {
  const options: PoolServeOptions = {
    host: config.host,
    port: config.port,
    rootPath: config.rootPath,
    proxyHeaders: config.proxyHeaders,
    forwardedAllowIps: config.forwardedAllowIps,
    accessLog: config.accessLog,
    logLevel: config.logLevel,
  };
  if (config.uds !== undefined) options.uds = config.uds;
  if (config.threads !== undefined) options.threads = config.threads;
  if (config.timeoutKeepAlive !== undefined) options.timeoutKeepAlive = config.timeoutKeepAlive;
  if (config.timeoutGracefulShutdown !== undefined) options.timeoutGracefulShutdown = config.timeoutGracefulShutdown;
  return options;
}

/** serve() refuses options it cannot honor ("serve(): …") before binding anything: that is a usage error. */
async function serveOrExplain(start: () => Promise<ServerHandle>): Promise<ServerHandle> {
  try {
    return await start();
  } catch (e) {
    if (e instanceof Error && /^serve\(\): /.test(e.message)) throw new CliError(e.message.replace(/^serve\(\): /, ''));
    throw e;
  }
}

/** Wraps an ASGI app so each finished http/websocket connection is counted. */
function counted(app: AsgiApplication, onRequest: () => void): AsgiApplication {
  return (scope, receive, send) => {
    const running = app(scope, receive, send);
    // Counted once the app is done with it and its last write has left this tick,
    // so shutting down never cuts the Nth response short.
    return scope.type === 'lifespan' ? running : running.finally(() => setImmediate(onRequest));
  };
}

/** Starts the server for the app; rejects with a CliError for combinations that cannot run. */
export async function startServer(req: StartRequest): Promise<ServerHandle> {
  const { config, iface, server } = req;
  if (server === 'pool' && iface !== 'wsgi') {
    throw new CliError(`--server pool hosts WSGI-TS apps only; this is ${iface === 'asgi' ? 'an ASGI-TS app' : 'a fetch handler'}: use --server uws`);
  }
  if (server === 'pool') {
    if (config.workers !== 1) throw new CliError('--workers applies to --server uws; the pool server scales with --threads');
    if (config.limitMaxRequests !== undefined) throw new CliError('--limit-max-requests is not supported by --server pool');
    if (config.limitConcurrency !== undefined) throw new CliError('--limit-concurrency is not supported by --server pool (its bound is a queue of requests waiting for a thread)');
    return serveOrExplain(() => servePool(req.ref, poolOptions(config)));
  }

  let app: AsgiApplication;
  if (iface === 'asgi') {
    if (config.workers > 1) {
      if (config.limitMaxRequests !== undefined) throw new CliError('--limit-max-requests cannot be combined with --workers > 1 yet');
      return serveOrExplain(() => serveUws(req.ref, uwsOptions(config)));
    }
    app = req.value as AsgiApplication;
  } else {
    if (config.workers > 1) throw new CliError(`--workers > 1 needs an ASGI-TS app; for a ${iface === 'wsgi' ? 'WSGI-TS app use --threads' : 'fetch handler run one process per core'}`);
    if (iface === 'wsgi') {
      app = wsgiToAsgi(req.ref, config.threads === undefined ? {} : { threads: config.threads });
    } else {
      app = fromFetchHandler(req.value as FetchHandler | FetchHandlerObject);
    }
  }
  if (req.onRequest) app = counted(app, req.onRequest);
  return serveOrExplain(() => serveUws(app, uwsOptions(config)));
}
