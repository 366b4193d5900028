/**
 * Reading a request head out of uWebSockets.js: everything is copied at
 * entry, because an HttpRequest is valid only during the synchronous route
 * handler. Shared by the HTTP handler and the WebSocket upgrade handler.
 */
import type { RequestHead } from '@tsgi/core';
import { applyProxyHeaders, HeadRules, type ServerContext } from '@tsgi/core/server';
import type { HttpRequest, HttpResponse } from './binding.js';

// req.forEach takes a callback: module-level state avoids a closure per request.
let collected: Array<[string, string]> = [];
const rules = new HeadRules();
function collectHeader(name: string, value: string): void {
  collected.push([name, value]);
  rules.field(name, value);
}

// Peers repeat: their IPv4 text is remembered by its 32-bit value (bounded).
const ipv4Text = new Map<number, string>();

/**
 * The peer's IP address as text ('' for a unix socket). Reads the 4 or 16
 * binary bytes (cheaper than uWS's text form, which also spells IPv6 out
 * uncompressed) and formats IPv4, also when IPv4-mapped, from a cache.
 */
export function remoteAddress(res: HttpResponse): string {
  const b = new Uint8Array(res.getRemoteAddress());
  let off: number;
  if (b.length === 4) off = 0;
  else if (b.length === 16 && isMappedIpv4(b)) off = 12;
  else if (b.length === 0) return '';
  else return formatIpv6(b);
  const key = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  let text = ipv4Text.get(key);
  if (text === undefined) {
    text = `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
    if (ipv4Text.size >= 4096) ipv4Text.clear();
    ipv4Text.set(key, text);
  }
  return text;
}

/** RFC 5952 text of 16 address bytes: lower-case hex, the longest run of two or more zero groups as '::'. */
export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((g) => g.toString(16)).join(':');
  return bestStart === -1 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function isMappedIpv4(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Copies method, target, headers and peer out of `req`/`res` into a
 * RequestHead (with proxy headers applied when trusted), and checks the head
 * with the shared HeadRules: read `headRules()` for the fault and the body's
 * framing before the next request. uWebSockets.js answers only HTTP/1.1
 * requests, so httpVersion is always '1.1'; it gives no peer port, so client
 * is [address, 0].
 */
export function readRequestHead(req: HttpRequest, res: HttpResponse, ctx: ServerContext): RequestHead {
  const url = req.getUrl();
  const query = req.getQuery() as string | undefined;
  const method = req.getCaseSensitiveMethod();
  // One rules object for every server of the process: each request brings its server's bound.
  rules.maxBytes = ctx.options.h11MaxIncompleteEventSize;
  rules.begin('1.1', method.length + url.length + (query === undefined ? 0 : query.length + 1) + 11);
  collected = [];
  req.forEach(collectHeader);
  rules.end();
  const headers = collected;
  collected = [];
  const address = ctx.options.uds === null ? remoteAddress(res) : '';
  const head: RequestHead = {
    method,
    target: query === undefined ? url : `${url}?${query}`,
    httpVersion: '1.1',
    headers,
    client: address === '' ? null : [address, 0],
    server: ctx.server,
    scheme: ctx.options.tls === null ? 'http' : 'https',
  };
  const trusted = ctx.options.trustedHosts;
  if (trusted !== null && rules.proxyHeader) applyProxyHeaders(head, trusted);
  return head;
}

/** The rules of the head readRequestHead() read last: its fault, Content-Length and chunked framing. */
export function headRules(): Readonly<HeadRules> {
  return rules;
}
