/**
 * The lifespan protocol driven from the host's side: what a server does at
 * startup and shutdown, for hosts that have no lifespan of their own (a
 * fetch runtime calling toFetchHandler's handler) and for mount(), which fans
 * one lifespan out to every mounted app.
 */
import {
  ASGI_VERSION,
  LIFESPAN_SPEC_VERSION,
  LifespanCycle,
  type AsgiApplication,
  type LifespanReceiveEvent,
  type LifespanScope,
  type Receive,
  type Send,
} from '@tsgi/core';

/** Raised by LifespanDriver when the app answers `lifespan.*.failed` (or, in mode 'on', raises). */
export class LifespanFailed extends Error {
  override name = 'LifespanFailed';
  constructor(
    readonly phase: 'startup' | 'shutdown',
    message: string,
  ) {
    super(message);
  }
}

/** Options of a LifespanDriver. */
export interface LifespanDriverOptions {
  /**
   * 'auto' (default, like uvicorn): an app that raises before answering
   * startup does not speak lifespan, and the host carries on without it;
   * 'on': that is a startup failure.
   */
  mode?: 'auto' | 'on';
  /** The lifespan state dict handed to the app (the host copies it into each request scope). */
  state?: Record<string, unknown>;
}

type Phase = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped';

/**
 * Runs one app's lifespan scope: `startup()` delivers `lifespan.startup` and
 * settles on the app's answer, `shutdown()` does the same for shutdown.
 */
export class LifespanDriver {
  /** The state dict the app may fill during startup. */
  readonly state: Record<string, unknown>;
  private readonly app: AsgiApplication;
  private readonly mode: 'auto' | 'on';
  private phase: Phase = 'idle';
  /** The one judge of which lifespan event is legal when (shared with the servers and the validator). */
  private readonly cycle = new LifespanCycle();
  /** False once the app has shown it does not speak lifespan (returned or raised without answering). */
  private supported = true;
  private appDone: Promise<void> | null = null;
  private appError: unknown = undefined;
  private appReturned = false;
  private appExited = false;
  private pendingEvent: LifespanReceiveEvent | null = null;
  private wakeReceive: ((e: LifespanReceiveEvent) => void) | null = null;
  private answer: { resolve: () => void; reject: (e: unknown) => void } | null = null;

  constructor(app: AsgiApplication, options: LifespanDriverOptions = {}) {
    this.app = app;
    this.mode = options.mode ?? 'auto';
    this.state = options.state ?? {};
  }

  /** True when the app answered startup (false for an app that does not speak lifespan). */
  get speaksLifespan(): boolean {
    return this.supported;
  }

  /** Delivers `lifespan.startup`; resolves on `lifespan.startup.complete`, rejects with LifespanFailed on failure. */
  async startup(): Promise<void> {
    if (this.phase !== 'idle') throw new Error(`lifespan startup() called twice (phase ${this.phase})`);
    this.phase = 'starting';
    const scope: LifespanScope = {
      type: 'lifespan',
      asgi: { version: ASGI_VERSION, spec_version: LIFESPAN_SPEC_VERSION },
      state: this.state,
    };
    const answered = this.awaitAnswer();
    this.deliver({ type: 'lifespan.startup' });
    this.appDone = (async () => {
      try {
        await this.app(scope, this.receive, this.send);
        this.appReturned = true;
      } catch (e) {
        this.appError = e;
      }
      this.onAppExit();
    })();
    try {
      await answered;
    } catch (e) {
      this.phase = 'stopped'; // a failed startup has nothing to shut down
      throw e;
    }
    this.phase = 'started';
  }

  /** Delivers `lifespan.shutdown` and waits for the answer; a no-op for an app that does not speak lifespan. */
  async shutdown(): Promise<void> {
    if (this.phase === 'idle' || this.phase === 'stopped') {
      this.phase = 'stopped';
      return;
    }
    if (this.phase !== 'started') throw new Error(`lifespan shutdown() called during ${this.phase}`);
    this.phase = 'stopping';
    // An app that does not speak lifespan, or whose lifespan already returned, has nobody to tell.
    if (!this.supported || this.appExited) {
      this.phase = 'stopped';
      return;
    }
    const answered = this.awaitAnswer();
    this.deliver({ type: 'lifespan.shutdown' });
    try {
      await answered;
    } finally {
      this.phase = 'stopped';
    }
    await this.appDone;
  }

  private awaitAnswer(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.answer = { resolve, reject };
    });
  }

  private settle(error?: unknown): void {
    const a = this.answer;
    this.answer = null;
    if (a === null) return;
    if (error === undefined) a.resolve();
    else a.reject(error);
  }

  private deliver(event: LifespanReceiveEvent): void {
    this.cycle.delivered(event);
    const wake = this.wakeReceive;
    if (wake !== null) {
      this.wakeReceive = null;
      wake(event);
    } else {
      this.pendingEvent = event;
    }
  }

  private readonly receive: Receive = () => {
    const e = this.pendingEvent;
    if (e !== null) {
      this.pendingEvent = null;
      return Promise.resolve(e);
    }
    // Between startup and shutdown the app waits here, as it would on a server.
    return new Promise((resolve) => {
      this.wakeReceive = resolve;
    });
  };

  private readonly send: Send = async (raw) => {
    const event = this.cycle.send(raw);
    const phase = this.phase === 'starting' ? 'startup' : 'shutdown';
    if (event.type === 'lifespan.startup.complete' || event.type === 'lifespan.shutdown.complete') {
      this.settle();
    } else {
      this.settle(new LifespanFailed(phase, event.message || `lifespan ${phase} failed`));
    }
  };

  // The app returned or raised: any phase still waiting for an answer is settled now.
  private onAppExit(): void {
    this.appExited = true;
    if (this.answer === null) return;
    if (this.phase === 'starting') {
      this.supported = false;
      if (this.appError !== undefined && this.mode === 'on') {
        this.settle(new LifespanFailed('startup', `the app raised during lifespan startup: ${String(this.appError)}`));
      } else {
        // Auto mode: an app that raises or returns here does not speak lifespan; carry on without it.
        this.settle();
      }
      return;
    }
    if (this.appReturned) this.settle();
    else this.settle(new LifespanFailed('shutdown', `the app raised during lifespan shutdown: ${String(this.appError)}`));
  }
}

/**
 * Answers a lifespan scope for an app that needs no startup or shutdown work
 * (a fetch handler, a bridged sync app): complete, complete, return. Optional
 * hooks run at each phase; a hook that throws is reported as `*.failed`.
 */
export async function answerLifespan(
  receive: Receive,
  send: Send,
  hooks: { startup?: () => void | Promise<void>; shutdown?: () => void | Promise<void> } = {},
): Promise<void> {
  for (;;) {
    const event = await receive();
    if (event.type === 'lifespan.startup') {
      try {
        await hooks.startup?.();
      } catch (e) {
        await send({ type: 'lifespan.startup.failed', message: errorMessage(e) });
        return;
      }
      await send({ type: 'lifespan.startup.complete' });
    } else if (event.type === 'lifespan.shutdown') {
      try {
        await hooks.shutdown?.();
      } catch (e) {
        await send({ type: 'lifespan.shutdown.failed', message: errorMessage(e) });
        return;
      }
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
