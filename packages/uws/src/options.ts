/**
 * The options of `serve()`: the event-loop servers' options of
 * @tsgi/core/server, validated in JavaScript before anything reaches native
 * code (a bad value handed to uWebSockets.js can abort the process), plus
 * the one rule uWebSockets.js imposes on them.
 */
import { OptionError, resolveAsgiOptions, type AsgiServeOptions, type ResolvedAsgiOptions } from '@tsgi/core/server';

/**
 * Options of `serve()`. timeoutKeepAlive: uWebSockets.js v20.30 closes idle
 * HTTP connections after a fixed 10 s, so only 10 (default) and 0 (every
 * response closes its connection) can be honored.
 */
export type ServeOptions = AsgiServeOptions;

/** Options after defaults and validation. */
export type ResolvedOptions = ResolvedAsgiOptions;

/** Applies defaults and validates every option; throws an OptionError naming the option and value. */
export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  const resolved = resolveAsgiOptions(options, {
    keepAliveDefault: 10,
    keepAliveOnly: { values: [0, 10], rule: '10 (uWebSockets.js v20.30 closes idle HTTP connections after a fixed 10 s) or 0 (no keep-alive)' },
    dateHeaderAlways: 'uWebSockets.js v20.30 writes the Date header of every response itself',
    fdUnsupported: 'uWebSockets.js v20.30 binds its own listening sockets; use the node server',
    backlogFixed: { value: 512, why: 'uWebSockets.js v20.30 listens with a backlog of 512 and takes no other' },
    maxHead: { bytes: 64 * 1024, why: 'uWebSockets.js v20.30 drops a request head of about 100 KiB or more without an answer' },
  });
  if (resolved.tls !== null && resolved.tls.certReqs === 2) {
    // Given a CA file, uWebSockets.js v20.30 verifies a client certificate that is presented but admits a client that presents none.
    throw OptionError.conflict('sslCertReqs', 2, ' (client certificate required) is not possible on uWebSockets.js v20.30, which admits a client without a certificate; use 1 (optional) or the node server');
  }
  return resolved;
}
