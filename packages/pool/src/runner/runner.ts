/**
 * The main-thread side of the sync-app runner: "run this sync app on a
 * worker thread and stream both ways", shared by the pool server and the
 * bridge, so a sync app behaves the same under either.
 *
 * Each worker thread owns a slot and serves one request at a time. A
 * request starts in the shared task queue, where the next free worker takes
 * it (task-queue.ts), and ends when that worker puts the result in its
 * slot's result ring and rings the doorbell (result-ring.ts; one wake-up of
 * this side collects every result that is ready). In between, the worker
 * and this side talk on
 * the slot's BroadcastChannel (see protocol.ts): the worker pulls body
 * chunks, which this side reads from the request body only then (so an
 * upload is never buffered whole), and streams response chunks, which this
 * side writes to the sink and pays back in credit once the sink took them
 * (so a slow client blocks the worker, not memory).
 * How many threads are awake is this side's choice (wake-policy.ts).
 */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { serialize } from 'node:v8';
import { BroadcastChannel } from 'node:worker_threads';
import type { CallResult, HttpScope, ModuleRef } from '@tsgi/core';
import { consoleLogger, formatError, IdTable, type Logger } from '@tsgi/core/server';
import { answerFor } from './answer.js';
import { threadRole } from './async-wait.js';
import { AsyncCalls, CallExchange, type AwaitMessage, type CallHost } from './calls.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import { channelName, readResult, type DownMessage, type ResultLetter, type UpMessage } from './protocol.js';
import { allocateResults, ResultReader, type RingResult } from './result-ring.js';
import { allocateTaskQueue, ENTRY_BYTES, TaskQueue } from './task-queue.js';
import { InlineRunner } from './inline.js';
import { WakePolicy } from './wake-policy.js';
import { WorkerThreads } from './worker-threads.js';
import type { CallOptions, FunctionRef, HandleOptions, RequestBody, ResponseSink, SyncRunner, SyncRunnerOptions } from './types.js';

/** Default worker threads: 8 per core, for apps that mostly wait (see SyncRunnerOptions.threads). */
export const DEFAULT_THREADS_PER_CORE = 8;
const DEFAULT_MAX_QUEUE = 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CREDIT_WINDOW = 256 * 1024;
/** Request-body bytes handed to a worker per pull at most: wsgi.input.read(65536) gets its 64 KiB in one piece. */
const INPUT_BUFFER = 64 * 1024;
/** How often, while tasks wait, the runner looks whether the awake workers still take them (wake-policy.ts). */
const STALL_CHECK_MS = 1;

/**
 * Starts a runner for the WSGI-TS app at `ref`: worker threads that each
 * import the app (tsx registered, so .ts apps load) and serve one request at
 * a time, or the inline mode with `threads: 0`. Call ready() before serving
 * to surface import errors, and close() at the end. With `ref` null the
 * runner runs function calls only (call(); handle() answers 500).
 */
export function createSyncRunner(ref: ModuleRef | null, options: SyncRunnerOptions = {}): SyncRunner {
  const threads = options.threads ?? availableParallelism() * DEFAULT_THREADS_PER_CORE;
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`threads must be a non-negative integer; got ${threads}`);
  if (threads === 0) return new InlineRunner(ref, options.logger ?? consoleLogger());
  return new ThreadRunner(ref, threads, options);
}

/** The worker-thread runner. */
class ThreadRunner implements SyncRunner, ExchangeHost, CallHost {
  readonly threads: number;
  private readonly runnerId = randomUUID();
  private readonly threadPool: WorkerThreads;
  /** Requests no worker has taken yet. */
  private readonly queue: TaskQueue;
  /** Requests waiting for room in the shared queue (it has a fixed size), oldest first from `overflowHead`. */
  private overflow: Array<Exchange | CallExchange> = [];
  private overflowHead = 0;
  private readonly maxQueue: number;
  private readonly results: ResultReader<ResultLetter>;
  private readonly signals: Int32Array;
  /** Per slot, the id of the request its thread runs (0: none). */
  private readonly running: Int32Array;
  /** The workers' recent time per request, µs (protocol.ts). */
  private readonly taskTime = new Int32Array(new SharedArrayBuffer(4));
  private readonly rings: SharedArrayBuffer[] = [];
  private readonly inputs: SharedArrayBuffer[] = [];
  private readonly channels: BroadcastChannel[] = [];
  /** Requests and calls in flight: one id space, since a worker's `running` cell holds either. */
  private readonly exchanges = new IdTable<Exchange | CallExchange>();
  /** asyncToSync calls of the workers, running on this thread's loop. */
  private readonly asyncCalls = new AsyncCalls((slot, message) => this.post(slot, message));
  private readonly hasApp: boolean;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly creditWindow: number;
  private closing = false;
  /** Sleepers to wake at the end of this turn of the event loop (see wakeDue). */
  private wakesDue = 0;
  /**
   * One sweep over in-flight requests finds those past their deadline (no
   * timer per request on the hot path); it also keeps the process alive
   * while requests are in flight, since the threads do not.
   */
  private sweeper: NodeJS.Timeout | null = null;
  /** The sweep's period, ms. */
  private sweepEvery = 0;
  /** Workers woken on a new task without a stall: the cores this process may use, less one for this thread. */
  private readonly wakePolicy = new WakePolicy(Math.max(1, availableParallelism() - 1));
  /** Runs while tasks wait in the shared queue (see wake-policy.ts). */
  private stallCheck: NodeJS.Timeout | null = null;
  private readonly readyPromise: Promise<void>;
  private everReady = false;
  private settleReady!: (error?: unknown) => void;

  constructor(ref: ModuleRef | null, threads: number, options: SyncRunnerOptions) {
    this.threads = threads;
    this.hasApp = ref !== null;
    // This thread's loop now serves the workers' asyncToSync calls: blocking it on one would deadlock.
    threadRole.hosts++;
    this.logger = options.logger ?? consoleLogger();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.creditWindow = options.creditWindow ?? DEFAULT_CREDIT_WINDOW;
    this.maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.signals = new Int32Array(new SharedArrayBuffer(4 * (threads + 1)));
    this.running = new Int32Array(new SharedArrayBuffer(4 * (threads + 1)));
    const queueMemory = allocateTaskQueue(threads, this.signals);
    this.queue = new TaskQueue(queueMemory);
    const resultMemory = allocateResults(threads);
    this.results = new ResultReader<ResultLetter>(resultMemory, threads, readResult, (slot, result) => this.onResult(slot, result));
    for (let slot = 1; slot <= threads; slot++) {
      this.rings[slot] = new SharedArrayBuffer(this.creditWindow);
      this.inputs[slot] = new SharedArrayBuffer(INPUT_BUFFER);
      const channel = new BroadcastChannel(channelName(this.runnerId, slot));
      channel.onmessage = (event) => this.onMessage(slot, (event as { data: UpMessage }).data);
      (channel as unknown as { unref?: () => void }).unref?.();
      this.channels[slot] = channel;
    }
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (error?: unknown) => (error === undefined ? resolve() : reject(error instanceof Error ? error : new Error(String(error))));
    });
    // Nobody may be listening yet; the rejection still reaches whoever calls ready() later.
    this.readyPromise.catch(() => {});
    // Running from TypeScript source (tests): workers must resolve @tsgi/* to source too.
    const fromSource = import.meta.url.endsWith('.ts');
    this.threadPool = new WorkerThreads(
      {
        fromSource,
        runnerId: this.runnerId,
        signals: this.signals,
        queue: queueMemory,
        results: resultMemory,
        running: this.running,
        taskTime: this.taskTime,
        rings: this.rings,
        inputs: this.inputs,
        app: ref,
        creditWindow: this.creditWindow,
        maxRequestsPerWorker: options.maxRequestsPerWorker ?? 0,
        multithread: threads > 1,
      },
      fromSource ? ['--conditions=source'] : undefined,
      { ready: () => this.onThreadReady(), exited: (slot, error, wasReady) => this.onThreadExit(slot, error, wasReady) },
    );
    for (let slot = 1; slot <= threads; slot++) this.threadPool.start(slot);
    this.results.start();
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  handle(scope: HttpScope, body: RequestBody, sink: ResponseSink, options: HandleOptions = {}): Promise<CallResult> {
    // Counting idle threads walks every slot: only worth it once the queue is at its limit.
    const full = this.queueFull();
    if (this.closing || full || !this.hasApp) {
      // Refused: never in the table, so it needs no id.
      const refused = new Exchange(this, 0, body, sink, options.tag ?? '#-');
      if (!this.hasApp) {
        this.logger.error(`${refused.tag}: this runner has no app (it runs syncToAsync calls only); answered 500`);
        refused.answer(answerFor(500), 'error');
        return refused.done;
      }
      if (full) this.logger.warning(`${refused.tag}: every worker thread is busy and the queue is full; answered 503`);
      refused.answer(answerFor(503, full ? [['Retry-After', '1']] : []), 'error');
      return refused.done;
    }
    // add() returns what the callback made: an Exchange.
    const exchange = this.exchanges.add((id) => new Exchange(this, id, body, sink, options.tag ?? `#${id}`)) as Exchange;
    const id = exchange.id;
    this.keepAlive();
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) exchange.clientGone();
      else signal.addEventListener('abort', () => exchange.clientGone(), { once: true });
    }
    // writeTask reads only the fields of TaskScope: the scope needs no copy.
    exchange.task = { kind: 'request', id, scope, hasBody: body !== null };
    exchange.armTimer();
    if (this.overflowHead < this.overflow.length || !this.enqueue(exchange)) this.overflow.push(exchange);
    return exchange.done;
  }

  call(ref: FunctionRef, args: readonly unknown[], options: CallOptions = {}): Promise<unknown> {
    const tag = options.tag ?? `call ${ref.exportName}`;
    if (this.closing) return Promise.reject(new Error(`${tag}: the runner is closed (shutting down); the call was not run`));
    if (this.queueFull()) return Promise.reject(new Error(`${tag}: every worker thread is busy and the queue is full (maxQueue ${this.maxQueue}); the call was not run`));
    let bytes: Uint8Array;
    try {
      bytes = serialize([...args]);
    } catch (error) {
      return Promise.reject(new TypeError(`${tag}: an argument cannot be structured-cloned to a worker thread (functions and class instances cannot cross threads): ${(error as Error).message}`));
    }
    // Arguments that would crowd a queue entry (the letter's head and names take a little of it) wait here until the worker asks.
    const inline = bytes.byteLength <= ENTRY_BYTES / 2;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const exchange = this.exchanges.add((id) => new CallExchange(this, id, tag, timeoutMs, resolve, reject, options.signal, inline ? null : bytes)) as CallExchange;
      exchange.task = { kind: 'call', id: exchange.id, module: ref.module, exportName: ref.exportName, args: inline ? bytes : null };
      this.keepAlive(timeoutMs);
      if (this.overflowHead < this.overflow.length || !this.enqueue(exchange)) this.overflow.push(exchange);
    });
  }

  async close(graceMs = Infinity): Promise<void> {
    if (!this.closing) threadRole.hosts--;
    this.closing = true;
    const inFlight = Promise.all(this.exchanges.values().map((e) => e.done));
    if (graceMs === Infinity) await inFlight;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const e of this.exchanges.values()) e.cancel('the server is shutting down');
    this.asyncCalls.endAll();
    if (this.stallCheck !== null) clearInterval(this.stallCheck);
    this.stallCheck = null;
    this.results.stop();
    await this.threadPool.close();
    for (const channel of this.channels) channel?.close();
  }

  // ---- the queue and the results ----

  /** The queue is at its limit, threads about to take a task aside. */
  private queueFull(): boolean {
    const waiting = this.waiting();
    return waiting >= this.maxQueue && waiting >= this.maxQueue + this.idleThreads();
  }

  /** Requests no thread has taken yet. */
  private waiting(): number {
    return this.queue.waiting + this.overflow.length - this.overflowHead;
  }

  /** Threads in a request. */
  private readonly countBusy = (): number => this.threads - this.idleThreads();

  /** Threads running no request: that many requests beyond maxQueue are about to be taken, not waiting. */
  private idleThreads(): number {
    let idle = 0;
    for (let slot = 1; slot <= this.threads; slot++) if (Atomics.load(this.running, slot) === 0) idle++;
    return idle;
  }

  /** Puts the task of `exchange` in the shared queue; false when the queue has no room right now. */
  private enqueue(exchange: Exchange | CallExchange): boolean {
    const outcome = this.queue.push(exchange.task!);
    if (outcome === 'full') return false;
    exchange.task = null;
    if (exchange instanceof CallExchange) {
      if (outcome === 'too-big') exchange.fail(new RangeError(`${exchange.tag}: its module URL does not fit the ${ENTRY_BYTES} bytes of a queue entry`));
    } else if (outcome === 'too-big') {
      this.logger.info(`${exchange.tag}: request head too large to hand to a worker thread; answered 431`);
      exchange.answer(answerFor(431, [['Connection', 'close']]), 'error');
      return true;
    }
    const awake = this.threads - this.queue.sleepers + this.wakesDue;
    const wake = this.wakePolicy.onTask(awake, Atomics.load(this.taskTime, 0), this.countBusy);
    if (wake > 0) {
      this.wakesDue += wake;
      if (this.wakesDue === wake) setImmediate(this.wakeDue);
    }
    if (this.stallCheck === null) {
      this.wakePolicy.startChecks(this.queue.taken, performance.eventLoopUtilization(), performance.now());
      this.stallCheck = setInterval(() => this.checkStall(), STALL_CHECK_MS);
    }
    return true;
  }

  /**
   * Wakes the sleepers enqueue() decided to wake, once per turn of the event
   * loop, after every request that arrived in the turn was queued: a woken
   * thread takes the CPU from this one at once (on a busy core), so waking
   * it at the first request would have it run that one request alone, then
   * sleep, then be woken for the next, a thread switch per request
   * (docs/decisions.md, decision 3, has the measurements).
   */
  private readonly wakeDue = (): void => {
    const n = this.wakesDue;
    this.wakesDue = 0;
    this.queue.wakeSleepers(n);
  };

  /** While tasks wait: wakes sleepers when the awake workers are stuck (wake-policy.ts); ends when the queue is empty. */
  private checkStall(): void {
    const waiting = this.queue.waiting;
    this.queue.wakeSleepers(this.wakePolicy.onCheck(waiting, this.queue.taken, performance.eventLoopUtilization(), performance.now()));
    if (waiting === 0) {
      clearInterval(this.stallCheck!);
      this.stallCheck = null;
    }
  }

  /** Moves waiting requests into the shared queue while it has room. */
  private refill(): void {
    while (this.overflowHead < this.overflow.length) {
      const next = this.overflow[this.overflowHead]!;
      // Cut while it waited (shutdown grace ran out): nothing to run.
      if (next.task !== null && !this.enqueue(next)) return;
      this.overflow[this.overflowHead++] = undefined as unknown as Exchange;
    }
    this.overflow = [];
    this.overflowHead = 0;
  }

  /** A worker finished a request: hand the result to its exchange. */
  private onResult(slot: number, result: RingResult<ResultLetter>): void {
    const exchange = this.exchanges.get(result.value.id);
    if (exchange instanceof Exchange) exchange.onResult({ ...result.value, chunks: result.body === null ? [] : [result.body] }, slot);
    if (this.overflowHead < this.overflow.length) this.refill();
  }

  private onThreadReady(): void {
    if (this.everReady) return;
    this.everReady = true;
    this.settleReady();
  }

  private onThreadExit(slot: number, error: unknown, wasReady: boolean): void {
    // A retiring thread put its last result in its ring before it ended.
    this.results.drain(slot);
    this.results.reset(slot);
    const id = Atomics.load(this.running, slot);
    Atomics.store(this.running, slot, 0);
    // What its asyncToSync calls were for is gone with it: abort them, answer no one.
    this.asyncCalls.endSlot(slot);
    const exchange = id === 0 ? undefined : this.exchanges.get(id);
    if (exchange !== undefined) exchange.onThreadLost(error ?? new Error('the worker thread ended'));
    else if (error !== undefined && wasReady) this.logger.error(`worker thread ${slot} failed; it is replaced: ${formatError(error)}`);
    if (!wasReady && !this.everReady) {
      // The app cannot be imported: that is what ready() reports (and the threads are not restarted).
      if (error !== undefined) this.settleReady(error);
      return;
    }
    if (!wasReady) this.logger.error(`worker thread ${slot} failed to start; retrying: ${formatError(error)}`);
    this.threadPool.start(slot, !wasReady);
  }

  // ---- ExchangeHost: what each request in flight uses ----

  get log(): Logger {
    return this.logger;
  }
  get timeout(): number {
    return this.timeoutMs;
  }
  get window(): number {
    return this.creditWindow;
  }
  /** The response ring of a worker slot. */
  ring(slot: number): SharedArrayBuffer {
    return this.rings[slot]!;
  }
  /** The request-body buffer of a worker slot. */
  input(slot: number): Uint8Array {
    return new Uint8Array(this.inputs[slot]!);
  }

  /** The slot whose thread runs request `id`, or 0 when no thread has taken it (yet). */
  slotOf(id: number): number {
    for (let slot = 1; slot <= this.threads; slot++) if (Atomics.load(this.running, slot) === id) return slot;
    return 0;
  }

  /** Runs the async function a worker waits on (asyncToSync), on this thread's loop. */
  runAsync(slot: number, message: AwaitMessage, gone: AbortSignal | null): void {
    this.asyncCalls.run(slot, message, gone);
  }

  /** The worker stopped waiting for `call`. */
  cancelAsync(call: number, why: string): void {
    this.asyncCalls.cancel(call, why);
  }

  /** Ends the thread running `exchange` (a hung or cut request); a fresh thread takes over its slot. */
  terminate(exchange: { id: number; task: unknown }): void {
    // Still waiting for room in the shared queue: it never runs.
    exchange.task = null;
    const slot = this.slotOf(exchange.id);
    if (slot !== 0) this.threadPool.terminate(slot);
  }

  forget(id: number): void {
    this.exchanges.delete(id);
    if (this.exchanges.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** Starts the sweep, or makes it more frequent for a call whose own timeout is shorter than the runner's. */
  private keepAlive(timeoutMs = this.timeoutMs): void {
    // Checks a few times per timeout period, so a stuck request is cut within about 1.25x the timeout.
    const every = timeoutMs > 0 ? Math.max(10, Math.min(1000, timeoutMs / 4)) : 1000;
    if (this.sweeper !== null && every >= this.sweepEvery) return;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweepEvery = every;
    this.sweeper = setInterval(() => this.sweep(), every);
  }

  private sweep(): void {
    const now = performance.now();
    // Requests have no deadline without the runner's timeout; a call may have one of its own.
    for (const exchange of this.exchanges.values()) if (this.timeoutMs > 0 || exchange instanceof CallExchange) exchange.checkDeadline(now);
  }

  /** Posts to the worker in `slot`, then wakes it (post first, then notify: the worker never wakes to nothing). */
  post(slot: number, message: DownMessage): void {
    this.channels[slot]!.postMessage(message);
    Atomics.add(this.signals, slot, 1);
    Atomics.notify(this.signals, slot);
  }

  private onMessage(slot: number, message: UpMessage): void {
    const exchange = this.exchanges.get(message.id);
    if (exchange === undefined) {
      // asyncToSync outside any request (the app's module scope) or after its request ended.
      if (message.t === 'await') this.asyncCalls.run(slot, message, null);
      else if (message.t === 'cancel') this.asyncCalls.cancel(message.call, 'the worker stopped waiting for it');
      // A thread's own trouble (an uncaught exception) may come after its request finished: still log it.
      if (message.t === 'log') this.logger.error(`worker thread ${slot}: ${message.text.trimEnd()}`);
      // Other late messages are of a finished request, or of a terminated predecessor in this slot.
      return;
    }
    exchange.onMessage(slot, message);
  }
}
