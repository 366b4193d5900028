/**
 * The public contract of the sync-app runner, shared by @tsgi/pool's HTTP
 * front and @tsgi/bridge's wsgiToAsgi: a scope and a request body go in,
 * a response comes out through a sink with backpressure.
 */
import type { CallResult, HttpScope, WsgiHeaders } from '@tsgi/core';
import type { Logger } from '@tsgi/core/server';

/** The request body: chunks as they arrive (backpressure: the runner pulls only when the app reads), or null for none. */
export type RequestBody = AsyncIterable<Uint8Array> | null;

/**
 * Where the response goes. Calls come in order (start, body..., then end or
 * abort), each after the previous one's promise settled. Exactly one of
 * end() and abort() ends every response that got start().
 */
export interface ResponseSink {
  /** Status line and headers (WSGI spelling: [name, value] pairs, names in any case). */
  start(status: number, reason: string, headers: WsgiHeaders): void | Promise<void>;
  /** A body chunk; the promise settles when the sink can take more (that is the backpressure). */
  body(chunk: Uint8Array): void | Promise<void>;
  /** The body is complete. */
  end(): void | Promise<void>;
  /** The response cannot be completed: close the connection so the client sees it cut (or, before start, reset it). */
  abort(reason: unknown): void;
  /**
   * Optional: the whole response at once, in place of start, body and end,
   * for a response the app completed before any of it was sent (most small
   * ones). A sink that can write it in one go saves a round of promises and
   * a write per request. Throws ClientDisconnected if the client is gone.
   */
  respond?(status: number, reason: string, headers: WsgiHeaders, body: readonly Uint8Array[]): void;
  /**
   * True when body()'s promise settles only once the sink no longer reads
   * the chunk (written to the socket, or copied). The runner then hands it
   * views of a reused shared buffer instead of a fresh copy per chunk, which
   * keeps a large download from allocating on the main thread. Default false.
   */
  readonly releasesChunks?: boolean;
}

/**
 * What tells the runner that the client went away: an AbortSignal, or any
 * object with these two members. A front that hears of disconnects itself
 * can hand a plain object: an AbortSignal per request costs more than the
 * rest of a small request's bookkeeping on the main thread.
 */
export interface ClientSignal {
  readonly aborted: boolean;
  /** Called once with the runner's listener; the signal calls it when the client goes away. */
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
}

/** Per-request options of SyncRunner.handle. */
export interface HandleOptions {
  /** Fires when the client goes away: the app's next read or write raises ClientDisconnected, then close() runs. */
  signal?: ClientSignal;
  /** Tags this request's log lines (wsgi.errors, exceptions), e.g. "GET /path #42". */
  tag?: string;
}

/** A function by where it lives, as another thread can find it: a module (file: URL or absolute path) and its export. */
export interface FunctionRef {
  module: string;
  exportName: string;
}

/** Per-call options of SyncRunner.call. */
export interface CallOptions {
  /** Fires when the caller no longer wants the result (its client went away): the function's blocking waits (asyncToSync) end with ClientDisconnected. */
  signal?: ClientSignal;
  /** How long the call may run, in ms, before its thread is terminated and replaced and the call rejects; default: the runner's timeoutMs. 0: no limit. */
  timeoutMs?: number;
  /** Names the call in errors and log lines, e.g. "syncToAsync(report.ts#build)". */
  tag?: string;
}

/** Options of createSyncRunner. */
export interface SyncRunnerOptions {
  /**
   * Worker threads running the app, one request at a time each. Default:
   * 8 per core (os.availableParallelism() * 8), since sync apps spend most of
   * their time blocked (database, files, sleeps), like gunicorn's gthread
   * advice. 0 runs the app inline on the calling thread (tests only: the
   * request body and the response are buffered whole).
   */
  threads?: number;
  /** Requests that may wait for a free thread; beyond that handle() answers 503. Default 1024. */
  maxQueue?: number;
  /**
   * The longest a request may run, in ms, without the app making progress
   * (output, or asking for input); time spent waiting for a slow client does
   * not count. Past it the worker thread is terminated and replaced; the
   * client gets a 504 if nothing was sent, else the connection is cut.
   * Default 30000 (gunicorn's timeout); 0 disables it.
   */
  timeoutMs?: number;
  /** Recycle a worker thread after it served this many requests (gunicorn's max_requests). Default 0: never. */
  maxRequestsPerWorker?: number;
  /** Response bytes a worker may produce ahead of the client before it blocks. Default 256 KiB. */
  creditWindow?: number;
  /** Where app exceptions and wsgi.errors output go. */
  logger?: Logger;
}

/** A running sync app: hand it requests. */
export interface SyncRunner {
  /** Worker threads (0 in inline mode). */
  readonly threads: number;
  /** Resolves once the app has been imported (in a worker, or inline); rejects with the import error. */
  ready(): Promise<void>;
  /**
   * Runs one request and streams both ways. Resolves when the response is
   * complete, cut, or the client left; never rejects for an app's or a
   * client's fault (those become 500/503/504 answers or an abort).
   */
  handle(scope: HttpScope, body: RequestBody, sink: ResponseSink, options?: HandleOptions): Promise<CallResult>;
  /**
   * Runs the sync function exported as `ref.exportName` by `ref.module` on a
   * worker thread (the threads, queue, timeout and replacement rules of
   * requests) with `args`, structured-cloned both ways. Rejects with what
   * it threw (same name, message and stack), or when it cannot run: queue
   * full, timed out, thread lost, runner closed.
   */
  call(ref: FunctionRef, args: readonly unknown[], options?: CallOptions): Promise<unknown>;
  /** Stops taking requests (new ones get 503), waits for those in flight up to `graceMs`, then ends the threads. */
  close(graceMs?: number): Promise<void>;
}

/** An error a request body source may throw to have the runner answer with this status (413, 400) if it still can. */
export class RequestBodyError extends Error {
  override name = 'RequestBodyError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
