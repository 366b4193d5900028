/**
 * How one run of an app ends, decided once for every host: the app returned
 * or raised, and the cycle says how far the response got; from that follow
 * what goes to the client (nothing, a 500, a cut connection, a close frame)
 * and what goes to the log (nothing when the client left and the app just
 * let ClientDisconnected escape). Transports carry the ending out; none
 * decides it.
 */
import type { HttpResponseCycle } from '../asgi/http-cycle.js';
import type { AsgiApplication, Receive, Scope, Send } from '../asgi/types.js';
import type { WebSocketCycle } from '../asgi/websocket-cycle.js';
import { isClientDisconnected } from '../errors.js';
import type { Logger } from './logger.js';

/** How the app's call ended. */
export type AppExit = { raised: false } | { raised: true; error: unknown };

/** The exit of an app that returned (one frozen object for every such run). */
export const RETURNED: AppExit = Object.freeze({ raised: false });

/** A line for the server log, with the app's exception when it raised. */
export interface EndingLog {
  message: string;
  error?: unknown;
}

/**
 * What an HTTP transport does once the app ended:
 * - 'none': the response is complete, or the client is gone;
 * - 'respond_500': answer 500 if no byte of the response is on the wire yet; cut the connection if some
 *   are; nothing if the response is all out (the app raised after it was complete);
 * - 'abort': the app started a response and did not finish it: cut the connection, so the client sees a
 *   truncated response (asgi.app.return.2); a transport that held the head back, so that nothing is on
 *   the wire yet, answers 500 instead.
 */
export interface HttpEnding {
  action: 'none' | 'respond_500' | 'abort';
  log: EndingLog | null;
}

/**
 * What a WebSocket transport does once the app ended (asgi.app.return.3):
 * 'deny_403' before the handshake was answered, 'close_1000' on an open
 * socket, 'abort' mid denial response; after an exception 'respond_500'
 * before the handshake was answered and 'close_1011' on an open socket.
 */
export interface WebSocketEnding {
  action: 'none' | 'deny_403' | 'respond_500' | 'close_1000' | 'close_1011' | 'abort';
  log: EndingLog | null;
}

const NONE_QUIET: HttpEnding & WebSocketEnding = Object.freeze({ action: 'none', log: null });

/** True when the app only let the client's departure escape: not an app bug, nothing to log. */
function quietExit(disconnected: boolean, exit: AppExit): boolean {
  return disconnected && (!exit.raised || isClientDisconnected(exit.error));
}

/**
 * The ending of an HTTP run, from its response cycle. `responseEnded`: the
 * transport ended the response on the wire; it differs from the cycle's
 * `finished` when carrying out the last event failed (a pathsend whose file
 * vanished) and the app caught the error and returned.
 */
export function httpEnding(cycle: HttpResponseCycle, exit: AppExit, responseEnded: boolean = cycle.finished): HttpEnding {
  if (responseEnded && !exit.raised) return NONE_QUIET;
  if (quietExit(cycle.disconnected, exit)) return NONE_QUIET;
  if (exit.raised) {
    const log = { message: 'Exception in ASGI application', error: exit.error };
    return { action: cycle.disconnected ? 'none' : 'respond_500', log };
  }
  if (!cycle.started) return { action: 'respond_500', log: { message: 'ASGI callable returned without starting response.' } };
  const log = { message: 'ASGI callable returned without completing response.' };
  return { action: cycle.finished ? 'respond_500' : 'abort', log };
}

/** The ending of a WebSocket run, from its cycle; `path` names the connection in the log. */
export function websocketEnding(cycle: WebSocketCycle, exit: AppExit, path: string): WebSocketEnding {
  if (quietExit(cycle.disconnected, exit)) return NONE_QUIET;
  const state = cycle.state;
  if (exit.raised) {
    const log = { message: `Exception in ASGI application (websocket ${path})`, error: exit.error };
    const action = state === 'connecting' ? 'respond_500' : state === 'responding' ? 'abort' : state === 'connected' ? 'close_1011' : 'none';
    return { action, log };
  }
  switch (cycle.whenAppReturns()) {
    case 'deny_403':
      return { action: 'deny_403', log: null };
    case 'close_1000':
      return { action: 'close_1000', log: null };
    case 'abort':
      return { action: 'abort', log: null };
    default:
      return NONE_QUIET;
  }
}

const noop = (): void => {};

/**
 * A promise handed to the app (what send() and receive() return), marked
 * handled: an app that does not await a send() that then fails (the client
 * left) must not take the process down with an unhandled rejection. An app
 * that awaits it still gets the error.
 */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(noop);
  return p;
}

/**
 * Calls the app and hands its exit to `onExit` once its promise settles (a
 * synchronous throw counts as raising). An error thrown by `onExit` is a bug
 * of the transport: it is logged, never left as an unhandled rejection.
 */
export function runApp(app: AsgiApplication, scope: Scope, receive: Receive, send: Send, onExit: (exit: AppExit) => void, logger: Logger): void {
  let running: Promise<void>;
  try {
    running = app(scope, receive, send);
    if (typeof (running as Promise<void> | undefined)?.then !== 'function') running = Promise.resolve();
  } catch (error) {
    running = Promise.reject(error);
  }
  running.then(
    () => exitGuarded(onExit, RETURNED, logger),
    (error: unknown) => exitGuarded(onExit, { raised: true, error }, logger),
  );
}

function exitGuarded(onExit: (exit: AppExit) => void, exit: AppExit, logger: Logger): void {
  try {
    onExit(exit);
  } catch (e) {
    logger.error('Internal error after the ASGI application finished', e);
  }
}
