/**
 * The options of the pool server's `serve()`, named after @tsgi/uws's (and
 * so uvicorn's flags) where they mean the same, plus gunicorn's for the
 * thread pool. Times are in seconds, sizes in bytes. Validated up front:
 * a bad value is a TypeError naming the option, never a half-started server.
 */
import { describe, parseTrustedHosts, type TrustedHosts } from '@tsgi/core';
import { LOG_LEVELS, type Logger, type LogLevel } from '../log.js';
import { DEFAULT_THREADS_PER_CORE } from '../runner/runner.js';

/** Options of the pool server's `serve()`. */
export interface PoolServeOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one; default 8000. */
  port?: number;
  /** Listen on this unix socket path instead of host/port. */
  uds?: string | null;
  /** The app's mount point (SCRIPT_NAME); '' or a path starting with '/'. */
  rootPath?: string;
  /**
   * Worker threads running the app, one request at a time each; default 8 per
   * core (`DEFAULT_THREADS_PER_CORE`), because sync apps mostly wait on I/O.
   * 0 runs the app inline on the server's thread (tests only).
   */
  threads?: number;
  /** Honor X-Forwarded-For/-Proto and Forwarded from trusted peers; default true (as uvicorn). */
  proxyHeaders?: boolean;
  /** Trusted proxies: IPs, CIDRs or '*'; default $FORWARDED_ALLOW_IPS or 127.0.0.1. */
  forwardedAllowIps?: string | string[];
  /** Largest request body accepted; past it the server answers 413. null: no limit (default). */
  limitMaxBodySize?: number | null;
  /** Requests that may wait for a free thread; past it the server answers 503. Default 1024. */
  maxQueue?: number;
  /**
   * Seconds a request may run without making progress before its worker
   * thread is terminated and replaced (504 if nothing was sent, else the
   * connection is cut). Waiting for a slow client does not count. Default 30
   * (gunicorn's --timeout); 0 disables it.
   */
  timeout?: number;
  /** Recycle a worker thread after this many requests (gunicorn's --max-requests); 0 (default) never. */
  maxRequestsPerWorker?: number;
  /** Seconds an idle keep-alive connection stays open; default 5 (uvicorn's); 0 closes after each response. */
  timeoutKeepAlive?: number;
  /** Seconds close() waits for in-flight requests before cutting them; null: wait for ever (default, as uvicorn). */
  timeoutGracefulShutdown?: number | null;
  /** One log line per response; default true. */
  accessLog?: boolean;
  /** Minimum level logged; default 'info'. */
  logLevel?: LogLevel;
  /** Replaces the console logger. */
  logger?: Logger;
}

/** Options after defaults and validation. */
export interface ResolvedPoolOptions {
  host: string;
  port: number;
  uds: string | null;
  rootPath: string;
  threads: number;
  trustedHosts: TrustedHosts | null;
  limitMaxBodySize: number | null;
  maxQueue: number;
  timeout: number;
  maxRequestsPerWorker: number;
  timeoutKeepAlive: number;
  timeoutGracefulShutdown: number | null;
  accessLog: boolean;
  logLevel: LogLevel;
}

const KNOWN = new Set<string>([
  'host', 'port', 'uds', 'rootPath', 'threads', 'proxyHeaders', 'forwardedAllowIps', 'limitMaxBodySize', 'maxQueue',
  'timeout', 'maxRequestsPerWorker', 'timeoutKeepAlive', 'timeoutGracefulShutdown', 'accessLog', 'logLevel', 'logger',
]);

/** Applies defaults and validates every option; throws a TypeError naming the option and the value. */
export function resolvePoolOptions(options: PoolServeOptions = {}, cores: number): ResolvedPoolOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`serve(): options must be an object; got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`serve(): unknown option ${JSON.stringify(key)}`);
  }
  const o = options;
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host)) fail('host', 'a host name or IP address', host);
  const port = o.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('port', 'an integer from 0 to 65535', port);
  const uds = o.uds ?? null;
  if (uds !== null && (typeof uds !== 'string' || uds === '' || uds.includes('\0'))) fail('uds', 'a unix socket path', uds);
  const rootPath = o.rootPath ?? '';
  if (typeof rootPath !== 'string' || (rootPath !== '' && !rootPath.startsWith('/')) || rootPath.endsWith('/') || /[?#]/.test(rootPath)) {
    fail('rootPath', "'' or a path starting (and not ending) with '/', without '?' or '#'", rootPath);
  }
  const threads = o.threads ?? cores * DEFAULT_THREADS_PER_CORE;
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024) fail('threads', 'an integer from 0 to 1024', threads);
  const proxyHeaders = o.proxyHeaders ?? true;
  if (typeof proxyHeaders !== 'boolean') fail('proxyHeaders', 'a boolean', proxyHeaders);
  const allow = o.forwardedAllowIps ?? process.env.FORWARDED_ALLOW_IPS ?? '127.0.0.1';
  if (typeof allow !== 'string' && !(Array.isArray(allow) && allow.every((s) => typeof s === 'string'))) {
    fail('forwardedAllowIps', 'a string or an array of strings', allow);
  }
  const trusted = parseTrustedHosts(allow);
  const limitMaxBodySize = o.limitMaxBodySize ?? null;
  if (limitMaxBodySize !== null && !(Number.isSafeInteger(limitMaxBodySize) && limitMaxBodySize >= 0)) {
    fail('limitMaxBodySize', 'null or a non-negative integer (bytes)', limitMaxBodySize);
  }
  const maxQueue = o.maxQueue ?? 1024;
  if (!Number.isInteger(maxQueue) || maxQueue < 0) fail('maxQueue', 'a non-negative integer', maxQueue);
  const timeout = o.timeout ?? 30;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) fail('timeout', 'a non-negative number of seconds', timeout);
  const maxRequestsPerWorker = o.maxRequestsPerWorker ?? 0;
  if (!Number.isInteger(maxRequestsPerWorker) || maxRequestsPerWorker < 0) fail('maxRequestsPerWorker', 'a non-negative integer', maxRequestsPerWorker);
  const timeoutKeepAlive = o.timeoutKeepAlive ?? 5;
  if (typeof timeoutKeepAlive !== 'number' || !Number.isFinite(timeoutKeepAlive) || timeoutKeepAlive < 0) {
    fail('timeoutKeepAlive', 'a non-negative number of seconds', timeoutKeepAlive);
  }
  const timeoutGracefulShutdown = o.timeoutGracefulShutdown ?? null;
  if (timeoutGracefulShutdown !== null && !(typeof timeoutGracefulShutdown === 'number' && timeoutGracefulShutdown >= 0 && Number.isFinite(timeoutGracefulShutdown))) {
    fail('timeoutGracefulShutdown', 'null or a non-negative number of seconds', timeoutGracefulShutdown);
  }
  const accessLog = o.accessLog ?? true;
  if (typeof accessLog !== 'boolean') fail('accessLog', 'a boolean', accessLog);
  const logLevel = o.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly unknown[]).includes(logLevel)) fail('logLevel', LOG_LEVELS.join(', '), logLevel);
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.error !== 'function')) {
    fail('logger', 'a Logger object', o.logger);
  }
  return {
    host, port, uds, rootPath, threads, trustedHosts: proxyHeaders ? trusted : null, limitMaxBodySize, maxQueue, timeout,
    maxRequestsPerWorker, timeoutKeepAlive, timeoutGracefulShutdown, accessLog, logLevel,
  };
}

function fail(name: string, what: string, value: unknown): never {
  throw new TypeError(`serve(): option '${name}' must be ${what}; got ${describe(value)}`);
}
