/**
 * Running the lifespan sub-protocol (spec/asgi-lifespan.md) for one server:
 * one app call for the server's lifetime, startup before the first
 * connection, shutdown after the last. The ordering rules are @tsgi/core's
 * LifespanCycle; this module adds the promises, the logging and the modes.
 *
 * Modes (uvicorn's --lifespan): 'off' never calls the app; 'auto' takes an
 * app that throws or returns before answering startup to mean "no lifespan
 * here" and serves anyway (asgi.lifespan.unsupported.1/2); 'on' makes that a
 * failed startup. `lifespan.startup.failed` fails startup in every mode.
 */
import { ASGI_VERSION, LIFESPAN_SPEC_VERSION, LifespanCycle } from '@tsgi/core';
import type { AsgiApplication, LifespanReceiveEvent, LifespanScope, Receive, Send } from '@tsgi/core';
import type { Logger } from './logger.js';
import type { LifespanMode } from './options.js';

/** Raised by `startup()` when the app failed it; the message is the app's. */
export class LifespanStartupFailed extends Error {
  override name = 'LifespanStartupFailed';
}

/** What the app answered: ok, or failed with a message. */
type Answer = { failed: false } | { failed: true; message: string };

/** Drives one app through lifespan startup and shutdown. */
export class Lifespan {
  private readonly cycle = new LifespanCycle();
  private appDone = false;
  /** The app does not take part: no shutdown event will be delivered. */
  private skipped = false;
  private answer: ((a: Answer) => void) | undefined;
  private requestShutdown!: () => void;
  private readonly shutdownAsked = new Promise<void>((resolve) => (this.requestShutdown = resolve));

  constructor(
    private readonly app: AsgiApplication,
    private readonly mode: LifespanMode,
    /** The state the app fills during startup; the server copies it into each connection scope. */
    readonly state: Record<string, unknown>,
    private readonly logger: Logger,
  ) {}

  /** Runs lifespan startup; throws LifespanStartupFailed when the app failed it. */
  async startup(): Promise<void> {
    if (this.mode === 'off') {
      this.skipped = true;
      return;
    }
    this.logger.info('Waiting for application startup.');
    const answered = new Promise<Answer>((resolve) => (this.answer = resolve));
    const scope: LifespanScope = { type: 'lifespan', asgi: { version: ASGI_VERSION, spec_version: LIFESPAN_SPEC_VERSION }, state: this.state };
    void this.run(scope);
    const a = await answered;
    if (a.failed) {
      this.skipped = true;
      this.logger.error(a.message === '' ? 'Application startup failed. Exiting.' : `Application startup failed: ${a.message}`);
      throw new LifespanStartupFailed(a.message === '' ? 'application startup failed' : a.message);
    }
    if (!this.skipped) this.logger.info('Application startup complete.');
  }

  /** Runs lifespan shutdown; logs a failure, never throws. */
  async shutdown(): Promise<void> {
    if (this.skipped || this.appDone || this.cycle.phase !== 'started') return;
    this.logger.info('Waiting for application shutdown.');
    const answered = new Promise<Answer>((resolve) => (this.answer = resolve));
    this.requestShutdown();
    const a = await answered;
    if (a.failed) this.logger.error(a.message === '' ? 'Application shutdown failed.' : `Application shutdown failed: ${a.message}`);
    else this.logger.info('Application shutdown complete.');
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
      if (e.type === 'lifespan.startup.failed' || e.type === 'lifespan.shutdown.failed') {
        this.settle({ failed: true, message: e.message ?? '' });
      } else {
        this.settle({ failed: false });
      }
    };
    const waitingForStartup = () => this.cycle.phase === 'idle' || this.cycle.phase === 'starting';
    try {
      await this.app(scope, receive as Receive, send);
      if (waitingForStartup()) {
        // asgi.lifespan.unsupported.2: `if (scope.type === 'lifespan') return;` opts out quietly.
        this.logger.debug('ASGI app returned from the lifespan call without answering startup: serving without lifespan.');
        this.skipped = true;
        this.settle(this.mode === 'on' ? { failed: true, message: 'the app does not support lifespan (it returned without answering lifespan.startup)' } : { failed: false });
      } else if (this.cycle.phase === 'stopping') {
        this.settle({ failed: false });
      }
    } catch (err) {
      if (waitingForStartup()) {
        if (this.mode === 'auto') {
          this.logger.info("ASGI 'lifespan' protocol appears unsupported.");
          this.logger.debug(`lifespan error: ${err instanceof Error ? err.message : String(err)}`);
          this.skipped = true;
          this.settle({ failed: false });
        } else {
          this.logger.error("Exception in 'lifespan' protocol", err);
          this.settle({ failed: true, message: err instanceof Error ? err.message : String(err) });
        }
      } else {
        this.logger.error("Exception in 'lifespan' protocol", err);
        if (this.cycle.phase === 'stopping') this.settle({ failed: true, message: '' });
      }
    } finally {
      this.appDone = true;
    }
  }

  private settle(a: Answer): void {
    const f = this.answer;
    this.answer = undefined;
    f?.(a);
  }
}
