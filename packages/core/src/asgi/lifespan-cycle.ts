/**
 * The sans-IO state machine of the lifespan protocol (spec/asgi.md,
 * "Lifespan"): the server delivers lifespan.startup, the app answers
 * complete or failed; later the server delivers lifespan.shutdown and the app
 * answers again. One instance per lifespan scope.
 */
import { ProtocolError } from '../errors.js';
import { checkLifespanSendEvent, eventType } from './events.js';
import type { LifespanSendEvent } from './types.js';

/** Where the lifespan stands. */
export type LifespanPhase =
  /** Nothing delivered yet: the server's next event must be lifespan.startup. */
  | 'idle'
  /** lifespan.startup delivered: the app owes startup.complete or startup.failed. */
  | 'starting'
  /** Startup complete: the server's next event is lifespan.shutdown. */
  | 'started'
  /** lifespan.shutdown delivered: the app owes shutdown.complete or shutdown.failed. */
  | 'stopping'
  /** Startup failed or shutdown answered: nothing more happens. */
  | 'ended';

/** Tracks the lifespan exchange; checks both the server's and the app's events. */
export class LifespanCycle {
  private _phase: LifespanPhase = 'idle';
  private _failed: string | null = null;

  /** Current phase. */
  get phase(): LifespanPhase {
    return this._phase;
  }
  /** The message of startup.failed or shutdown.failed ('' when none was given), or null. */
  get failure(): string | null {
    return this._failed;
  }

  /** Records an event the server delivers through receive(); throws asgi.lifespan.order.2 when it is out of order. */
  delivered(event: unknown): void {
    const type = eventType(event);
    if (type === 'lifespan.startup' && this._phase === 'idle') {
      this._phase = 'starting';
    } else if (type === 'lifespan.shutdown' && this._phase === 'started') {
      this._phase = 'stopping';
    } else {
      throw new ProtocolError('asgi.lifespan.order.2', `the server delivered "${type}" while the lifespan is ${this._phase}`, type);
    }
  }

  /** Validates an event the app sends; throws asgi.lifespan.order.1 when it does not answer the pending phase. */
  send(event: unknown): LifespanSendEvent {
    const e = checkLifespanSendEvent(event);
    const startup = e.type === 'lifespan.startup.complete' || e.type === 'lifespan.startup.failed';
    if (this._phase !== (startup ? 'starting' : 'stopping')) {
      throw new ProtocolError('asgi.lifespan.order.1', `"${e.type}" sent while the lifespan is ${this._phase}`, e.type);
    }
    if (e.type === 'lifespan.startup.complete') {
      this._phase = 'started';
    } else {
      this._phase = 'ended';
      if (e.type !== 'lifespan.shutdown.complete') this._failed = e.message ?? '';
    }
    return e;
  }
}
