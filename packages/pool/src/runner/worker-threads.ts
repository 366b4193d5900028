/**
 * The worker threads of the runner, one per slot. Each imports the app and
 * says when it is ready; a thread that ends (retired after its quota of
 * requests, crashed, or terminated because its request hung) is replaced in
 * the same slot, so the slot's shared buffers and channel outlive it. The
 * runner decides what runs where; this module only keeps the threads going.
 */
import { Worker } from 'node:worker_threads';
import type { ReadyMessage, WorkerConfig } from './protocol.js';

/** What the runner hears about its threads. */
export interface ThreadEvents {
  /** The thread of `slot` imported the app and waits for requests. */
  ready(slot: number): void;
  /** The thread of `slot` ended. `error`: what killed it, if something did; `wasReady`: it had imported the app. */
  exited(slot: number, error: unknown, wasReady: boolean): void;
}

// A thread that dies before it is ready (the app fails to import) is not restarted at once: that would spin.
const RESTART_DELAY_MS = 1000;

/** Starts, replaces and ends the runner's worker threads. */
export class WorkerThreads {
  private readonly workers: Array<Worker | null> = [];
  private closing = false;

  constructor(
    private readonly config: Omit<WorkerConfig, 'slot'>,
    private readonly execArgv: string[] | undefined,
    private readonly events: ThreadEvents,
  ) {}

  /** Starts the thread of `slot` (after a pause when `delayed`, for a thread that failed to start). */
  start(slot: number, delayed = false): void {
    if (this.closing) return;
    if (delayed) {
      setTimeout(() => this.start(slot), RESTART_DELAY_MS).unref();
      return;
    }
    const worker = new Worker(new URL('./worker-entry.js', import.meta.url), {
      workerData: { ...this.config, slot } satisfies WorkerConfig,
      ...(this.execArgv === undefined ? {} : { execArgv: this.execArgv }),
    });
    this.workers[slot] = worker;
    let ready = false;
    let failure: unknown;
    worker.on('message', (message: ReadyMessage) => {
      if (message.t !== 'ready') return;
      ready = true;
      // A ready thread never keeps the process alive by itself: the server's sockets (or calls in flight) do. One still
      // starting does, so that a script awaiting serve() does not exit under it. Unref'd here, after every listener
      // is on: adding a 'message' listener refs the worker's port again.
      worker.unref();
      this.events.ready(slot);
    });
    worker.on('error', (error) => (failure = error));
    worker.on('exit', () => {
      if (this.workers[slot] === worker) this.workers[slot] = null;
      if (!this.closing) this.events.exited(slot, failure, ready);
    });
  }

  /** Ends the thread of `slot` now, whatever it is doing (a hung request); `exited` follows. */
  terminate(slot: number): void {
    void this.workers[slot]?.terminate();
  }

  /** Ends every thread. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w?.terminate()));
  }
}
