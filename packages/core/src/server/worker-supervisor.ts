/**
 * What a server with `workers: N` does with its workers, whether they are
 * processes (node:cluster, @tsgi/node and @tsgi/pool) or threads (@tsgi/uws),
 * as gunicorn's arbiter does: start N and wait until all listen; replace one
 * that dies; on restartWorkers() (SIGHUP) replace them one at a time, each new
 * worker listening before the old one is told to drain; replace a worker that
 * has served `limitMaxRequests` (gunicorn's --max-requests) the same way; and
 * replace one whose event loop stops sending heartbeats for
 * `timeoutWorkerHealthcheck` seconds (uvicorn's --timeout-worker-healthcheck,
 * gunicorn's --timeout), logging which and why. A replacement that cannot
 * start leaves the old worker serving. The kind of worker is an adapter: how
 * to start one, tell it to drain, and kill it.
 */
import type { AsgiApplication } from '../asgi/types.js';
import type { ServerAddress } from './handle.js';
import type { Logger } from './logger.js';

/** What a worker reports to the supervisor, besides listening and exiting. */
export interface WorkerEvents {
  /** The worker's event loop turned: sent every `heartbeatMs`. */
  heartbeat(): void;
  /** The worker has served its `limitMaxRequests`: replace it. */
  recycle(): void;
}

/** One worker as the supervisor sees it; an adapter builds it for a process or a thread. */
export interface SupervisedWorker {
  /** For the log: `Worker process 4242`, `Worker thread 3`. */
  readonly name: string;
  /** Resolves once the worker listens; rejects if it fails or ends before. */
  readonly ready: Promise<ServerAddress>;
  /** Resolves when the worker has ended, with how (`exit code 0`, `SIGKILL`). */
  readonly exited: Promise<string>;
  /** Asks the worker to shut down gracefully (it drains, then ends). */
  close(): void;
  /** Ends the worker at once; false when this kind of worker cannot be stopped from outside. */
  kill(): boolean;
}

/** How to run the workers of one server. */
export interface SupervisorSpec {
  workers: number;
  /** Starts one worker; it sends heartbeats every `heartbeatMs` and asks for recycling through `events`. */
  start(events: WorkerEvents): SupervisedWorker;
  /** Seconds without a heartbeat after which a listening worker is replaced. */
  timeoutWorkerHealthcheck: number;
  /** Why a worker that cannot be killed is only told to drain: said in the log when one is blocked. */
  unkillable?: string;
  logger: Logger;
}

/** Delay before trying again to start a worker that failed to start, so a broken app does not fork in a loop. */
const RETRY_DELAY_MS = 1000;

/** How often a worker with this healthcheck timeout sends a heartbeat: five per timeout, at most one a second. */
export function heartbeatInterval(timeoutWorkerHealthcheck: number): number {
  return Math.max(20, Math.min(1000, (timeoutWorkerHealthcheck * 1000) / 5));
}

/** Wraps an ASGI app so `onDone` runs once per http or websocket connection the app has finished (not lifespan). */
export function countRequests(app: AsgiApplication, onDone: () => void): AsgiApplication {
  return (scope, receive, send) => {
    const running = app(scope, receive, send);
    // Counted once the app is done and its last write has left this tick, so what
    // follows (a shutdown, a recycle) never cuts that response short.
    return scope.type === 'lifespan' ? running : running.finally(() => setImmediate(onDone));
  };
}

/** A counter that calls `onLimit` once, when it has been called `limit` times. */
export function requestLimit(limit: number, onLimit: () => void): () => void {
  let served = 0;
  return () => {
    if (++served === limit) onLimit();
  };
}

interface Slot {
  lastBeat: number;
  listening: boolean;
  /** Told to drain (or killed) by the supervisor: its end is no death to replace. */
  retiring: boolean;
  /** Its heartbeat timeout has been acted on. */
  timedOut: boolean;
}

export class WorkerSupervisor {
  private readonly live = new Map<SupervisedWorker, Slot>();
  private closing = false;
  /** Replacements run one at a time, in order (a SIGHUP roll, recycles, a timed-out worker's replacement). */
  private queue: Promise<void> = Promise.resolve();
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatMs: number;

  constructor(private readonly spec: SupervisorSpec) {
    this.heartbeatMs = heartbeatInterval(spec.timeoutWorkerHealthcheck);
  }

  /** How many workers run now (draining ones included). */
  get size(): number {
    return this.live.size;
  }

  /** Starts every worker; resolves with the address once all listen, or stops them all and rejects. */
  async start(): Promise<ServerAddress> {
    try {
      const started = await Promise.all(Array.from({ length: this.spec.workers }, () => this.spawn()));
      this.watchHealth();
      return started[0]!.address;
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /**
   * Replaces every worker, one at a time: a new one is started and listening
   * before the old one is told to drain, and the old one has ended before the
   * next is replaced. If a new worker cannot start (new code that fails to
   * import), the roll stops there and the old workers keep serving.
   */
  restartWorkers(): Promise<void> {
    const run = this.queue.then(async () => {
      const old = [...this.live].filter(([, slot]) => slot.listening && !slot.retiring).map(([w]) => w);
      for (const [i, worker] of old.entries()) {
        if (this.closing) return;
        const slot = this.live.get(worker);
        if (slot === undefined || slot.retiring) continue; // died meanwhile: already replaced
        if (!(await this.replace(worker, slot, `restart ${i + 1} of ${old.length}`))) {
          this.spec.logger.error(`Restart stopped: the workers not yet replaced (${old.length - i}) keep serving the old code.`);
          return;
        }
        await worker.exited;
      }
      this.spec.logger.info(`Restarted ${old.length} worker(s).`);
    });
    this.queue = run;
    return run;
  }

  /** Asks every worker to drain and waits until all have ended. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.live.keys()];
    for (const w of all) {
      this.live.get(w)!.retiring = true;
      w.close();
    }
    await Promise.all(all.map((w) => w.exited));
    clearInterval(this.healthTimer);
  }

  /** Ends every worker at once (those that can be). */
  closeNow(): void {
    this.closing = true;
    clearInterval(this.healthTimer);
    for (const w of this.live.keys()) if (!w.kill()) w.close();
  }

  /** Starts one worker and resolves once it listens. */
  private spawn(): Promise<{ worker: SupervisedWorker; address: ServerAddress }> {
    const slot: Slot = { lastBeat: 0, listening: false, retiring: false, timedOut: false };
    const worker = this.spec.start({
      heartbeat: () => (slot.lastBeat = performance.now()),
      recycle: () => this.recycle(worker, slot),
    });
    this.live.set(worker, slot);
    void worker.exited.then((how) => this.exited(worker, slot, how));
    return worker.ready.then((address) => {
      // Started while everything shuts down: close() has asked it already, ask again now it listens.
      if (this.closing) worker.close();
      slot.listening = true;
      slot.lastBeat = performance.now();
      return { worker, address };
    });
  }

  private exited(worker: SupervisedWorker, slot: Slot, how: string): void {
    this.live.delete(worker);
    // A blocked thread that could not be killed ends late: say so, so the log closes its story.
    if (slot.timedOut) this.spec.logger.info(`${worker.name}, which had timed out, has ended (${how}).`);
    if (this.closing || slot.retiring || !slot.listening) return;
    this.spec.logger.error(`${worker.name} died (${how}); starting a replacement.`);
    this.startReplacement();
  }

  /** Starts a worker in place of one that is gone, trying again until one starts. */
  private startReplacement(): void {
    if (this.closing) return;
    this.spawn().then(
      ({ worker }) => this.spec.logger.info(`${worker.name} started (replacement).`),
      (e: unknown) => {
        this.spec.logger.error(`A replacement worker failed to start: ${message(e)}`);
        setTimeout(() => this.startReplacement(), RETRY_DELAY_MS).unref();
      },
    );
  }

  /**
   * Starts a new worker, waits until it listens, then tells `old` to drain.
   * Resolves with false, `old` still serving, when the new one cannot start.
   */
  private async replace(old: SupervisedWorker, slot: Slot, why: string): Promise<boolean> {
    slot.retiring = true;
    let fresh: SupervisedWorker;
    try {
      fresh = (await this.spawn()).worker;
    } catch (e) {
      slot.retiring = false;
      this.spec.logger.error(`A new worker failed to start (${why}), so ${old.name} keeps serving: ${message(e)}`);
      return false;
    }
    if (this.closing) return true; // close() has told both to drain
    this.spec.logger.info(`${fresh.name} is listening; ${old.name} drains and stops (${why}).`);
    old.close();
    return true;
  }

  private recycle(worker: SupervisedWorker, slot: Slot): void {
    if (this.closing || slot.retiring) return;
    slot.retiring = true; // one request for its replacement, whatever it keeps serving while waiting its turn
    this.spec.logger.info(`${worker.name} reached its request limit; it will be replaced.`);
    this.queue = this.queue.then(async () => {
      if (this.closing || !this.live.has(worker)) return;
      slot.retiring = false;
      while (!this.closing && this.live.has(worker) && !(await this.replace(worker, slot, 'request limit'))) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    });
  }

  /** Checks every heartbeatMs that each listening worker has sent one within the timeout. */
  private watchHealth(): void {
    let lastCheck = performance.now();
    this.healthTimer = setInterval(() => {
      const now = performance.now();
      // This thread was itself held up (a loaded machine): heartbeats may be waiting unread, so
      // that time counts for no worker.
      if (now - lastCheck > 2 * this.heartbeatMs) for (const slot of this.live.values()) slot.lastBeat += now - lastCheck - this.heartbeatMs;
      lastCheck = now;
      const limitMs = this.spec.timeoutWorkerHealthcheck * 1000;
      for (const [worker, slot] of this.live) {
        if (!slot.listening || slot.timedOut || now - slot.lastBeat <= limitMs) continue;
        slot.timedOut = true;
        this.timedOut(worker, slot, (now - slot.lastBeat) / 1000);
      }
    }, this.heartbeatMs);
    this.healthTimer.unref();
  }

  private timedOut(worker: SupervisedWorker, slot: Slot, silentFor: number): void {
    const replacing = !this.closing && !slot.retiring;
    slot.retiring = true;
    const what = `${worker.name} timed out: no heartbeat for ${silentFor.toFixed(1)} s (limit ${this.spec.timeoutWorkerHealthcheck} s), its event loop is blocked.`;
    if (worker.kill()) {
      this.spec.logger.error(`${what} Killed it${replacing ? '; starting a replacement' : ''}.`);
    } else {
      // It drains once its loop runs again; meanwhile a replacement serves beside it.
      worker.close();
      this.spec.logger.error(`${what} ${this.spec.unkillable ?? 'It cannot be killed'}: it is told to shut down, which it does once its loop runs again${replacing ? '; starting a replacement' : ''}.`);
    }
    if (replacing) this.startReplacement();
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
