/**
 * The worker-thread side of the sync-app runner: imports the app once per
 * thread, then takes requests from the shared task queue, one at a time,
 * and runs each with callWsgiApp, blocking the thread where PEP 3333 says
 * it blocks, so the app's calls are as synchronous as they are in Python:
 * - `wsgi.input.read()` asks the main thread for the next body chunk and
 *   sleeps in Atomics.wait until it is there;
 * - a response chunk goes to the main thread as soon as it is produced and
 *   costs credit; out of credit, the thread sleeps until the client took
 *   more (so a slow client holds at most `creditWindow` bytes in flight).
 * With no request waiting the thread sleeps in Atomics.wait. Every
 * EVENT_LOOP_EVERY_MS at most, between two requests, it lets its event loop
 * turn once: V8 runs its own housekeeping (incremental GC steps, the memory
 * reducer) as tasks on that loop, and without them the thread's heap only
 * grows (timers an app left behind may run then too).
 */
import { deserialize } from 'node:v8';
import { BroadcastChannel, parentPort, receiveMessageOnPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import {
  ClientDisconnected,
  callWsgiApp,
  createWsgiInput,
  environFromScope,
  fileWrapper,
  type CallResult,
  type PullSource,
  type WsgiErrors,
  type WsgiHeaders,
  type WsgiApplication,
  type WsgiSink,
} from '@tsgi/core';
import { importApp } from '@tsgi/core/server';
import { AsyncToSyncTimeout, threadRole, uncloneableArgument } from './async-wait.js';
import { errorData, errorFromData, loadFunction } from './calls.js';
import { LetterWriter } from './mailbox.js';
import { ResultWriter } from './result-ring.js';
import { TaskQueue } from './task-queue.js';
import {
  channelName,
  writeResult,
  type CallOutcome,
  type CallTask,
  type DownMessage,
  type ReadyMessage,
  type RequestTask,
  type ResponseHead,
  type TaskResult,
  type UpMessage,
  type WorkerConfig,
} from './protocol.js';

const config = workerData as WorkerConfig;
const slot = config.slot;
const signals = config.signals;
const queue = new TaskQueue(config.queue);
const results = new ResultWriter(config.results, slot);
const ring = new Uint8Array(config.rings[slot]!);
const RING_SIZE = ring.byteLength;
const input = new Uint8Array(config.inputs[slot]!);
const channel = new BroadcastChannel(channelName(config.runnerId, slot));
// Nothing listens on this side (we read with receiveMessageOnPort), so it must not keep the thread alive.
(channel as unknown as { unref?: () => void }).unref?.();
/** The app, imported by serveRequests (after everything here is defined, so the app's module scope may already call asyncToSync); null in a runner for syncToAsync alone. */
let app: WsgiApplication | null = null;

// Atomics.wait always gets a timeout: a missed wake-up costs at most this, never a hang.
const WAIT_SLICE_MS = 500;
// How long a busy thread may go without letting its event loop turn (see above).
const EVENT_LOOP_EVERY_MS = 50;
// A list response is held back up to this many bytes and sent in one message with what follows.
const BATCH_BYTES = 64 * 1024;
// Views this much smaller than their buffer are copied before posting: cloning copies the whole buffer.
const SLICE_RATIO = 2;

let handled = 0;
let exitRequested = false;
let inApp = false;
/** The request this thread is on (also right after the app returned, while its microtasks run). */
let current: RequestLink | null = null;

// An exception nothing caught (say, thrown later by something the app
// scheduled) would kill the thread under a request. So the thread logs it,
// finishes what it is doing, and is replaced right after (its state is
// suspect from here on).
process.on('uncaughtException', onUncaught);
function onUncaught(error: unknown): void {
  exitRequested = true;
  const text = `uncaught exception in worker thread ${slot}; it will be replaced: ${describeError(error)}\n`;
  // Counted as the request's own message, so its result waits for this line.
  if (current !== null) current.post({ t: 'log', id: current.id, text });
  else channel.postMessage({ t: 'log', id: 0, text } satisfies UpMessage);
}

// process.exit() inside a worker would end the thread under a running
// request. Refuse it instead: the request gets a 500 and the thread is
// replaced right after.
const realExit = process.exit.bind(process);
process.exit = ((code?: number) => {
  if (!inApp) return realExit(code);
  exitRequested = true;
  throw new Error(`[wsgi.server.error.4] the app called process.exit(${code ?? ''}) in a worker thread; refused, the thread will be replaced`);
}) as typeof process.exit;

/** The conversation with the main thread about one request. */
class RequestLink implements WsgiSink, PullSource {
  posted = 0;
  credit = config.creditWindow;
  disconnected = false;
  /** The answer to our last pull (bytes in the input buffer): undefined while waiting, null at the end of the body. */
  private answer: number | null | undefined = undefined;
  private bodyDone: boolean;
  private head: ResponseHead | null = null;
  private out: Uint8Array[] = [];
  private outBytes = 0;
  /** Next write offset in the slot's ring; every request starts with the ring empty (see finishRing). */
  private ringAt = 0;
  private usedRing = false;
  finish: TaskResult['finish'] = 'none';
  log = '';
  /** The arguments of a call task that did not fit its queue entry, once they came. */
  private pulledArgs: Uint8Array | null = null;
  /** asyncToSync: the call this thread waits on (0: none), and how it settled once it did. */
  private awaiting = 0;
  private settled: CallOutcome | null = null;

  constructor(
    readonly id: number,
    hasBody: boolean,
  ) {
    this.bodyDone = !hasBody;
  }

  // ---- PullSource: wsgi.input's bytes ----

  pull(want = 0): Uint8Array | null {
    if (this.bodyDone) return null;
    this.receive();
    if (this.disconnected) throw new ClientDisconnected('client disconnected before the request body was complete');
    this.answer = undefined;
    this.post({ t: 'pull', id: this.id, want: Math.min(want, input.byteLength) });
    this.block(() => this.answer !== undefined || this.disconnected);
    const n = this.answer;
    if (n === undefined) throw new ClientDisconnected('client disconnected before the request body was complete');
    this.answer = undefined;
    if (n === null) {
      this.bodyDone = true;
      return null;
    }
    // The app may keep what it reads: its own copy, out of the buffer the next pull refills.
    return input.slice(0, n);
  }

  // ---- WsgiSink: the response ----

  start(status: number, reason: string, headers: WsgiHeaders): void {
    this.head = { status, reason, headers };
  }

  body(chunk: Uint8Array, batch: boolean): void {
    this.receive();
    if (this.disconnected) throw new ClientDisconnected();
    if (batch && this.outBytes + chunk.byteLength < BATCH_BYTES && this.outBytes + chunk.byteLength < this.credit) {
      // No app code runs before the next call: holding a small chunk costs no latency.
      this.out.push(postable(chunk));
      this.outBytes += chunk.byteLength;
      return;
    }
    // Streamed: through the ring, as soon as there is room, in pieces if it is bigger than the free part.
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.credit <= 0) {
        this.block(() => this.credit > 0 || this.disconnected);
        if (this.disconnected) throw new ClientDisconnected();
      }
      const n = Math.min(chunk.byteLength - at, this.credit, RING_SIZE - this.ringAt);
      ring.set(chunk.subarray(at, at + n), this.ringAt);
      this.flush([this.ringAt, n]);
      this.ringAt = (this.ringAt + n) % RING_SIZE;
      this.usedRing = true;
      at += n;
    }
  }

  /**
   * Before the task ends, waits until the main thread is done with every
   * ring region (the client took them): the next request on this thread
   * starts writing at the ring's start.
   */
  finishRing(): void {
    if (!this.usedRing || this.disconnected) return;
    this.receive();
    if (this.credit >= config.creditWindow) return;
    this.post({ t: 'drain', id: this.id });
    this.block(() => this.credit >= config.creditWindow || this.disconnected);
  }

  end(): void {
    this.finish = 'end';
  }

  abort(): void {
    this.finish = 'abort';
  }

  // ---- wsgi.errors ----

  readonly errors: WsgiErrors = {
    write: (s: string) => {
      this.log += String(s);
      if (this.log.length > 8192) this.errors.flush();
    },
    writelines: (lines: Iterable<string>) => {
      for (const line of lines) this.errors.write(line);
    },
    flush: () => {
      if (this.log === '') return;
      this.post({ t: 'log', id: this.id, text: this.log });
      this.log = '';
    },
  };

  /** What was not streamed, and how the call ended: the task's result. */
  result(call: CallResult): TaskResult {
    const result: TaskResult = { id: this.id, posted: this.posted, head: this.head, chunks: this.out, finish: this.finish, call, log: this.log };
    this.head = null;
    this.out = [];
    return result;
  }

  /** Sends the head and held chunks, and a ring region when given; all of it costs credit. */
  private flush(region: [number, number] | null): void {
    const bytes = this.outBytes + (region === null ? 0 : region[1]);
    this.post({ t: 'res', id: this.id, head: this.head, chunks: this.out, ring: region, bytes });
    this.head = null;
    this.out = [];
    this.outBytes = 0;
    this.credit -= bytes;
  }

  /** Posts to the main thread; counted only once posted (a message that cannot be cloned throws, and is not waited for). */
  post(message: UpMessage): void {
    channel.postMessage(message);
    this.posted++;
  }

  /** A call task's arguments, asked of the main thread when they were too big for the task. */
  pullArgs(): Uint8Array {
    this.post({ t: 'args', id: this.id });
    this.block(() => this.pulledArgs !== null || this.disconnected);
    if (this.disconnected) throw new ClientDisconnected('the caller went away before the call started');
    const args = this.pulledArgs!;
    this.pulledArgs = null;
    return args;
  }

  // ---- asyncToSync: this thread waits for an async function on the main thread's event loop ----

  /** Runs `ref` on the main thread's loop with `args` and blocks until it settles, the client goes away, or `timeoutMs` (0: never) passes. */
  awaitCall(module: string, exportName: string, args: unknown[], timeoutMs: number, label: string): unknown {
    this.receive();
    if (this.disconnected) throw new ClientDisconnected(`${label}: the client went away before the call`);
    const call = nextCall();
    this.awaiting = call;
    this.settled = null;
    try {
      try {
        this.post({ t: 'await', id: this.id, call, module, exportName, args });
      } catch (error) {
        throw uncloneableArgument(label, error);
      }
      this.block(() => this.settled !== null || this.disconnected, timeoutMs > 0 ? performance.now() + timeoutMs : Infinity);
    } finally {
      this.awaiting = 0;
    }
    // Set by receive() during the wait, which the narrowing above cannot see.
    const settled = this.settled as CallOutcome | null;
    this.settled = null;
    // The client left: that wins over an answer that came with the news (the function saw its signal abort).
    if (this.disconnected) {
      if (settled === null) this.post({ t: 'cancel', id: this.id, call });
      throw new ClientDisconnected(`${label}: the client went away while this thread waited; the async function's signal was aborted`);
    }
    if (settled !== null) {
      if (settled.ok) return settled.value;
      throw errorFromData(settled.error, label);
    }
    // Stopped waiting: the main thread aborts the function's signal.
    this.post({ t: 'cancel', id: this.id, call });
    throw new AsyncToSyncTimeout(`${label}: no answer within ${timeoutMs} ms (its timeout option); the wait ended and the async function's signal was aborted`);
  }

  /** Takes in what the main thread sent about this request, without blocking. */
  private receive(): void {
    for (;;) {
      const entry = receiveMessageOnPort(channel as unknown as MessagePort);
      if (entry === undefined) return;
      const msg = entry.message as DownMessage | UpMessage;
      // Leftovers of an earlier request, or of a predecessor in this slot.
      if (msg.id !== this.id) continue;
      if (msg.t === 'chunk') this.answer = msg.n;
      else if (msg.t === 'credit') this.credit += msg.bytes;
      else if (msg.t === 'disconnect') this.disconnected = true;
      else if (msg.t === 'settled' && msg.call === this.awaiting) this.settled = msg;
      else if (msg.t === 'args' && 'bytes' in msg) this.pulledArgs = msg.bytes;
    }
  }

  /** Sleeps until `done()` holds or `deadline` (performance.now() ms) passes; the main thread posts first, then bumps our cell and notifies. */
  private block(done: () => boolean, deadline = Infinity): void {
    for (;;) {
      const seen = Atomics.load(signals, slot);
      this.receive();
      if (done()) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      // 'not-equal' means a message came in between: loop and read it.
      Atomics.wait(signals, slot, seen, Math.min(WAIT_SLICE_MS, left));
    }
  }
}

let calls = 0;
/** A call id unique in the process: this thread's id, then a count (2^21 calls before it wraps, long after any could be pending). */
function nextCall(): number {
  calls = (calls + 1) % 2 ** 21;
  return threadId * 2 ** 21 + calls;
}

// asyncToSync called on this thread (from a request, a call, or the app's module scope) waits through the slot's channel.
threadRole.waiter = (ref, args, timeoutMs, label) => (current ?? new RequestLink(0, false)).awaitCall(ref.module, ref.exportName, args, timeoutMs, label);

/** A chunk fit for structured cloning: a small view of a big buffer is copied first (cloning copies the whole buffer). */
function postable(chunk: Uint8Array): Uint8Array {
  const buffer = chunk.buffer;
  if (buffer instanceof ArrayBuffer && buffer.byteLength <= chunk.byteLength * SLICE_RATIO + 4096) return chunk;
  const copy = new Uint8Array(chunk.byteLength);
  copy.set(chunk);
  return copy;
}

/** The request's declared body length (CONTENT_LENGTH), or null when unknown (chunked). */
function declaredLength(headers: ReadonlyArray<readonly [string, string]>): number | null {
  for (const [name, value] of headers) {
    if (name === 'content-length' && /^[0-9]+$/.test(value)) return Number(value);
  }
  return null;
}

/**
 * Serves requests from the task queue until the thread retires (after
 * maxRequestsPerWorker requests, or when its state is suspect); the main
 * thread then starts a fresh thread in the slot.
 */
export async function serveRequests(): Promise<void> {
  if (config.app !== null) {
    try {
      app = await importApp<WsgiApplication>(config.app, 'WSGI-TS');
    } catch (error) {
      // The thread must die of it ('error', then 'exit'): that is how the main thread learns the app cannot load.
      process.off('uncaughtException', onUncaught);
      throw error;
    }
  }
  parentPort!.postMessage({ t: 'ready' } satisfies ReadyMessage);
  let turned = performance.now();
  for (;;) {
    if (performance.now() - turned > EVENT_LOOP_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turned = performance.now();
    }
    const task = queue.take();
    if (task === null) {
      queue.sleep(slot, WAIT_SLICE_MS);
      continue;
    }
    Atomics.store(config.running, slot, task.id);
    const startedAt = performance.now();
    if (task.kind === 'call') {
      await runCall(task);
      noteTaskTime(performance.now() - startedAt);
      Atomics.store(config.running, slot, 0);
      if (exitRequested || (config.maxRequestsPerWorker > 0 && ++handled >= config.maxRequestsPerWorker)) realExit(0);
      continue;
    }
    const { link, result } = runTask(task);
    // Microtasks the app queued run now (`current` is still this request), so an exception in one retires this thread right after this request.
    await null;
    current = null;
    result.posted = link.posted;
    handled++;
    sendResult(link, result);
    noteTaskTime(performance.now() - startedAt);
    Atomics.store(config.running, slot, 0);
    // Recycled, or suspect after an uncaught exception: the main thread starts a fresh thread in this slot when this one exits.
    if (exitRequested || (config.maxRequestsPerWorker > 0 && handled >= config.maxRequestsPerWorker)) realExit(0);
  }
}

/**
 * Folds one request's time into the workers' shared moving average (1/8 of
 * the difference). Workers may race on the cell; a lost update only delays
 * the average by one request, which is all the wake policy needs.
 */
function noteTaskTime(ms: number): void {
  const us = Math.min(2 ** 30, Math.round(ms * 1000));
  const before = Atomics.load(config.taskTime, 0);
  Atomics.store(config.taskTime, 0, before + ((us - before) >> 3));
}

const letter = new LetterWriter();

/** Hands the result back through the slot's result ring (or the channel, when it does not fit). */
function sendResult(link: RequestLink, result: TaskResult): void {
  if (!results.put(writeResult(letter, result), result.chunks, WAIT_SLICE_MS)) link.post({ t: 'done', id: result.id, result });
}

/**
 * Runs one syncToAsync call on this thread: imports the function (once),
 * calls it with the cloned arguments, and posts how it ended.
 */
async function runCall(task: CallTask): Promise<void> {
  const link = new RequestLink(task.id, false);
  current = link;
  const label = `syncToAsync(${task.exportName})`;
  let outcome: CallOutcome;
  try {
    const fn = await loadFunction(task, 'syncToAsync');
    const args = deserialize(task.args ?? link.pullArgs()) as unknown[];
    inApp = true;
    try {
      const value = fn(...args);
      if (isThenable(value)) {
        value.then(undefined, () => {});
        throw new TypeError(`${label}: ${task.module} "${task.exportName}" returned a promise; syncToAsync runs sync functions on a worker thread: await an async function directly instead`);
      }
      outcome = { ok: true, value };
    } finally {
      inApp = false;
    }
  } catch (error) {
    outcome = { ok: false, error: errorData(error) };
  }
  // Microtasks the function queued run while `current` is still this call.
  await null;
  current = null;
  try {
    link.post({ t: 'return', id: task.id, ...outcome });
  } catch (error) {
    const why = new TypeError(`${label}: the value it returned cannot be structured-cloned back to the event loop: ${(error as Error).message}`);
    link.post({ t: 'return', id: task.id, ok: false, error: errorData(why) });
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Runs one request on this thread. */
function runTask(task: RequestTask): { link: RequestLink; result: TaskResult } {
  const link = new RequestLink(task.id, task.hasBody);
  current = link;
  const input = createWsgiInput(link, task.hasBody ? declaredLength(task.scope.headers) : 0);
  const environ = environFromScope(task.scope, {
    input,
    errors: link.errors,
    multithread: config.multithread,
    multiprocess: false,
    fileWrapper,
  });
  inApp = true;
  let call: CallResult;
  try {
    call = callWsgiApp(app!, environ, link, {
      onError: (error) => {
        link.errors.write(describeError(error) + '\n');
        link.errors.flush();
      },
    });
  } finally {
    inApp = false;
  }
  link.finishRing();
  return { link, result: link.result(call) };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return `non-Error thrown: ${String(error)}`;
}
