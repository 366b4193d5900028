/**
 * The one lifespan runner (spec/asgi-lifespan.md): one app call for a
 * server's lifetime, startup before the first connection, shutdown after the
 * last. The ordering rules are LifespanCycle's; this module adds the
 * promises, the modes and the log lines. Every host drives it: the servers,
 * the bridge's mount() and toFetchHandler(), and the test client.
 *
 * Modes (uvicorn's --lifespan): 'off' never calls the app; 'auto' takes an
 * app that raises or returns before answering startup to mean "no lifespan
 * here" and carries on (asgi.lifespan.unsupported.1/2); 'on' makes that a
 * failed startup. `lifespan.startup.failed` fails startup in every mode.
 */
import { LifespanCycle } from '../asgi/lifespan-cycle.js';
import { ASGI_VERSION, LIFESPAN_SPEC_VERSION, type AsgiApplication, type LifespanReceiveEvent, type LifespanScope, type Receive, type Send } from '../asgi/types.js';
import { LifespanShutdownFailed, LifespanStartupFailed } from '../errors.js';
import { silentLogger, type Logger } from './logger.js';
import type { LifespanMode } from './options.js';

/** Options of a LifespanRunner. */
export interface LifespanRunnerOptions {
  /** 'auto' (default), 'on' or 'off'. */
  mode?: LifespanMode;
  /** The state dict the app fills during startup; the host copies it into each connection scope. */
  state?: Record<string, unknown>;
  /** Where the runner reports (uvicorn's lines); default silent. */
  logger?: Logger;
}

/** What the app answered. */
type Answer = { ok: true } | { ok: false; message: string; cause?: unknown };

/** Drives one app through lifespan startup and shutdown. */
export class LifespanRunner {
  /** The state the app fills during startup. */
  readonly state: Record<string, unknown>;
  /** Resolves once the app's lifespan call has returned or raised (never rejects). */
  readonly finished: Promise<void>;
  private readonly app: AsgiApplication;
  private readonly mode: LifespanMode;
  private readonly logger: Logger;
  private readonly cycle = new LifespanCycle();
  private started = false;
  private appDone = false;
  /** The app takes no part: nothing to shut down. */
  private skipped = false;
  private answer: ((a: Answer) => void) | undefined;
  private requestShutdown!: () => void;
  private readonly shutdownAsked = new Promise<void>((resolve) => (this.requestShutdown = resolve));
  private markFinished!: () => void;

  constructor(app: AsgiApplication, options: LifespanRunnerOptions = {}) {
    this.app = app;
    this.mode = options.mode ?? 'auto';
    this.state = options.state ?? {};
    this.logger = options.logger ?? silentLogger;
    this.finished = new Promise<void>((resolve) => (this.markFinished = resolve));
  }

  /** Where the lifespan stands (LifespanCycle's phase). */
  get phase(): LifespanCycle['phase'] {
    return this.cycle.phase;
  }

  /** True while the app takes part in the lifespan (false for mode 'off' and for an app that does not speak it). */
  get supported(): boolean {
    return !this.skipped;
  }

  /** Runs lifespan startup; rejects with LifespanStartupFailed (its `cause` the app's error, if it raised). */
  async startup(): Promise<void> {
    if (this.started) throw new Error('lifespan startup() can be called only once');
    this.started = true;
    if (this.mode === 'off') {
      this.skipped = true;
      this.markFinished();
      return;
    }
    this.logger.info('Waiting for application startup.');
    const answered = new Promise<Answer>((resolve) => (this.answer = resolve));
    const scope: LifespanScope = { type: 'lifespan', asgi: { version: ASGI_VERSION, spec_version: LIFESPAN_SPEC_VERSION }, state: this.state };
    void this.run(scope);
    const a = await answered;
    if (!a.ok) {
      this.skipped = true;
      this.logger.error(a.message === '' ? 'Application startup failed. Exiting.' : `Application startup failed: ${a.message}`);
      throw new LifespanStartupFailed(a.message, a.cause);
    }
    if (!this.skipped) this.logger.info('Application startup complete.');
  }

  /** Runs lifespan shutdown after a successful startup (a no-op otherwise); rejects with LifespanShutdownFailed. */
  async shutdown(): Promise<void> {
    if (this.skipped || this.appDone || this.cycle.phase !== 'started') return;
    this.logger.info('Waiting for application shutdown.');
    const answered = new Promise<Answer>((resolve) => (this.answer = resolve));
    this.requestShutdown();
    const a = await answered;
    if (!a.ok) {
      this.logger.error(a.message === '' ? 'Application shutdown failed.' : `Application shutdown failed: ${a.message}`);
      throw new LifespanShutdownFailed(a.message, a.cause);
    }
    this.logger.info('Application shutdown complete.');
  }

  private async run(scope: LifespanScope): Promise<void> {
    const receive: Receive<LifespanReceiveEvent> = async () => {
      if (this.cycle.phase === 'idle') {
        const e: LifespanReceiveEvent = { type: 'lifespan.startup' };
        this.cycle.delivered(e);
        return e;
      }
      await this.shutdownAsked;
      if (this.cycle.phase !== 'started') return new Promise<never>(() => {}); // nothing more to deliver
      const e: LifespanReceiveEvent = { type: 'lifespan.shutdown' };
      this.cycle.delivered(e);
      return e;
    };
    const send: Send = async (event) => {
      const e = this.cycle.send(event);
      if (e.type === 'lifespan.startup.failed' || e.type === 'lifespan.shutdown.failed') this.settle({ ok: false, message: e.message ?? '' });
      else this.settle({ ok: true });
    };
    const waitingForStartup = () => this.cycle.phase === 'idle' || this.cycle.phase === 'starting';
    try {
      await this.app(scope, receive as Receive, send);
      if (waitingForStartup()) {
        // asgi.lifespan.unsupported.2: `if (scope.type === 'lifespan') return;` opts out quietly.
        this.logger.debug('ASGI app returned from the lifespan call without answering startup: serving without lifespan.');
        this.skipped = true;
        this.settle(this.mode === 'on' ? { ok: false, message: 'the app does not support lifespan (it returned without answering lifespan.startup)' } : { ok: true });
      } else if (this.cycle.phase === 'stopping') {
        this.settle({ ok: true });
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (waitingForStartup()) {
        if (this.mode === 'auto') {
          this.logger.info("ASGI 'lifespan' protocol appears unsupported.");
          this.logger.debug(`lifespan error: ${message}`);
          this.skipped = true;
          this.settle({ ok: true });
        } else {
          this.logger.error("Exception in 'lifespan' protocol", err);
          this.settle({ ok: false, message, cause: err });
        }
      } else {
        this.logger.error("Exception in 'lifespan' protocol", err);
        if (this.cycle.phase === 'stopping') this.settle({ ok: false, message, cause: err });
      }
    } finally {
      this.appDone = true;
      // A shutdown asked for after the app's call ended, before this ran (shutdown() saw the app still running): nobody is left to tell.
      if (this.answer !== undefined) this.settle({ ok: true });
      this.markFinished();
    }
  }

  private settle(a: Answer): void {
    const f = this.answer;
    this.answer = undefined;
    f?.(a);
  }
}
