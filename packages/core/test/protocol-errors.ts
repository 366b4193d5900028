/** What the protocol checks of @tsgi/core threw, for the tests that assert which clause a value breaks. */
import { isProtocolError, type ProtocolError } from '@tsgi/core';

/** Runs `fn` and returns the ProtocolError it throws (fails the test otherwise). */
export function protocolErrorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (e) {
    if (isProtocolError(e)) return e;
    throw e;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

/** Runs `fn` and returns the clause id of the ProtocolError it throws (fails the test otherwise). */
export const clauseOf = (fn: () => unknown): string => protocolErrorOf(fn).clause;
