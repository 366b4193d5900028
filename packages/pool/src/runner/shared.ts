/**
 * The runner syncToAsync calls go to, one per thread that calls it: a
 * runner of calls alone (the same code, limits, timeout and replacement
 * rules as the pool's and the bridge's), started on the first call with the
 * options set by configureSharedRunner (under `tsgi serve`, --threads).
 * Not a server's own runner: a request thread waiting in asyncToSync on a
 * function that calls syncToAsync would then wait for a thread of its own
 * pool, and with every thread doing so, none would be left to run the call.
 */
import { createSyncRunner } from './runner.js';
import type { SyncRunner, SyncRunnerOptions } from './types.js';

interface Shared {
  runner: SyncRunner | null;
  /** The runner is running (its options can no longer change). */
  own: boolean;
  options: SyncRunnerOptions;
}

// Per thread, shared by every copy of this module the thread loads (source and dist).
const SHARED_KEY = Symbol.for('tsgi.runner.shared');
const globals = globalThis as unknown as Record<symbol, unknown>;
const shared = (globals[SHARED_KEY] ??= { runner: null, own: false, options: {} } satisfies Shared) as Shared;

/** Sets the options of the runner started for syncToAsync calls; refused once it runs (its threads exist). */
export function configureSharedRunner(options: SyncRunnerOptions): void {
  if (shared.own) {
    // The same settings again (a server started twice in one process) change nothing.
    if (sameSettings(shared.options, options)) return;
    throw new Error(
      `configureSyncToAsync(): the runner of syncToAsync calls is already running with ${JSON.stringify(settings(shared.options))}; configure it before the first call (got ${JSON.stringify(settings(options))})`,
    );
  }
  shared.options = { ...options };
}

/** The options that shape the threads (the logger aside). */
function settings(o: SyncRunnerOptions): Omit<SyncRunnerOptions, 'logger'> {
  const { logger: _logger, ...rest } = o;
  return rest;
}

function sameSettings(a: SyncRunnerOptions, b: SyncRunnerOptions): boolean {
  const x = settings(a);
  const y = settings(b);
  const keys = new Set([...Object.keys(x), ...Object.keys(y)] as Array<keyof typeof x>);
  return [...keys].every((k) => x[k] === y[k]);
}

/** The runner for syncToAsync calls, started on first use. */
export function sharedRunner(): SyncRunner {
  if (shared.runner === null) {
    shared.runner = createSyncRunner(null, shared.options);
    shared.own = true;
  }
  return shared.runner;
}

/** Ends the runner started for calls alone, if any (tests, scripts that want to exit at once); the next call starts a new one. */
export async function closeSharedRunner(graceMs?: number): Promise<void> {
  if (!shared.own || shared.runner === null) return;
  const runner = shared.runner;
  shared.runner = null;
  shared.own = false;
  await runner.close(graceMs);
}
