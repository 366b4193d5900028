/**
 * Whether a request may reach the app at all, decided the same way on every
 * event-loop server: a head the shared rules refused gets their status, past
 * limitConcurrency 503, and a declared body over limitMaxBodySize 413
 * (closed, since the body is not read). The transport writes the answer; the
 * app never runs. Shutdown is no reason to refuse: a request that arrives on
 * a connection already open during the drain is served, with Connection:
 * close, so a load balancer in front never sees a failure it must retry.
 */
import type { ServerContext } from './lifecycle.js';
import type { HeadFault } from './request-head.js';

/** What admission reads of a checked head (a HeadRules after end()). */
export interface CheckedHead {
  readonly fault: HeadFault | null;
  /** The declared Content-Length, or -1. */
  readonly contentLength: number;
}

/** An answer given without the app: its status, whether the connection closes after it, and the warning to log. */
export interface Refusal {
  status: number;
  close: boolean;
  warning: string | null;
}

/** The refusal for a request whose head `rules` just checked, or null when the app may run it. */
export function refusalOf(ctx: ServerContext, rules: CheckedHead): Refusal | null {
  const { connections, options } = ctx;
  if (rules.fault !== null) return { status: rules.fault.status, close: true, warning: `Invalid HTTP request received: ${rules.fault.reason}.` };
  const limit = options.limitConcurrency;
  if (limit !== null && connections.size >= limit) return { status: 503, close: options.timeoutKeepAlive === 0, warning: 'Exceeded concurrency limit.' };
  const maxBody = options.limitMaxBodySize;
  if (maxBody !== null && rules.contentLength > maxBody) {
    return { status: 413, close: true, warning: `Request body of ${rules.contentLength} bytes is larger than limitMaxBodySize (${maxBody}): refused.` };
  }
  return null;
}
