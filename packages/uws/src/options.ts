/**
 * The options of `serve()`, named and defaulted as uvicorn's flags, each
 * validated here in JavaScript before anything reaches native code (a bad
 * value handed to uWebSockets.js can abort the process).
 */
import { optionError, resolveCommonOptions, type TrustedHosts } from '@tsgi/core';
import { LOG_LEVELS, type Logger, type LogLevel } from './logger.js';

/** uvicorn's --lifespan: `auto` runs it and tolerates an app that does not speak it. */
export type LifespanMode = 'auto' | 'on' | 'off';

/** Options of `serve()`. Times are in seconds, sizes in bytes. */
export interface ServeOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one; default 8000. */
  port?: number;
  /** Listen on this unix socket path instead of host/port. */
  uds?: string;
  /** The app's mount point (ASGI root_path); '' or a path starting and not ending with '/' (asgi.http.scope.9). */
  rootPath?: string;
  /** Honor X-Forwarded-For/-Proto and Forwarded from trusted peers; default true (as uvicorn). */
  proxyHeaders?: boolean;
  /** Trusted proxies: IPs, CIDRs or '*'; default $FORWARDED_ALLOW_IPS or 127.0.0.1. */
  forwardedAllowIps?: string | string[];
  /** Largest request body accepted; past it the server answers 413. null: no limit (default). */
  limitMaxBodySize?: number | null;
  /** Most requests and WebSockets in flight at once; past it the server answers 503. null: no limit. */
  limitConcurrency?: number | null;
  /**
   * Seconds an idle keep-alive connection stays open. uWebSockets.js v20.30
   * closes idle HTTP connections after a fixed 10 s, so only 10 (default) and
   * 0 (no keep-alive: every response closes its connection) can be honored.
   */
  timeoutKeepAlive?: number;
  /** Seconds close() waits for in-flight requests before closing them; null: wait for ever (default, as uvicorn). */
  timeoutGracefulShutdown?: number | null;
  /** One log line per response; default true. */
  accessLog?: boolean;
  /** Lifespan protocol: 'auto' (default), 'on' or 'off'. */
  lifespan?: LifespanMode;
  /** Largest incoming WebSocket message; default 16 MiB (uvicorn's 16777216). */
  wsMaxSize?: number;
  /** Seconds between server pings on an idle WebSocket; null or 0 disables; default 20. */
  wsPingInterval?: number | null;
  /** Seconds to wait for the pong before closing; null or 0 disables; default 20. */
  wsPingTimeout?: number | null;
  /** Event loops on worker threads, each importing the app (needs a ModuleRef); default 1 (the calling thread). */
  workers?: number;
  /** Minimum level logged; default 'info'. */
  logLevel?: LogLevel;
  /** Replaces the console logger. */
  logger?: Logger;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  host: string;
  port: number;
  uds: string | null;
  rootPath: string;
  proxyHeaders: boolean;
  /** Parsed forwardedAllowIps; null when proxyHeaders is off. */
  trustedHosts: TrustedHosts | null;
  forwardedAllowIps: string[];
  limitMaxBodySize: number | null;
  limitConcurrency: number | null;
  timeoutKeepAlive: number;
  timeoutGracefulShutdown: number | null;
  accessLog: boolean;
  lifespan: LifespanMode;
  wsMaxSize: number;
  wsPingInterval: number | null;
  wsPingTimeout: number | null;
  workers: number;
  logLevel: LogLevel;
}

const KNOWN = new Set<string>([
  'host', 'port', 'uds', 'rootPath', 'proxyHeaders', 'forwardedAllowIps', 'limitMaxBodySize', 'limitConcurrency',
  'timeoutKeepAlive', 'timeoutGracefulShutdown', 'accessLog', 'lifespan', 'wsMaxSize', 'wsPingInterval',
  'wsPingTimeout', 'workers', 'logLevel', 'logger',
]);

/** Largest WebSocket message uWebSockets.js takes (its maxPayloadLength is a 32-bit int). */
export const MAX_WS_MAX_SIZE = 2 ** 31 - 1;

/** Applies defaults and validates every option; throws a TypeError or RangeError naming the option and value. */
export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  // A trailing '/' would reach a bridged WSGI app as SCRIPT_NAME '/app/' (wsgi.environ.path.1) and double the
  // slash in path ('/app//x'; uvicorn passes it on that way): refused, with the pool's words.
  const common = resolveCommonOptions(options, KNOWN, { rootPathMayEndWithSlash: false });
  const o = options;
  const allow = common.forwardedAllowIps;
  const forwardedAllowIps = (typeof allow === 'string' ? [allow] : allow).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const limitConcurrency = o.limitConcurrency ?? null;
  if (limitConcurrency !== null && !(Number.isSafeInteger(limitConcurrency) && limitConcurrency >= 1)) {
    optionError('limitConcurrency', 'null or a positive integer', limitConcurrency);
  }
  const timeoutKeepAlive = o.timeoutKeepAlive ?? 10;
  if (timeoutKeepAlive !== 0 && timeoutKeepAlive !== 10) {
    optionError('timeoutKeepAlive', '10 (uWebSockets.js v20.30 closes idle HTTP connections after a fixed 10 s) or 0 (no keep-alive)', timeoutKeepAlive);
  }
  const lifespan = o.lifespan ?? 'auto';
  if (lifespan !== 'auto' && lifespan !== 'on' && lifespan !== 'off') optionError('lifespan', "'auto', 'on' or 'off'", lifespan);
  const wsMaxSize = o.wsMaxSize ?? 16 * 1024 * 1024;
  if (!Number.isInteger(wsMaxSize) || wsMaxSize < 1 || wsMaxSize > MAX_WS_MAX_SIZE) optionError('wsMaxSize', `an integer from 1 to ${MAX_WS_MAX_SIZE}`, wsMaxSize);
  const wsPingInterval = seconds('wsPingInterval', o.wsPingInterval, 20);
  const wsPingTimeout = seconds('wsPingTimeout', o.wsPingTimeout, 20);
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) optionError('workers', 'an integer from 1 to 256', workers);
  const logLevel = o.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly unknown[]).includes(logLevel)) optionError('logLevel', LOG_LEVELS.join(', '), logLevel);
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.error !== 'function')) {
    optionError('logger', 'a Logger object', o.logger);
  }
  const { host, port, uds, rootPath, proxyHeaders, trustedHosts, limitMaxBodySize, timeoutGracefulShutdown, accessLog } = common;
  return {
    host, port, uds, rootPath, proxyHeaders, trustedHosts, forwardedAllowIps,
    limitMaxBodySize, limitConcurrency, timeoutKeepAlive, timeoutGracefulShutdown, accessLog, lifespan,
    wsMaxSize, wsPingInterval, wsPingTimeout, workers, logLevel,
  };
}

// WebSocket ping times (JS timers): null/0 disable; otherwise at most what setTimeout can wait (2^31 - 1 ms).
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);
function seconds(name: string, v: number | null | undefined, dflt: number): number | null {
  if (v === undefined) return dflt;
  if (v === null || v === 0) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIMER_S) {
    optionError(name, `null, 0, or a positive number of seconds up to ${MAX_TIMER_S}`, v);
  }
  return v;
}

