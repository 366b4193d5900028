/**
 * asgiref's pair, on the sync runner of @tsgi/pool:
 * - asyncToSync: sync code on a worker thread (a WSGI-TS view) calls an
 *   async function, which runs on the server's event loop, and blocks until
 *   it settles, as Flask runs an `async def` view through async_to_sync;
 * - syncToAsync: async code (an ASGI-TS view) calls a sync function, which
 *   runs on a worker thread, without stalling the loop, as sync_to_async.
 * Both name the function by module and export: a function cannot cross a
 * thread in JavaScript, so the thread that runs it imports the module.
 * Arguments and results are structured-cloned (plain data, Dates, Maps,
 * typed arrays; not functions, not class instances' methods).
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe } from '@tsgi/core';
import type { Logger } from '@tsgi/core/server';
import { callAsyncBlocking, callContext, closeSharedRunner, configureSharedRunner, sharedRunner, type FunctionRef, type SyncRunnerOptions } from '@tsgi/pool';

export { AsyncToSyncTimeout, currentSignal } from '@tsgi/pool';

/** Options of asyncToSync. */
export interface AsyncToSyncOptions {
  /** Seconds the caller waits at most; then it throws AsyncToSyncTimeout and the function's signal (currentSignal()) is aborted. Default: no limit of its own (the runner's request timeout still applies). */
  timeout?: number;
}

/** Options of syncToAsync. */
export interface SyncToAsyncOptions {
  /** Seconds a call may run before its thread is terminated and replaced and the call rejects. Default: the runner's timeout (30 s, `--timeout` of the pool). 0: no limit. */
  timeout?: number;
}

/** Options of the runner syncToAsync calls run on: the pool's names and units. */
export interface SyncToAsyncRunnerOptions {
  /** Worker threads (default: 8 per core, as @tsgi/pool; `tsgi serve --threads N` sets it). */
  threads?: number;
  /** Calls that may wait for a free thread; beyond that a call rejects (default 1024). */
  maxQueue?: number;
  /** Seconds a call may run before its thread is replaced (default 30; 0 disables). */
  timeout?: number;
  /** Recycle a worker thread after this many calls (default 0: never). */
  maxRequestsPerWorker?: number;
  /** Where the calls' thread failures go (default: the console). */
  logger?: Logger;
}

/** Any function: the type parameter of asyncToSync and syncToAsync, to type the returned function from the named one. */
type AnyFunction = (...args: never[]) => unknown;
/** The type parameter's default, when the call does not name the function's type: any arguments, an unknown result. */
type UntypedFunction = (...args: unknown[]) => unknown;

/**
 * A sync function that runs the async function `exportName` of `module` on
 * the server's event loop and blocks the calling thread until it settles;
 * call it from sync code on a worker thread (a WSGI-TS app on the pool or
 * the bridge). Throws at once on the event loop's own thread (it would
 * deadlock); where there is no server loop (the inline runner, a script)
 * the function runs on a helper thread.
 */
export function asyncToSync<F extends AnyFunction = UntypedFunction>(module: string | URL, exportName: string, options: AsyncToSyncOptions = {}): (...args: Parameters<F>) => Awaited<ReturnType<F>> {
  const ref = functionRef('asyncToSync', module, exportName);
  checkKeys('asyncToSync', options, ['timeout']);
  const timeoutMs = seconds('asyncToSync', 'timeout', options.timeout ?? 0) * 1000;
  const label = `asyncToSync(${shortName(ref)})`;
  return (...args) => callAsyncBlocking(ref, args, timeoutMs, label) as Awaited<ReturnType<F>>;
}

/**
 * An async function that runs the sync function `exportName` of `module`
 * on a worker thread of the sync runner syncToAsync starts on its first
 * call (sized by configureSyncToAsync, or `tsgi serve --threads`), so
 * blocking code never stalls the event loop. Called under withSignal() or
 * from an asyncToSync call, it is cancelled with that request: its
 * asyncToSync waits end with ClientDisconnected.
 */
export function syncToAsync<F extends AnyFunction = UntypedFunction>(module: string | URL, exportName: string, options: SyncToAsyncOptions = {}): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>> {
  const ref = functionRef('syncToAsync', module, exportName);
  checkKeys('syncToAsync', options, ['timeout']);
  const timeoutMs = options.timeout === undefined ? undefined : seconds('syncToAsync', 'timeout', options.timeout) * 1000;
  const tag = `syncToAsync(${shortName(ref)})`;
  // async: a runner that cannot start rejects the call rather than throwing at the caller.
  const call = async (args: unknown[]): Promise<unknown> => {
    const signal = callContext.getStore()?.signal;
    return sharedRunner().call(ref, args, {
      tag,
      ...(signal === undefined ? {} : { signal }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  };
  return (...args) => call(args) as Promise<Awaited<ReturnType<F>>>;
}

/** Sets the threads and limits of the runner syncToAsync starts on its first call; call it before that. */
export function configureSyncToAsync(options: SyncToAsyncRunnerOptions): void {
  checkKeys('configureSyncToAsync', options, ['threads', 'maxQueue', 'timeout', 'maxRequestsPerWorker', 'logger']);
  const out: SyncRunnerOptions = {};
  if (options.threads !== undefined) out.threads = count('configureSyncToAsync', 'threads', options.threads);
  if (options.maxQueue !== undefined) out.maxQueue = count('configureSyncToAsync', 'maxQueue', options.maxQueue);
  if (options.timeout !== undefined) out.timeoutMs = seconds('configureSyncToAsync', 'timeout', options.timeout) * 1000;
  if (options.maxRequestsPerWorker !== undefined) out.maxRequestsPerWorker = count('configureSyncToAsync', 'maxRequestsPerWorker', options.maxRequestsPerWorker);
  if (options.logger !== undefined) out.logger = options.logger;
  configureSharedRunner(out);
}

/** Ends the threads of the runner syncToAsync started, after the calls in flight (up to `graceSeconds`); a later call starts a new one. */
export function closeSyncToAsync(graceSeconds?: number): Promise<void> {
  return closeSharedRunner(graceSeconds === undefined ? undefined : seconds('closeSyncToAsync', 'graceSeconds', graceSeconds) * 1000);
}

/**
 * Runs `fn` as serving the request `signal` belongs to: syncToAsync calls
 * made inside are cancelled when it aborts (pass the request's disconnect
 * signal), and currentSignal() returns it.
 */
export function withSignal<T>(signal: AbortSignal, fn: () => T): T {
  return callContext.run({ signal }, fn);
}

/** The function as other threads find it; a relative path would resolve differently on each, so it is refused. */
function functionRef(what: string, module: string | URL, exportName: string): FunctionRef {
  if (typeof exportName !== 'string' || exportName === '') throw new TypeError(`${what}(): exportName must be a non-empty string; got ${describe(exportName)}`);
  if (module instanceof URL) return { module: module.href, exportName };
  if (typeof module !== 'string') throw new TypeError(`${what}(): module must be a URL or a string; got ${describe(module)}`);
  if (isAbsolute(module)) return { module: pathToFileURL(module).href, exportName };
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return { module, exportName };
  throw new TypeError(
    `${what}(): module must be a URL or an absolute path, since each thread imports it itself (write new URL('./file.ts', import.meta.url)); got ${JSON.stringify(module)}`,
  );
}

/** `file:///…/upstream.ts#fetchQuote` as `upstream.ts#fetchQuote`, for messages. */
function shortName(ref: FunctionRef): string {
  return `${ref.module.slice(ref.module.lastIndexOf('/') + 1)}#${ref.exportName}`;
}

function checkKeys(what: string, options: object, known: string[]): void {
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new TypeError(`${what}(): unknown option ${JSON.stringify(key)} (known: ${known.join(', ')})`);
}

function seconds(what: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`${what}(): ${name} must be a non-negative number of seconds; got ${describe(v)}`);
  return v;
}

function count(what: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what}(): ${name} must be a non-negative integer; got ${describe(v)}`);
  return v;
}
