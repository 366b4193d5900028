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
  /** WebSocket messages received and not yet taken by the app past which the socket is no longer read (uvicorn's --ws-max-queue); default 32. */
  wsMaxQueue?: number;
  /** Serve HTTP/2 too: chosen by ALPN over TLS, and on plain TCP for a connection that opens with the HTTP/2 preface (h2c prior knowledge, as hypercorn); default true. False serves HTTP/1.x only: the preface is answered 400. */
  http2?: boolean;
  /** Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); default 100, as hypercorn. */
  h2MaxConcurrentStreams?: number;
  /** Largest HTTP/2 header list accepted, in bytes (SETTINGS_MAX_HEADER_LIST_SIZE); default 65536, as hypercorn. */
  h2MaxHeaderListSize?: number;
}

/** ServeOptions after defaults and validation. */
export interface ResolvedOptions extends ResolvedAsgiOptions {
  wsPerMessageDeflate: boolean;
  wsMaxQueue: number;
  http2: boolean;
  h2MaxConcurrentStreams: number;
  h2MaxHeaderListSize: number;
}

/** What node:http imposes on the common options: nothing but uvicorn's default keep-alive. */
export const NODE_RULES: TransportRules = { keepAliveDefault: 5 };

// node's timers take at most 2^31 - 1 ms; a longer keep-alive would silently become 1 ms.
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);

/** Applies defaults and validates every option; throws OptionError naming the option and the value. */
export function resolveOptions(options: ServeOptions = {}): ResolvedOptions {
  const resolved = resolveAsgiOptions(options, NODE_RULES, ['wsPerMessageDeflate', 'wsMaxQueue', 'http2', 'h2MaxConcurrentStreams', 'h2MaxHeaderListSize']);
  if (resolved.timeoutKeepAlive > MAX_TIMER_S) optionError('timeoutKeepAlive', `a non-negative number of seconds up to ${MAX_TIMER_S}`, resolved.timeoutKeepAlive);
  const wsPerMessageDeflate = options.wsPerMessageDeflate ?? false;
  if (typeof wsPerMessageDeflate !== 'boolean') optionError('wsPerMessageDeflate', 'a boolean', wsPerMessageDeflate);
  const wsMaxQueue = options.wsMaxQueue ?? 32;
  if (!Number.isSafeInteger(wsMaxQueue) || wsMaxQueue < 1) optionError('wsMaxQueue', 'a positive integer (messages)', wsMaxQueue);
  const http2 = options.http2 ?? true;
  if (typeof http2 !== 'boolean') optionError('http2', 'a boolean', http2);
  const h2MaxConcurrentStreams = options.h2MaxConcurrentStreams ?? 100;
  // SETTINGS values are 32-bit unsigned (RFC 9113 section 6.5.2).
  if (!Number.isInteger(h2MaxConcurrentStreams) || h2MaxConcurrentStreams < 1 || h2MaxConcurrentStreams > 2 ** 32 - 1) optionError('h2MaxConcurrentStreams', 'an integer from 1 to 2^32 - 1', h2MaxConcurrentStreams);
  const h2MaxHeaderListSize = options.h2MaxHeaderListSize ?? 65536;
  if (!Number.isInteger(h2MaxHeaderListSize) || h2MaxHeaderListSize < 1 || h2MaxHeaderListSize > 2 ** 32 - 1) optionError('h2MaxHeaderListSize', 'an integer from 1 to 2^32 - 1 (bytes)', h2MaxHeaderListSize);
  return { ...resolved, wsPerMessageDeflate, wsMaxQueue, http2, h2MaxConcurrentStreams, h2MaxHeaderListSize };
}
