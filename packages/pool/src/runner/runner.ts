/**
 * The main-thread side of the sync-app runner: "run this sync app on a
 * worker thread and stream both ways" (DESIGN decision 6), shared by the
 * pool server and the bridge.
 *
 * Requests go to tinypool worker threads as tasks (one at a time per
 * thread). While a task runs, its worker and this side talk on the worker
 * slot's BroadcastChannel (see protocol.ts): the worker pulls body chunks,
 * which this side reads from the request body only then (so an upload is
 * never buffered whole), and streams response chunks, which this side
 * writes to the sink and pays back in credit once the sink took them (so a
 * slow client blocks the worker, not memory).
 */
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import Tinypool from 'tinypool';
import { type CallResult, type HttpScope, type ModuleRef } from '@tsgi/core';
import { consoleLogger, formatError, type Logger } from '../log.js';
import { answerFor } from './answer.js';
import { Exchange, type ExchangeHost } from './exchange.js';
import { channelName, type DownMessage, type RequestTask, type TaskResult, type UpMessage, type WorkerConfig } from './protocol.js';
import { InlineRunner } from './inline.js';
import type { HandleOptions, RequestBody, ResponseSink, SyncRunner, SyncRunnerOptions } from './types.js';

/** Default worker threads: 8 per core, for apps that mostly wait (see SyncRunnerOptions.threads). */
export const DEFAULT_THREADS_PER_CORE = 8;
const DEFAULT_MAX_QUEUE = 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CREDIT_WINDOW = 256 * 1024;
/** Request-body bytes handed to a worker per pull at most: wsgi.input.read(65536) gets its 64 KiB in one piece. */
const INPUT_BUFFER = 64 * 1024;

/**
 * Starts a runner for the WSGI-TS app at `ref`: worker threads that each
 * import the app (tsx registered, so .ts apps load) and serve one request at
 * a time, or the inline mode with `threads: 0`. Call ready() before serving
 * to surface import errors, and close() at the end.
 */
export function createSyncRunner(ref: ModuleRef, options: SyncRunnerOptions = {}): SyncRunner {
  const threads = options.threads ?? availableParallelism() * DEFAULT_THREADS_PER_CORE;
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`threads must be a non-negative integer; got ${threads}`);
  if (threads === 0) return new InlineRunner(ref, options.logger ?? consoleLogger());
  return new ThreadRunner(ref, threads, options);
}

/** The worker-thread runner. */
class ThreadRunner implements SyncRunner, ExchangeHost {
  readonly threads: number;
  private readonly pool: Tinypool;
  private readonly runnerId = randomUUID();
  private readonly signals: Int32Array;
  private readonly running: Int32Array;
  private readonly rings: SharedArrayBuffer[] = [];
  private readonly inputs: SharedArrayBuffer[] = [];
  private readonly channels: BroadcastChannel[] = [];
  private readonly exchanges = new Map<number, Exchange>();
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly creditWindow: number;
  private nextId = 1;
  private closing = false;
  /** One sweep over in-flight requests finds those past their deadline: no timer per request on the hot path. */
  private sweeper: NodeJS.Timeout | null = null;
  private readyPromise: Promise<void> | null = null;
  private poolError: ((error: unknown) => void) | null = null;

  constructor(ref: ModuleRef, threads: number, options: SyncRunnerOptions) {
    this.threads = threads;
    this.logger = options.logger ?? consoleLogger();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.creditWindow = options.creditWindow ?? DEFAULT_CREDIT_WINDOW;
    this.signals = new Int32Array(new SharedArrayBuffer(4 * (threads + 1)));
    this.running = new Int32Array(new SharedArrayBuffer(4 * (threads + 1)));
    for (let slot = 1; slot <= threads; slot++) {
      this.rings[slot] = new SharedArrayBuffer(this.creditWindow);
      this.inputs[slot] = new SharedArrayBuffer(INPUT_BUFFER);
    }
    // Running from TypeScript source (tests): workers must resolve @tsgi/* to source too.
    const fromSource = import.meta.url.endsWith('.ts');
    const config: WorkerConfig = {
      fromSource,
      runnerId: this.runnerId,
      signals: this.signals,
      running: this.running,
      rings: this.rings,
      inputs: this.inputs,
      app: ref,
      creditWindow: this.creditWindow,
      maxRequestsPerWorker: options.maxRequestsPerWorker ?? 0,
      multithread: threads > 1,
    };
    // One channel per worker slot (tinypool numbers its workers 1..maxThreads and reuses the numbers).
    for (let slot = 1; slot <= threads; slot++) {
      const channel = new BroadcastChannel(channelName(this.runnerId, slot));
      channel.onmessage = (event) => this.onMessage(slot, (event as { data: UpMessage }).data);
      (channel as unknown as { unref?: () => void }).unref?.();
      this.channels[slot] = channel;
    }
    this.pool = new Tinypool({
      filename: new URL('./worker-entry.js', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
      idleTimeout: 2 ** 31 - 1,
      workerData: config,
      ...(fromSource ? { execArgv: ['--conditions=source'] } : {}),
    });
    // A worker that fails with no task on it (e.g. the app failed to import) is reported here.
    this.pool.on('error', (error: unknown) => {
      if (this.poolError !== null) this.poolError(error);
      else this.logger.error(`worker thread failed: ${formatError(error)}`);
    });
  }

  ready(): Promise<void> {
    this.readyPromise ??= new Promise<void>((resolve, reject) => {
      this.poolError = reject;
      const task: RequestTask = { id: 0, scope: null as unknown as HttpScope, hasBody: false, ping: true };
      this.pool.run(task).then(
        () => resolve(),
        (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      );
    }).finally(() => {
      this.poolError = null;
    });
    return this.readyPromise;
  }

  handle(scope: HttpScope, body: RequestBody, sink: ResponseSink, options: HandleOptions = {}): Promise<CallResult> {
    const id = this.nextId++;
    const exchange = new Exchange(this, id, body, sink, options.tag ?? `#${id}`);
    if (this.closing) {
      exchange.answer(answerFor(503, 'Service Unavailable'), 'error');
      return exchange.done;
    }
    this.exchanges.set(id, exchange);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) exchange.clientGone();
      else signal.addEventListener('abort', () => exchange.clientGone(), { once: true });
    }
    const task: RequestTask = { id, scope, hasBody: body !== null };
    this.pool.run(task, { signal: exchange.abort }).then(
      (result: TaskResult) => exchange.onResult(result),
      (error: unknown) => exchange.onTaskError(error),
    );
    exchange.armTimer();
    if (this.sweeper === null && this.timeoutMs > 0) {
      // Checks a few times per timeout period, so a stuck request is cut within about 1.25x the timeout.
      this.sweeper = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, this.timeoutMs / 4)));
      this.sweeper.unref();
    }
    return exchange.done;
  }

  async close(graceMs = Infinity): Promise<void> {
    this.closing = true;
    const inFlight = Promise.all([...this.exchanges.values()].map((e) => e.done));
    if (graceMs === Infinity) await inFlight;
    else {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([inFlight, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    for (const e of this.exchanges.values()) e.cancel('the server is shutting down');
    await this.pool.destroy();
    for (const channel of this.channels) channel?.close();
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

  /** True once a worker has started running request `id` (before that it waits in the queue). */
  isRunning(id: number): boolean {
    for (let slot = 1; slot <= this.threads; slot++) if (Atomics.load(this.running, slot) === id) return true;
    return false;
  }

  forget(id: number): void {
    this.exchanges.delete(id);
    if (this.exchanges.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private sweep(): void {
    const now = performance.now();
    for (const exchange of this.exchanges.values()) exchange.checkDeadline(now);
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
      // A thread's own trouble (an uncaught exception) may come after its request finished: still log it.
      if (message.t === 'log') this.logger.error(`worker thread ${slot}: ${message.text.trimEnd()}`);
      // Other late messages are of a finished request, or of a terminated predecessor in this slot.
      return;
    }
    exchange.onMessage(slot, message);
  }
}
