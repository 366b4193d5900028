/**
 * The options of @tsgi/node's `serve()`: the shared AsgiServeOptions
 * (uvicorn's flags, validated once in @tsgi/core/server) plus what is this
 * transport's own. node:http honors any keep-alive timeout, so unlike
 * @tsgi/uws every non-negative timeoutKeepAlive is taken (default 5 s, as
 * uvicorn).
 */
import { optionError, resolveAsgiOptions, type AsgiServeOptions, type ResolvedAsgiOptions, type TransportRules } from '@tsgi/core/server';

/** Options of `serve()`. Times are in seconds, sizes in bytes. */
export interface ServeOptions extends AsgiServeOptions {
  /** Negotiate permessage-deflate with WebSocket clients that offer it (uvicorn's --ws-per-message-deflate); default false. */
  wsPerMessageDeflate?: boolean;
}

/** ServeOptions after defaults and validation. */
export interface ResolvedOptions extends ResolvedAsgiOptions {
  wsPerMessageDeflate: boolean;
}

/** What node:http imposes on the common options: nothing but uvicorn's default keep-alive. */
export const NODE_RULES: TransportRules = { keepAliveDefault: 5 };

// node's timers take at most 2^31 - 1 ms; a longer keep-alive would silently become 1 ms.
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);

/** Applies defaults and validates every option; throws OptionError naming the option and the value. */
export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  const resolved = resolveAsgiOptions(options, NODE_RULES, ['wsPerMessageDeflate']);
  if (resolved.timeoutKeepAlive > MAX_TIMER_S) optionError('timeoutKeepAlive', `a non-negative number of seconds up to ${MAX_TIMER_S}`, resolved.timeoutKeepAlive);
  const wsPerMessageDeflate = options.wsPerMessageDeflate ?? false;
  if (typeof wsPerMessageDeflate !== 'boolean') optionError('wsPerMessageDeflate', 'a boolean', wsPerMessageDeflate);
  return { ...resolved, wsPerMessageDeflate };
}
