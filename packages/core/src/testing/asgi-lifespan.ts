/**
 * The lifespan protocol driven from a test: startup() delivers
 * lifespan.startup and waits for the app's answer, shutdown() does the same
 * for lifespan.shutdown. It runs on the servers' own LifespanRunner in mode
 * 'on', so the ordering rules are the servers'; a test sees the app's own
 * error where the app raised. The state the app fills during startup is what
 * the client copies into every request scope afterwards.
 */
import type { LifespanCycle } from '../asgi/lifespan-cycle.js';
import type { AsgiApplication } from '../asgi/types.js';
import { LifespanShutdownFailed, LifespanStartupFailed } from '../errors.js';
import { LifespanRunner } from '../server/lifespan.js';

/** One lifespan scope of an app, started and shut down by the test. */
export class LifespanSession {
  private readonly runner: LifespanRunner;

  constructor(app: AsgiApplication) {
    this.runner = new LifespanRunner(app, { mode: 'on' });
  }

  /** The lifespan state: the dict the app fills during startup, shallow-copied into every later request scope. */
  get state(): Record<string, unknown> {
    return this.runner.state;
  }

  /** Where the lifespan stands (LifespanCycle's phase). */
  get phase(): LifespanCycle['phase'] {
    return this.runner.phase;
  }

  /**
   * Calls the app with a lifespan scope, delivers lifespan.startup and waits
   * for the answer: resolves with the state on startup.complete, rejects
   * with LifespanStartupFailed (carrying the app's message) on
   * startup.failed, or with the app's error if it raises first.
   */
  async startup(): Promise<Record<string, unknown>> {
    try {
      await this.runner.startup();
    } catch (e) {
      throw unwrap(e, LifespanStartupFailed);
    }
    return this.state;
  }

  /**
   * Delivers lifespan.shutdown, waits for the answer and for the app to
   * return, and resolves with the state as the app left it (to check its
   * cleanup): rejects with LifespanShutdownFailed on shutdown.failed, or with
   * the app's error if it raises.
   */
  async shutdown(): Promise<Record<string, unknown>> {
    if (this.runner.phase !== 'started') throw new Error(`lifespan shutdown() needs a completed startup; the lifespan is ${this.runner.phase}`);
    try {
      await this.runner.shutdown();
    } catch (e) {
      throw unwrap(e, LifespanShutdownFailed);
    }
    await this.runner.finished;
    return this.state;
  }
}

/** The app's own error when it raised, else the runner's failure. */
function unwrap(e: unknown, failure: typeof LifespanStartupFailed | typeof LifespanShutdownFailed): unknown {
  return e instanceof failure && e.cause !== undefined ? e.cause : e;
}
