/**
 * The options of the pool server's `serve()`: the options every tsgi server
 * takes (CommonServeOptions, uvicorn's names), plus gunicorn's for the
 * thread pool. Validated up front: a bad value is an OptionError naming the
 * option, never a half-started server.
 */
import {
  COMMON_OPTION_NAMES,
  optionError,
  resolveCommonOptions,
  resolveWorkerOptions,
  WORKER_OPTION_NAMES,
  type CommonServeOptions,
  type ResolvedCommonOptions,
  type ResolvedWorkerOptions,
  type WorkerServeOptions,
} from '@tsgi/core/server';
import { DEFAULT_THREADS_PER_CORE } from '../runner/runner.js';

/** Options of the pool server's `serve()`. Times are in seconds. */
export interface PoolServeOptions extends CommonServeOptions, WorkerServeOptions {
  /**
   * Worker threads running the app, one request at a time each; default 8 per
   * core (`DEFAULT_THREADS_PER_CORE`), because sync apps mostly wait on I/O.
   * 0 runs the app inline on the server's thread (tests only).
   */
  threads?: number;
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
  /**
   * Server processes (gunicorn's --workers), each with its own `threads`,
   * sharing the listening socket; default 1. More than 1 runs them as
   * worker processes (node:cluster); a dead one is replaced.
   */
  workers?: number;
}

/** Options after defaults and validation. */
export interface ResolvedPoolOptions extends ResolvedCommonOptions, ResolvedWorkerOptions {
  threads: number;
  maxQueue: number;
  timeout: number;
  maxRequestsPerWorker: number;
  workers: number;
}

const KNOWN = new Set<string>([...COMMON_OPTION_NAMES, 'threads', 'maxQueue', 'timeout', 'maxRequestsPerWorker', 'workers', ...WORKER_OPTION_NAMES]);

/** Applies defaults and validates every option; throws an OptionError naming the option and the value. */
export function resolvePoolOptions(options: PoolServeOptions, cores: number): ResolvedPoolOptions {
  const common = resolveCommonOptions(options, KNOWN, { keepAliveDefault: 5 });
  const threads = options.threads ?? cores * DEFAULT_THREADS_PER_CORE;
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024) optionError('threads', 'an integer from 0 to 1024', threads);
  const maxQueue = options.maxQueue ?? 1024;
  if (!Number.isInteger(maxQueue) || maxQueue < 0) optionError('maxQueue', 'a non-negative integer', maxQueue);
  const timeout = options.timeout ?? 30;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) optionError('timeout', 'a non-negative number of seconds', timeout);
  const maxRequestsPerWorker = options.maxRequestsPerWorker ?? 0;
  if (!Number.isInteger(maxRequestsPerWorker) || maxRequestsPerWorker < 0) optionError('maxRequestsPerWorker', 'a non-negative integer', maxRequestsPerWorker);
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) optionError('workers', 'an integer from 1 to 256', workers);
  return { ...common, threads, maxQueue, timeout, maxRequestsPerWorker, workers, ...resolveWorkerOptions(options, workers, common.fd) };
}
