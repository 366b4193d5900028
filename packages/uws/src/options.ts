/**
 * The options of `serve()`: the event-loop servers' options of
 * @tsgi/core/server, validated in JavaScript before anything reaches native
 * code (a bad value handed to uWebSockets.js can abort the process), plus
 * the one rule uWebSockets.js imposes on them.
 */
import { resolveAsgiOptions, type AsgiServeOptions, type ResolvedAsgiOptions } from '@tsgi/core/server';

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
  return resolveAsgiOptions(options, {
    keepAliveDefault: 10,
    keepAliveOnly: { values: [0, 10], rule: '10 (uWebSockets.js v20.30 closes idle HTTP connections after a fixed 10 s) or 0 (no keep-alive)' },
    dateHeaderAlways: 'uWebSockets.js v20.30 writes the Date header of every response itself',
  });
}
