/**
 * Function calls across the runner's threads, both ways (asgiref's pair):
 * - asyncToSync: a worker thread, blocked, asks the main thread's event loop
 *   to run an async function; AsyncCalls runs it there and posts how it
 *   settled, which wakes the worker;
 * - syncToAsync: the main thread hands a worker a call task through the
 *   shared task queue, like a request; CallExchange is the main thread's
 *   side of it until the worker posts 'return'.
 * A function cannot cross a thread, so both name it by module and export,
 * and each thread imports the module itself; arguments and results are
 * structured-cloned.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ClientDisconnected, isClientDisconnected } from '@tsgi/core';
import { formatError, importExport, type Logger } from '@tsgi/core/server';
import type { CallOutcome, CallTask, DownMessage, ErrorData, UpMessage } from './protocol.js';
import type { ClientSignal, FunctionRef } from './types.js';
import { registerTsx, tsxRegistered } from './register-tsx.js';

/** What code run for a call can learn about the request it serves. */
export interface CallContext {
  /** Aborted when the request's client goes away, or the caller stops waiting (timeout, its thread replaced). */
  readonly signal: AbortSignal;
}

// One store per thread, whichever copy of this module (source or dist) got loaded first.
const CONTEXT_KEY = Symbol.for('tsgi.runner.callContext');
const globals = globalThis as unknown as Record<symbol, unknown>;
/** The call context of the code running now (AsyncLocalStorage: it follows awaits). */
export const callContext = (globals[CONTEXT_KEY] ??= new AsyncLocalStorage<CallContext>()) as AsyncLocalStorage<CallContext>;

/** The signal of the request the current code serves (through asyncToSync, syncToAsync or withSignal), or undefined outside one. */
export function currentSignal(): AbortSignal | undefined {
  return callContext.getStore()?.signal;
}

/** A callable export; loaded once per thread. */
type Callable = (...args: unknown[]) => unknown;
const loaded = new Map<string, Promise<Callable>>();
const TS_MODULE = /\.[cm]?tsx?$/;

/**
 * Imports `ref`'s export on this thread (once) and checks it is a function.
 * A .ts module gets tsx registered first if this thread has no loader for
 * it yet (a worker started for a .js app, a built server).
 */
export function loadFunction(ref: FunctionRef, what: string): Promise<Callable> {
  const key = `${ref.module}\n${ref.exportName}`;
  let found = loaded.get(key);
  if (found === undefined) {
    found = (async () => {
      if (TS_MODULE.test(ref.module) && !hasTypeScriptLoader()) await registerTsx();
      const value = await importExport(ref);
      if (typeof value !== 'function') throw new TypeError(`${what}: export "${ref.exportName}" of ${ref.module} must be a function; it is ${value === null ? 'null' : typeof value}`);
      return value as Callable;
    })();
    // A failed import is not cached: the next call tries again (the file may be fixed).
    found.catch(() => loaded.delete(key));
    loaded.set(key, found);
  }
  return found;
}

/** Whether this thread can import .ts already: without a loader the import fails with ERR_UNKNOWN_FILE_EXTENSION. */
function hasTypeScriptLoader(): boolean {
  return tsxRegistered() || process.execArgv.some((a) => a.includes('tsx')) || (process.env['NODE_OPTIONS'] ?? '').includes('tsx');
}

/** An error as data, to cross a thread. */
export function errorData(error: unknown): ErrorData {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack, disconnected: isClientDisconnected(error) };
  return { name: 'Error', message: `non-Error thrown: ${String(error)}`, stack: undefined, disconnected: false };
}

/**
 * The error `data` describes, rebuilt on this thread: same name, message
 * and stack (where it was thrown), then the frames of this thread's caller,
 * so a log shows both ends.
 */
export function errorFromData(data: ErrorData, via: string): Error {
  const error = data.disconnected ? new ClientDisconnected(data.message) : new Error(data.message);
  const here = (new Error().stack ?? '').split('\n').slice(2).join('\n');
  if (!data.disconnected) error.name = data.name;
  error.stack = `${data.stack ?? `${data.name}: ${data.message}`}\n    --- through ${via} ---\n${here}`;
  return error;
}

/** Runs the async function `ref` on this thread's loop with `args`, in a call context carrying `signal`; never rejects. */
export async function runAsyncCall(ref: FunctionRef, args: unknown[], signal: AbortSignal): Promise<CallOutcome> {
  try {
    const fn = await loadFunction(ref, 'asyncToSync');
    return { ok: true, value: await callContext.run({ signal }, () => fn(...args)) };
  } catch (error) {
    return { ok: false, error: errorData(error) };
  }
}

/** Posts how an asyncToSync call ended; a value that cannot be cloned (a function, a socket) becomes an error that says so. */
export function postOutcome(ref: FunctionRef, outcome: CallOutcome, post: (outcome: CallOutcome) => void): void {
  try {
    post(outcome);
  } catch (error) {
    const why = new TypeError(`asyncToSync: the value "${ref.exportName}" of ${ref.module} resolved to cannot be structured-cloned to the calling thread: ${(error as Error).message}`);
    post({ ok: false, error: errorData(why) });
  }
}

/** The 'await' message of a worker: an asyncToSync call. */
export type AwaitMessage = Extract<UpMessage, { t: 'await' }>;

/**
 * The main thread's side of asyncToSync: runs the async functions workers
 * wait on, each with its own AbortController (aborted when the request's
 * client goes away, the worker stops waiting, or its thread ends), and
 * answers the worker unless it stopped waiting.
 */
export class AsyncCalls {
  /** Calls running, by call id (unique in the process), with the slot of the worker waiting. */
  private readonly pending = new Map<number, { slot: number; controller: AbortController }>();

  constructor(private readonly post: (slot: number, message: DownMessage) => void) {}

  /** Calls running now. */
  get size(): number {
    return this.pending.size;
  }

  /** Runs the call a worker in `slot` waits on; `gone` is its request's client signal, if it serves one. */
  run(slot: number, message: AwaitMessage, gone: AbortSignal | null): void {
    const controller = new AbortController();
    this.pending.set(message.call, { slot, controller });
    const onGone = () => controller.abort(new ClientDisconnected('the client went away while a worker thread waited for this call'));
    if (gone !== null) {
      if (gone.aborted) onGone();
      else gone.addEventListener('abort', onGone, { once: true });
    }
    void this.execute(slot, message, controller).finally(() => gone?.removeEventListener('abort', onGone));
  }

  private async execute(slot: number, message: AwaitMessage, controller: AbortController): Promise<void> {
    const outcome = await runAsyncCall(message, message.args, controller.signal);
    // Cancelled, or its thread ended: nobody waits for the answer.
    if (this.pending.get(message.call)?.controller !== controller) return;
    this.pending.delete(message.call);
    postOutcome(message, outcome, (o) => this.post(slot, { t: 'settled', id: message.id, call: message.call, ...o }));
  }

  /** The worker stopped waiting for `call` (timeout, client gone): abort it; its answer goes nowhere. */
  cancel(call: number, why: string): void {
    const entry = this.pending.get(call);
    if (entry === undefined) return;
    this.pending.delete(call);
    entry.controller.abort(new Error(why));
  }

  /** The thread of `slot` ended: its calls are aborted, and answered to no one (its replacement never waited for them). */
  endSlot(slot: number): void {
    for (const [call, entry] of this.pending) if (entry.slot === slot) this.cancel(call, 'the worker thread waiting for this call ended');
  }

  /** Aborts every call (the runner closes). */
  endAll(): void {
    for (const call of [...this.pending.keys()]) this.cancel(call, 'the runner closed');
  }
}

/** What a CallExchange needs from its runner. */
export interface CallHost {
  readonly log: Logger;
  /** The runner's timeout in ms (0: none), the default of each call's. */
  readonly timeout: number;
  post(slot: number, message: DownMessage): void;
  slotOf(id: number): number;
  terminate(exchange: { id: number; task: unknown }): void;
  forget(id: number): void;
  runAsync(slot: number, message: AwaitMessage, gone: AbortSignal | null): void;
  cancelAsync(call: number, why: string): void;
}

/** One syncToAsync call in flight, seen from the main thread. */
export class CallExchange {
  /** Settles (never rejects) when the call is over: what the runner's close() waits for. */
  readonly done: Promise<void>;
  /** The task, until it goes into the shared task queue. */
  task: CallTask | null = null;
  private slot = 0;
  private finished = false;
  /** When the call's time runs out; 0 until a thread took it (time in the queue is not the function's). */
  private deadline = 0;
  private gone: AbortController | null = null;
  private disconnected = false;
  private settleDone!: () => void;

  constructor(
    private readonly host: CallHost,
    readonly id: number,
    readonly tag: string,
    private readonly timeoutMs: number,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: Error) => void,
    signal: ClientSignal | undefined,
    /** Arguments too big for the queue entry, kept until the worker asks for them. */
    private args: Uint8Array | null,
  ) {
    this.done = new Promise((r) => (this.settleDone = r));
    if (signal !== undefined) {
      if (signal.aborted) this.clientGone();
      else signal.addEventListener('abort', () => this.clientGone(), { once: true });
    }
  }

  /** Called by the runner's sweep: starts the clock once a thread has the call, ends the call past its time. */
  checkDeadline(now: number): void {
    if (this.finished || this.timeoutMs <= 0) return;
    if (this.deadline === 0) {
      if (this.slot !== 0 || this.host.slotOf(this.id) !== 0) this.deadline = now + this.timeoutMs;
      return;
    }
    if (now < this.deadline) return;
    this.host.log.error(`${this.tag}: [wsgi.server.timeout.1] ran for more than ${this.timeoutMs} ms; its worker thread is terminated and replaced`);
    this.host.terminate(this);
    this.fail(new Error(`${this.tag}: ran for more than ${this.timeoutMs} ms (the timeout); its worker thread was terminated and replaced`));
  }

  onMessage(slot: number, message: UpMessage): void {
    this.slot = slot;
    if (this.disconnected && message.t !== 'return' && message.t !== 'log') this.host.post(slot, { t: 'disconnect', id: this.id });
    switch (message.t) {
      case 'await':
        this.host.runAsync(slot, message, this.goneSignal());
        break;
      case 'cancel':
        this.host.cancelAsync(message.call, `${this.tag} stopped waiting for it`);
        break;
      case 'args':
        if (this.args !== null) this.host.post(slot, { t: 'args', id: this.id, bytes: this.args });
        this.args = null;
        break;
      case 'log':
        for (const line of message.text.replace(/\n$/, '').split('\n')) this.host.log.error(`${this.tag}: ${line}`);
        break;
      case 'return':
        if (message.ok) this.succeed(message.value);
        else this.fail(errorFromData(message.error, this.tag));
        break;
      default:
        break;
    }
  }

  /** The thread running the call died under it. */
  onThreadLost(error: unknown): void {
    this.host.log.error(`${this.tag}: [wsgi.server.error.4] the worker thread running this call failed; it is replaced: ${formatError(error)}`);
    this.fail(new Error(`${this.tag}: the worker thread running it failed and was replaced: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Shutdown grace ran out, or the call could not be queued. */
  cancel(why: string): void {
    if (this.finished) return;
    this.host.terminate(this);
    this.fail(new Error(`${this.tag}: ${why}`));
  }

  /** The caller's client went away: the function's blocking waits (asyncToSync) end with ClientDisconnected. */
  clientGone(): void {
    if (this.disconnected || this.finished) return;
    this.disconnected = true;
    this.gone?.abort(new ClientDisconnected());
    const slot = this.slot !== 0 ? this.slot : this.host.slotOf(this.id);
    // Not taken yet: its first message gets the answer (see onMessage).
    if (slot !== 0) this.host.post(slot, { t: 'disconnect', id: this.id });
  }

  /** The signal asyncToSync calls made from inside this call run with. */
  private goneSignal(): AbortSignal {
    this.gone ??= new AbortController();
    if (this.disconnected) this.gone.abort(new ClientDisconnected());
    return this.gone.signal;
  }

  private succeed(value: unknown): void {
    if (this.end()) this.resolve(value);
  }

  fail(error: Error): void {
    if (this.end()) this.reject(error);
  }

  private end(): boolean {
    if (this.finished) return false;
    this.finished = true;
    this.task = null;
    this.args = null;
    this.host.forget(this.id);
    this.settleDone();
    return true;
  }
}
