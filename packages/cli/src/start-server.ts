/**
 * Wiring: given a loaded app, its interface and the validated flags, start the
 * right server. ASGI-TS apps run on @tsgi/uws (or @tsgi/node); WSGI-TS apps
 * on @tsgi/pool (or on an event-loop server through the bridge's
 * wsgiToAsgi); fetch handlers on an event-loop server through the bridge's
 * fromFetchHandler.
 */
import type { AsgiApplication, ModuleRef, ServerHandle } from '@tsgi/core';
import { countRequests, OptionError, type Logger } from '@tsgi/core/server';
import { configureSyncToAsync, fromFetchHandler, wsgiToAsgi, type FetchHandler, type FetchHandlerObject } from '@tsgi/bridge';
import { serve as serveNode, type ServeOptions as NodeOptions } from '@tsgi/node';
import { serve as servePool, type PoolServeOptions } from '@tsgi/pool';
import { canSharePort, loadBinding, serve as serveUws, type ServeOptions as UwsOptions } from '@tsgi/uws';
import { CliError } from './errors.js';
import type { AppInterface } from './detect-interface.js';
import { flagOfOption, type ServeConfig, type ServerChoice, type TlsFlags } from './options.js';

/** What the CLI starts: the app (loaded value), how to reach it from other threads, and how to serve it. */
export interface StartRequest {
  value: unknown;
  ref: ModuleRef;
  iface: AppInterface;
  server: ServerChoice;
  config: ServeConfig;
  /** Called once per request or connection the app has finished (for --limit-max-requests). */
  onRequest?: () => void;
  /** Where a setting that is ignored is reported (one line, without a level prefix). */
  warn?: (line: string) => void;
  /** The servers' logger (level, colors and format of the flags); default: theirs. */
  logger?: Logger;
}

/** The options every server takes from the flags the same way: logging and the response headers. */
function commonOptions(config: ServeConfig, logger: Logger | undefined) {
  return {
    host: config.host,
    port: config.port,
    rootPath: config.rootPath,
    proxyHeaders: config.proxyHeaders,
    forwardedAllowIps: config.forwardedAllowIps,
    accessLog: config.accessLog,
    logLevel: config.logLevel,
    // Also for the worker threads of --workers, which cannot be handed the logger.
    logFormat: config.logFormat,
    useColors: config.useColors ?? null,
    headers: config.header,
    serverHeader: config.serverHeader,
    dateHeader: config.dateHeader,
    ...(config.h11MaxIncompleteEventSize === undefined ? {} : { h11MaxIncompleteEventSize: config.h11MaxIncompleteEventSize }),
    ...(config.backlog === undefined ? {} : { backlog: config.backlog }),
    ...(config.fd === undefined ? {} : { fd: config.fd }),
    ...tlsOptions(config),
    ...(logger === undefined ? {} : { logger }),
  };
}

/** The --ssl-* flags given, as serve() options (serve() reads and checks the files, naming the option its flag maps to). */
function tlsOptions(config: ServeConfig): Partial<TlsFlags> {
  const { sslKeyfile, sslCertfile, sslKeyfilePassword, sslCaCerts, sslCertReqs, sslCiphers } = config;
  const given = Object.entries({ sslKeyfile, sslCertfile, sslKeyfilePassword, sslCaCerts, sslCiphers }).filter(([, v]) => v !== undefined);
  return { ...Object.fromEntries(given), ...(sslCertReqs !== 0 ? { sslCertReqs } : {}) };
}

/** The uvicorn-style flags as the options of an event-loop server; flags left at their default are left to the server. */
function asgiOptions(config: ServeConfig, logger?: Logger): UwsOptions & NodeOptions {
  const options: UwsOptions & NodeOptions = {
    ...commonOptions(config, config.workers > 1 ? undefined : logger),
    wsMaxSize: config.wsMaxSize,
    wsPingInterval: config.wsPingInterval,
    wsPingTimeout: config.wsPingTimeout,
    lifespan: config.lifespan,
    workers: config.workers,
    ...workerOptions(config),
  };
  if (config.uds !== undefined) options.uds = config.uds;
  if (config.limitConcurrency !== undefined) options.limitConcurrency = config.limitConcurrency;
  if (config.timeoutKeepAlive !== undefined) options.timeoutKeepAlive = config.timeoutKeepAlive;
  if (config.timeoutGracefulShutdown !== undefined) options.timeoutGracefulShutdown = config.timeoutGracefulShutdown;
  return options;
}

/** With workers > 1: the request limit of each worker and the heartbeat timeout (a single server has neither). */
function workerOptions(config: ServeConfig): { limitMaxRequests?: number; timeoutWorkerHealthcheck?: number } {
  if (config.workers === 1) return {};
  return { timeoutWorkerHealthcheck: config.timeoutWorkerHealthcheck, ...(config.limitMaxRequests === undefined ? {} : { limitMaxRequests: config.limitMaxRequests }) };
}

/** The uvicorn-style flags as @tsgi/node options. */
function nodeOptions(config: ServeConfig, logger?: Logger): NodeOptions {
  const options: NodeOptions = { ...asgiOptions(config, logger), wsPerMessageDeflate: config.wsPerMessageDeflate };
  if (config.wsMaxQueue !== undefined) options.wsMaxQueue = config.wsMaxQueue;
  if (config.http2 !== undefined) options.http2 = config.http2;
  if (config.h2MaxConcurrentStreams !== undefined) options.h2MaxConcurrentStreams = config.h2MaxConcurrentStreams;
  if (config.h2MaxHeaderListSize !== undefined) options.h2MaxHeaderListSize = config.h2MaxHeaderListSize;
  return options;
}

/** The uvicorn-style flags as @tsgi/pool options. */
function poolOptions(config: ServeConfig, logger?: Logger): PoolServeOptions {
  const options: PoolServeOptions = { ...commonOptions(config, logger), ...workerOptions(config) };
  if (config.uds !== undefined) options.uds = config.uds;
  if (config.threads !== undefined) options.threads = config.threads;
  if (config.workers !== 1) options.workers = config.workers;
  if (config.timeoutKeepAlive !== undefined) options.timeoutKeepAlive = config.timeoutKeepAlive;
  if (config.timeoutGracefulShutdown !== undefined) options.timeoutGracefulShutdown = config.timeoutGracefulShutdown;
  return options;
}

/**
 * serve() refuses options it cannot honor (an OptionError) before binding anything: that is a usage
 * error, reported under the flag (or variable) the user set rather than the option's name in code.
 */
async function serveOrExplain(config: ServeConfig, start: () => Promise<ServerHandle>): Promise<ServerHandle> {
  try {
    return await start();
  } catch (e) {
    if (e instanceof OptionError) throw new CliError(inCliTerms(e, config));
    throw e;
  }
}

/** `option 'timeoutKeepAlive' must be …; got number 5` as `--timeout-keep-alive must be …; got 5`. */
function inCliTerms(e: OptionError, config: ServeConfig): string {
  const setBy = e.option === 'workers' && config.workersFrom === 'WEB_CONCURRENCY' ? 'WEB_CONCURRENCY' : flagOfOption(e.option);
  if (setBy === undefined) return e.message.replace(/^serve\(\): /, '');
  if (e.rule === null) return `${setBy}${e.predicate}`;
  // The flag's value was typed as text: show it as typed, not as a JS value.
  const typed = typeof e.value === 'number' || typeof e.value === 'string' ? String(e.value) : JSON.stringify(e.value);
  return `${setBy} must be ${e.rule}; got ${typed}`;
}

/**
 * Why `workers` > 1 cannot run for this app, server and flags, or undefined when it can. Asked only
 * for $WEB_CONCURRENCY, which is a default: an explicit --workers gets the refusals of startServer
 * and serve() instead.
 */
async function whyOneWorker(req: StartRequest): Promise<string | undefined> {
  const { config, iface, server } = req;
  if (server === 'pool') return undefined;
  if (iface === 'wsgi') return 'workers need an ASGI-TS app; a WSGI-TS app scales with --threads';
  if (iface === 'fetch') return 'workers need an ASGI-TS app; for a fetch handler run one process per core';
  if (server === 'node') return undefined;
  if (config.uds !== undefined) return 'workers cannot share a unix socket';
  if (!(await canSharePort())) {
    return `the loaded ${loadBinding().packageName} cannot share a listening port between workers (no SO_REUSEPORT; see docs/decisions.md)`;
  }
  return undefined;
}

/** The config to serve: $WEB_CONCURRENCY that cannot apply falls back to one worker, with one warning saying why. */
async function withWebConcurrency(req: StartRequest): Promise<ServeConfig> {
  const { config } = req;
  if (config.workersFrom !== 'WEB_CONCURRENCY' || config.workers === 1) return config;
  const why = await whyOneWorker(req);
  if (why === undefined) return config;
  req.warn?.(`WEB_CONCURRENCY=${config.workers} is ignored: ${why}. Serving with 1 worker.`);
  return { ...config, workers: 1 };
}

/** Starts the server for the app; rejects with a CliError for combinations that cannot run. */
export async function startServer(req: StartRequest): Promise<ServerHandle> {
  const { iface, server } = req;
  if (server === 'pool' && iface !== 'wsgi') {
    throw new CliError(`--server pool hosts WSGI-TS apps only; this is ${iface === 'asgi' ? 'an ASGI-TS app' : 'a fetch handler'}: use --server uws or --server node`);
  }
  const config = await withWebConcurrency(req);
  // --threads also sizes the threads syncToAsync calls run on, whatever the server.
  if (config.threads !== undefined) configureSyncToAsync({ threads: config.threads });
  if (!config.dateHeader && server === 'uws') {
    throw new CliError('--no-date-header cannot apply to --server uws: uWebSockets.js v20.30 writes the Date header of every response itself; use --server node or --server pool');
  }
  if (config.wsPerMessageDeflate && server !== 'node') throw new CliError('--ws-per-message-deflate applies to --server node (uWebSockets.js is run without compression)');
  if (config.wsMaxQueue !== undefined && server !== 'node') {
    throw new CliError(`--ws-max-queue ${config.wsMaxQueue} applies to --server node: uWebSockets.js cannot stop reading a WebSocket, so @tsgi/uws closes a client that outruns the app with 1008 instead`);
  }
  const http2Flags: Array<[given: string, set: boolean]> = [
    ['--http2', config.http2 === true],
    [`--h2-max-concurrent-streams ${config.h2MaxConcurrentStreams}`, config.h2MaxConcurrentStreams !== undefined],
    [`--h2-max-header-list-size ${config.h2MaxHeaderListSize}`, config.h2MaxHeaderListSize !== undefined],
  ];
  for (const [given, set] of http2Flags) {
    if (set && server !== 'node') throw new CliError(`${given} applies to --server node, the only one that serves HTTP/2; this is --server ${server}`);
  }
  if (server === 'pool') {
    // The request limit of one pool process would need the app in the command's process; each worker process counts its own.
    if (config.limitMaxRequests !== undefined && config.workers === 1) throw new CliError('--limit-max-requests is not supported by --server pool with 1 worker; use --workers 2 or more (each worker is then replaced after that many requests)');
    if (config.limitConcurrency !== undefined) throw new CliError('--limit-concurrency is not supported by --server pool (its bound is a queue of requests waiting for a thread)');
    return serveOrExplain(config, () => servePool(req.ref, poolOptions(config, req.logger)));
  }

  let app: AsgiApplication;
  if (iface === 'asgi') {
    if (config.workers > 1) {
      // Each worker (a thread on uws, a process on node) imports the app itself.
      if (server === 'node') return serveOrExplain(config, () => serveNode(req.ref, nodeOptions(config, req.logger)));
      return serveOrExplain(config, () => serveUws(req.ref, asgiOptions(config, req.logger)));
    }
    app = req.value as AsgiApplication;
  } else {
    if (config.workers > 1) throw new CliError(`--workers > 1 needs an ASGI-TS app; for a ${iface === 'wsgi' ? 'WSGI-TS app use --threads' : 'fetch handler run one process per core'}`);
    if (iface === 'wsgi') {
      app = wsgiToAsgi(req.ref, { ...(config.threads === undefined ? {} : { threads: config.threads }), ...(req.logger ? { logger: req.logger } : {}) });
    } else {
      app = fromFetchHandler(req.value as FetchHandler | FetchHandlerObject, req.logger ? { logger: req.logger } : {});
    }
  }
  if (req.onRequest) app = countRequests(app, req.onRequest);
  if (server === 'node') return serveOrExplain(config, () => serveNode(app, nodeOptions(config, req.logger)));
  return serveOrExplain(config, () => serveUws(app, asgiOptions(config, req.logger)));
}
