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
import { ClientDisconnected, isClientDisconnected, type CallResult, type HttpScope, type ModuleRef } from '@tsgi/core';
import { consoleLogger, type Logger } from '../log.js';
import { answerFor, type Answer } from './answer.js';
import { RECYCLE_ERROR, channelName, type DownMessage, type RequestTask, type TaskResult, type UpMessage, type WorkerConfig } from './protocol.js';
import { InlineRunner } from './inline.js';
import { RequestBodyError, type HandleOptions, type RequestBody, type ResponseSink, type SyncRunner, type SyncRunnerOptions } from './types.js';

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
class ThreadRunner implements SyncRunner {
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
      else this.logger.error(`worker thread failed: ${describeError(error)}`);
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

  // ---- used by Exchange ----

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

/** One request in flight on the worker-thread runner. */
class Exchange {
  /** Cancels the tinypool task (which terminates and replaces its worker if it is running). */
  readonly abort = new TaskAbort();
  readonly done: Promise<CallResult>;
  private resolveDone!: (result: CallResult) => void;
  /** Sink calls run one after another on this chain. */
  private chain: Promise<unknown> = Promise.resolve();
  private slot = 0;
  private received = 0;
  private result: TaskResult | null = null;
  private finished = false;
  /** The runner answered on its own (timeout, crash, body error): the worker's output no longer goes to the sink. */
  private answered = false;
  private started = false;
  private ended = false;
  private disconnected = false;
  private iterator: AsyncIterator<Uint8Array> | null = null;
  /** The part of the last body piece a pull did not take. */
  private leftover: Uint8Array | null = null;
  private bodyEnded = false;
  /** When the app's time runs out (performance.now() ms); 0 while the clock is paused. */
  private deadline = 0;
  /** The worker waits on us (a pull, or out of credit): the app is not the one holding things up. */
  private pulling = false;
  private outstanding = 0;
  private bytesToClient = 0;
  private status = 0;

  constructor(
    private readonly runner: ThreadRunner,
    readonly id: number,
    private readonly body: RequestBody,
    private readonly sink: ResponseSink,
    private readonly tag: string,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  // ---- the request timeout: time the app spends without making progress ----

  armTimer(): void {
    const ms = this.runner.timeout;
    if (ms <= 0 || this.finished) return;
    this.deadline = performance.now() + ms;
  }

  private pauseTimer(): void {
    this.deadline = 0;
  }

  /** Called by the runner's sweep. */
  checkDeadline(now: number): void {
    if (this.deadline !== 0 && now >= this.deadline) this.onTimeout();
  }

  private onTimeout(): void {
    this.deadline = 0;
    if (this.finished) return;
    // Still queued, or waiting for a fresh worker to boot: not the app's time yet (the queue limit bounds that).
    if (this.slot === 0 && !this.runner.isRunning(this.id)) {
      this.armTimer();
      return;
    }
    this.runner.log.error(
      `${this.tag}: [wsgi.server.timeout.1] no progress for ${this.runner.timeout} ms; its worker thread is terminated and replaced`,
    );
    this.abort.abort();
    this.answer(answerFor(504, 'Gateway Timeout'), 'error');
  }

  // ---- from the worker ----

  onMessage(slot: number, message: UpMessage): void {
    this.slot = slot;
    this.received++;
    if (this.disconnected && message.t !== 'done' && message.t !== 'log') this.runner.post(slot, { t: 'disconnect', id: this.id });
    switch (message.t) {
      case 'pull':
        this.pulling = true;
        this.pauseTimer();
        void this.feedBody(message.want);
        break;
      case 'res':
        this.outstanding += message.bytes;
        // Out of credit, the worker waits for the client: that time is not the app's.
        if (this.outstanding >= this.runner.window) this.pauseTimer();
        else this.armTimer();
        this.forward(message.head, message.chunks, message.bytes, message.ring);
        break;
      case 'drain':
        // The app is done; the worker waits for the client to take the rest.
        this.pauseTimer();
        break;
      case 'log':
        this.logAppText(message.text);
        break;
      case 'done':
        this.result = message.result;
        break;
    }
    this.maybeFinish();
  }

  onResult(result: TaskResult): void {
    // Results of warm-up pings and recycled workers come through here as well.
    if (result.viaChannel === true) return;
    this.result = result;
    this.maybeFinish();
  }

  onTaskError(error: unknown): void {
    if (this.finished || this.answered) return;
    const name = (error as { name?: unknown } | null)?.name;
    // A recycling worker dies on purpose after posting its result on the channel, which is on its way.
    if (name === RECYCLE_ERROR) return;
    const message = String((error as { message?: unknown } | null)?.message ?? error);
    if (/queue is at limit|No task queue available/.test(message)) {
      this.runner.log.warning(`${this.tag}: every worker thread is busy and the queue is full; answered 503`);
      this.answer(answerFor(503, 'Service Unavailable', [['Retry-After', '1']]), 'error');
      return;
    }
    if (name === 'AbortError') return;
    this.runner.log.error(`${this.tag}: [wsgi.server.error.4] the worker thread running this request failed; it is replaced: ${describeError(error)}`);
    this.answer(answerFor(500, 'Internal Server Error'), 'error');
  }

  // ---- the request body ----

  /**
   * Answers a pull: copies exactly `want` bytes (fewer only at the end of the
   * body) into the slot's input buffer, or with `want` 0 the next piece as it
   * comes. Nothing is read from the client before the app asks for it.
   */
  private async feedBody(want: number): Promise<void> {
    if (this.finished || this.answered) return;
    const buffer = this.runner.input(this.slot);
    const cap = want > 0 ? want : buffer.byteLength;
    let n = 0;
    try {
      while (n < cap && this.body !== null) {
        let piece = this.leftover;
        if (piece === null) {
          if (this.bodyEnded || (want === 0 && n > 0)) break;
          this.iterator ??= this.body[Symbol.asyncIterator]();
          const next = await this.iterator.next();
          if (next.done) {
            this.bodyEnded = true;
            break;
          }
          piece = next.value;
          // An empty piece is no answer (the worker would read it as the end of the body).
          if (piece.byteLength === 0) continue;
        }
        const take = Math.min(piece.byteLength, cap - n);
        buffer.set(take === piece.byteLength ? piece : piece.subarray(0, take), n);
        n += take;
        this.leftover = take < piece.byteLength ? piece.subarray(take) : null;
        if (want === 0) break;
      }
    } catch (error) {
      this.bodyFailed(error);
      return;
    }
    if (this.finished || this.answered) return;
    this.pulling = false;
    this.armTimer();
    this.runner.post(this.slot, { t: 'chunk', id: this.id, n: n === 0 ? null : n });
  }

  private bodyFailed(error: unknown): void {
    if (error instanceof RequestBodyError) {
      this.runner.log.info(`${this.tag}: ${error.message}; answered ${error.status}`);
      this.tellWorkerToStop();
      this.answer(answerFor(error.status, error.reason, [['Connection', 'close']]), 'error');
      return;
    }
    // The client went away (or its body broke) mid-upload: the app's read raises ClientDisconnected.
    this.clientGone();
  }

  // ---- to the sink ----

  private forward(head: TaskResult['head'], chunks: Uint8Array[], bytes: number, region: [number, number] | null = null): void {
    if (this.answered) return;
    if (head !== null) {
      this.started = true;
      this.status = head.status;
      this.enqueue(() => this.sink.start(head.status, head.reason, head.headers));
    }
    for (const chunk of chunks) {
      this.bytesToClient += chunk.byteLength;
      this.enqueue(() => this.sink.body(chunk));
    }
    if (region !== null) {
      const view = new Uint8Array(this.runner.ring(this.slot), region[0], region[1]);
      this.bytesToClient += view.byteLength;
      // A sink that may keep a chunk after body() settled gets its own copy: the ring region is reused.
      this.enqueue(() => this.sink.body(this.sink.releasesChunks === true ? view : view.slice()));
    }
    if (bytes > 0) {
      // Pay the credit back once the sink took these bytes: that is the response backpressure.
      this.enqueue(() => {
        this.outstanding -= bytes;
        if (this.finished || this.disconnected) return;
        if (!this.pulling) this.armTimer();
        this.runner.post(this.slot, { t: 'credit', id: this.id, bytes });
      });
    }
  }

  /** Queues a sink call; once the client is gone only `final` steps (end, abort) still run. */
  private enqueue(step: () => unknown, final = false): void {
    this.chain = this.chain.then(() => {
      if (this.disconnected && !final) return;
      return step();
    });
    this.chain.catch((error: unknown) => {
      // The sink failed (socket gone): the client left.
      if (!isClientDisconnected(error)) this.runner.log.info(`${this.tag}: response sink failed: ${describeError(error)}`);
      this.clientGone();
    });
    this.chain = this.chain.catch(() => {});
  }

  private maybeFinish(): void {
    const result = this.result;
    if (result === null || this.finished || this.received < result.posted) return;
    this.finished = true;
    this.pauseTimer();
    if (result.log !== '') this.logAppText(result.log);
    if (this.answered) return;
    this.forward(result.head, result.chunks, 0);
    const finish = result.finish;
    this.enqueue(() => {
      if (this.ended) return;
      this.ended = true;
      if (finish === 'end' && !this.disconnected) return this.sink.end();
      this.sink.abort(finish === 'abort' ? new Error('the app failed after the response started') : new ClientDisconnected());
      return undefined;
    }, true);
    void this.chain.then(() => this.settle(this.disconnected ? { ...result.call, outcome: 'disconnected' } : result.call));
  }

  /** The runner answers on its own: a canned response if nothing was sent yet, else the response is cut. */
  answer(answer: Answer, outcome: CallResult['outcome']): void {
    if (this.answered) return;
    this.answered = true;
    this.finished = true;
    this.pauseTimer();
    const started = this.started;
    this.enqueue(async () => {
      if (this.ended) return;
      this.ended = true;
      if (started || this.disconnected) {
        this.sink.abort(new Error(`${answer.status} ${answer.reason}`));
        return;
      }
      this.status = answer.status;
      await this.sink.start(answer.status, answer.reason, answer.headers);
      await this.sink.body(answer.body);
      await this.sink.end();
    }, true);
    void this.chain.then(() =>
      this.settle({ status: started ? this.status : this.disconnected ? 0 : answer.status, bytes: this.bytesToClient, outcome: started ? 'aborted' : outcome }),
    );
  }

  /** The client went away: tell the worker (its next read or write raises ClientDisconnected). */
  clientGone(): void {
    if (this.disconnected || this.ended) return;
    this.disconnected = true;
    this.tellWorkerToStop();
  }

  private tellWorkerToStop(): void {
    if (this.slot !== 0 && !this.finished) this.runner.post(this.slot, { t: 'disconnect', id: this.id });
  }

  /** Shutdown grace ran out: end the request now. */
  cancel(why: string): void {
    if (this.finished) return;
    this.runner.log.warning(`${this.tag}: ${why}; request cut`);
    this.abort.abort();
    this.answer(answerFor(503, 'Service Unavailable'), 'error');
  }

  private settle(result: CallResult): void {
    this.pauseTimer();
    this.runner.forget(this.id);
    if (this.iterator !== null && typeof this.iterator.return === 'function') {
      // Stop reading the request body: the front discards or closes what is left.
      void Promise.resolve(this.iterator.return()).catch(() => {});
    }
    this.resolveDone(result);
  }

  private logAppText(text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.runner.log.error(`${this.tag}: ${line}`);
  }
}

/**
 * The abort handle tinypool takes for a task, in its event-emitter form
 * (`once`/`off`): an AbortController per request costs more than the rest of
 * the dispatch bookkeeping, and this one only ever has one listener.
 */
class TaskAbort {
  aborted = false;
  private listener: (() => void) | null = null;
  once(_event: 'abort', listener: () => void): void {
    this.listener = listener;
  }
  off(_event: 'abort', _listener: () => void): void {
    this.listener = null;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = null;
    listener?.();
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
