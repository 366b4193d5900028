/**
 * The options of the pool server's `serve()`, named after @tsgi/uws's (and
 * so uvicorn's flags) where they mean the same, plus gunicorn's for the
 * thread pool. Times are in seconds, sizes in bytes. Validated up front:
 * a bad value is a TypeError naming the option, never a half-started server.
 */
import { optionError, resolveCommonOptions, type TrustedHosts } from '@tsgi/core';
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
  const common = resolveCommonOptions(options, KNOWN, { rootPathMayEndWithSlash: false });
  const o = options;
  const threads = o.threads ?? cores * DEFAULT_THREADS_PER_CORE;
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024) optionError('threads', 'an integer from 0 to 1024', threads);
  const maxQueue = o.maxQueue ?? 1024;
  if (!Number.isInteger(maxQueue) || maxQueue < 0) optionError('maxQueue', 'a non-negative integer', maxQueue);
  const timeout = o.timeout ?? 30;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) optionError('timeout', 'a non-negative number of seconds', timeout);
  const maxRequestsPerWorker = o.maxRequestsPerWorker ?? 0;
  if (!Number.isInteger(maxRequestsPerWorker) || maxRequestsPerWorker < 0) optionError('maxRequestsPerWorker', 'a non-negative integer', maxRequestsPerWorker);
  const timeoutKeepAlive = o.timeoutKeepAlive ?? 5;
  if (typeof timeoutKeepAlive !== 'number' || !Number.isFinite(timeoutKeepAlive) || timeoutKeepAlive < 0) {
    optionError('timeoutKeepAlive', 'a non-negative number of seconds', timeoutKeepAlive);
  }
  const logLevel = o.logLevel ?? 'info';
  if (!(LOG_LEVELS as readonly unknown[]).includes(logLevel)) optionError('logLevel', LOG_LEVELS.join(', '), logLevel);
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.error !== 'function')) {
    optionError('logger', 'a Logger object', o.logger);
  }
  const { host, port, uds, rootPath, trustedHosts, limitMaxBodySize, timeoutGracefulShutdown, accessLog } = common;
  return {
    host, port, uds, rootPath, threads, trustedHosts, limitMaxBodySize, maxQueue, timeout,
    maxRequestsPerWorker, timeoutKeepAlive, timeoutGracefulShutdown, accessLog, logLevel,
  };
}

