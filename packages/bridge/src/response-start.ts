/**
 * The `http.response.start` of a response that comes from elsewhere (a
 * WSGI status line, a fetch Response), shared by wsgiToAsgi and
 * fromFetchHandler.
 */
import type { ByteString, HttpResponseStartEvent, HttpScope } from '@tsgi/core';

/**
 * The start event for `status` and `headers`, with `reason` as its
 * reason_phrase where the scope announces http.response.reason_phrase (and
 * only there: asgi.ext.announce.1); a null reason means the standard one.
 */
export function responseStart(scope: HttpScope, status: number, headers: Array<[ByteString, ByteString]>, reason: string | null): HttpResponseStartEvent {
  const start: HttpResponseStartEvent = { type: 'http.response.start', status, headers };
  if (reason !== null && scope.extensions?.['http.response.reason_phrase'] !== undefined) start.reason_phrase = reason;
  return start;
}
