/**
 * Errors shared by every tsgi package. Each carries a brand (a registered
 * symbol) so that `isX()` works across module copies and bundles, where
 * `instanceof` would not.
 */
import { describe } from './bytes.js';

const PROTOCOL = Symbol.for('tsgi.ProtocolError');
const DISCONNECTED = Symbol.for('tsgi.ClientDisconnected');

/** An app or server broke a rule of spec/: names the clause id and the offending value. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  readonly [PROTOCOL] = true;
  /** Clause id in spec/, e.g. `asgi.http.response.start.2`. */
  readonly clause: string;
  readonly value: unknown;
  constructor(clause: string, message: string, value?: unknown, hasValue = arguments.length >= 3) {
    super(`[${clause}] ${message}${hasValue ? `; got ${describe(value)}` : ''}`);
    this.clause = clause;
    this.value = value;
  }
}

/** True for a ProtocolError from any copy of @tsgi/core. */
export function isProtocolError(e: unknown): e is ProtocolError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[PROTOCOL] === true;
}

/**
 * Raised by `send()` once the client has gone (ASGI spec_version 2.4: an
 * OSError subclass in Python). A server that sees it escape the app ends the
 * request quietly: it is not an app bug.
 */
export class ClientDisconnected extends Error {
  override name = 'ClientDisconnected';
  readonly [DISCONNECTED] = true;
  readonly code = 'ECONNRESET';
  constructor(message = 'client disconnected') {
    super(message);
  }
}

/** True for a ClientDisconnected from any copy of @tsgi/core. */
export function isClientDisconnected(e: unknown): e is ClientDisconnected {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[DISCONNECTED] === true;
}

/** The app failed lifespan startup: it answered `lifespan.startup.failed` (its message is `appMessage`), or raised where that counts as failing. */
export class LifespanStartupFailed extends Error {
  override name = 'LifespanStartupFailed';
  constructor(
    /** The app's message ('' when it gave none, or the error's message when it raised). */
    readonly appMessage: string,
    cause?: unknown,
  ) {
    super(appMessage === '' ? 'the app answered lifespan.startup.failed without a message' : appMessage, cause === undefined ? undefined : { cause });
  }
}

/** The app failed lifespan shutdown: it answered `lifespan.shutdown.failed` (its message is `appMessage`), or raised. */
export class LifespanShutdownFailed extends Error {
  override name = 'LifespanShutdownFailed';
  constructor(
    readonly appMessage: string,
    cause?: unknown,
  ) {
    super(appMessage === '' ? 'the app answered lifespan.shutdown.failed without a message' : appMessage, cause === undefined ? undefined : { cause });
  }
}
