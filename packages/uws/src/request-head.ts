/**
 * Reading a request head out of uWebSockets.js: everything is copied at
 * entry, because an HttpRequest is valid only during the synchronous route
 * handler. Shared by the HTTP handler and the WebSocket upgrade handler.
 */
import { applyProxyHeaders, normalizeIp, type RequestHead } from '@tsgi/core';
import type { HttpRequest, HttpResponse } from './binding.js';
import type { ServerContext } from './context.js';

/** What the head says about the request body. */
export interface BodyInfo {
  /** Content-Length, or -1 when absent (or unparseable). */
  contentLength: number;
  /** Transfer-Encoding was present (a chunked body). */
  chunked: boolean;
}

// req.forEach takes a callback: a module-level collector avoids a closure per request.
let collected: Array<[string, string]> = [];
let contentLength = -1;
let chunked = false;
function collectHeader(name: string, value: string): void {
  collected.push([name, value]);
  if (name === 'content-length') contentLength = /^\d{1,15}$/.test(value) ? Number(value) : -1;
  else if (name === 'transfer-encoding') chunked = true;
}

const textDecoder = new TextDecoder('latin1');

/** The peer's IP address as text ('' for a unix socket). */
export function remoteAddress(res: HttpResponse): string {
  return normalizeIp(textDecoder.decode(res.getRemoteAddressAsText()));
}

/**
 * Copies method, target, headers and peer out of `req`/`res` into a
 * RequestHead (with proxy headers applied when trusted). uWebSockets.js
 * answers only HTTP/1.1 requests, so httpVersion is always '1.1'; it gives no
 * peer port, so client is [address, 0].
 */
export function readRequestHead(req: HttpRequest, res: HttpResponse, ctx: ServerContext, body?: BodyInfo): RequestHead {
  collected = [];
  contentLength = -1;
  chunked = false;
  req.forEach(collectHeader);
  const headers = collected;
  collected = [];
  if (body !== undefined) {
    body.contentLength = contentLength;
    body.chunked = chunked;
  }
  const url = req.getUrl();
  const query = req.getQuery() as string | undefined;
  const address = ctx.options.uds === null ? remoteAddress(res) : '';
  const head: RequestHead = {
    method: req.getCaseSensitiveMethod(),
    target: query === undefined ? url : `${url}?${query}`,
    httpVersion: '1.1',
    headers,
    client: address === '' ? null : [address, 0],
    server: ctx.server,
    scheme: 'http',
  };
  const trusted = ctx.options.trustedHosts;
  if (trusted !== null) applyProxyHeaders(head, trusted);
  return head;
}
