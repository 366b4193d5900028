/**
 * The lifespan protocol driven from a test: startup() delivers
 * lifespan.startup and waits for the app's answer, shutdown() does the same
 * for lifespan.shutdown. The ordering rules are LifespanCycle's, the same the
 * servers follow; the state the app fills during startup is what the client
 * copies into every request scope afterwards.
 */
import { LifespanCycle } from '../asgi/lifespan-cycle.js';
import {
  LIFESPAN_SPEC_VERSION,
  ASGI_VERSION,
  type AsgiApplication,
  type LifespanReceiveEvent,
  type LifespanScope,
  type LifespanSendEvent,
  type Receive,
  type Send,
  type SendEvent,
} from '../asgi/types.js';
import { Mailbox } from './channel.js';

/** The app answered lifespan.startup.failed; `message` is the app's. */
export class LifespanStartupFailed extends Error {
  override name = 'LifespanStartupFailed';
  constructor(readonly appMessage: string) {
    super(`lifespan startup failed: ${appMessage || '(no message)'}`);
  }
}

/** The app answered lifespan.shutdown.failed; `message` is the app's. */
export class LifespanShutdownFailed extends Error {
  override name = 'LifespanShutdownFailed';
  constructor(readonly appMessage: string) {
    super(`lifespan shutdown failed: ${appMessage || '(no message)'}`);
  }
}

/** The app returned without answering a lifespan event. */
export class LifespanAppReturned extends Error {
  override name = 'LifespanAppReturned';
}

/** One lifespan scope of an app, started and shut down by the test. */
export class LifespanSession {
  /** The lifespan state: the dict the app fills during startup, shallow-copied into every later request scope. */
  readonly state: Record<string, unknown> = {};
  private readonly app: AsgiApplication;
  private readonly cycle = new LifespanCycle();
  private readonly toApp = new Mailbox<LifespanReceiveEvent>();
  private readonly answers = new Mailbox<LifespanSendEvent>();
  private settled: Promise<void> | null = null;
  private appError: { error: unknown } | null = null;

  constructor(app: AsgiApplication) {
    this.app = app;
  }

  /** Where the lifespan stands (LifespanCycle's phase). */
  get phase(): LifespanCycle['phase'] {
    return this.cycle.phase;
  }

  /**
   * Calls the app with a lifespan scope, delivers lifespan.startup and waits
   * for the answer: resolves with the state on startup.complete, rejects
   * with LifespanStartupFailed (carrying the app's message) on
   * startup.failed, or with the app's error if it raises first.
   */
  async startup(): Promise<Record<string, unknown>> {
    if (this.settled !== null) throw new Error('lifespan startup() can be called only once');
    const scope: LifespanScope = { type: 'lifespan', asgi: { version: ASGI_VERSION, spec_version: LIFESPAN_SPEC_VERSION }, state: this.state };
    this.settled = this.run(scope);
    const answer = await this.deliver({ type: 'lifespan.startup' });
    if (answer.type === 'lifespan.startup.failed') throw new LifespanStartupFailed(answer.message ?? '');
    return this.state;
  }

  /**
   * Delivers lifespan.shutdown, waits for the answer and for the app to
   * return, and resolves with the state as the app left it (to check its
   * cleanup): rejects with LifespanShutdownFailed on shutdown.failed, or with
   * the app's error if it raises.
   */
  async shutdown(): Promise<Record<string, unknown>> {
    if (this.cycle.phase !== 'started') throw new Error(`lifespan shutdown() needs a completed startup; the lifespan is ${this.cycle.phase}`);
    const answer = await this.deliver({ type: 'lifespan.shutdown' });
    if (answer.type === 'lifespan.shutdown.failed') throw new LifespanShutdownFailed(answer.message ?? '');
    await this.settled;
    if (this.appError !== null) throw this.appError.error;
    return this.state;
  }

  private async run(scope: LifespanScope): Promise<void> {
    try {
      await this.app(scope, this.receive as Receive, this.send as Send);
      this.answers.fail(new LifespanAppReturned(`the app returned while the lifespan was ${this.cycle.phase}, without answering`));
    } catch (error) {
      this.appError = { error };
      this.answers.fail(error);
    }
  }

  private async deliver(event: LifespanReceiveEvent): Promise<LifespanSendEvent> {
    this.cycle.delivered(event);
    this.toApp.put(event);
    return this.answers.take();
  }

  private readonly receive = (): Promise<LifespanReceiveEvent> => this.toApp.take();

  private readonly send = async (event: SendEvent): Promise<void> => {
    this.answers.put(this.cycle.send(event));
  };
}
