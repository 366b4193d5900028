/**
 * Reading a request head out of uWebSockets.js: everything is copied at
 * entry, because an HttpRequest is valid only during the synchronous route
 * handler. Shared by the HTTP handler and the WebSocket upgrade handler.
 */
import { applyProxyHeaders, type RequestHead } from '@tsgi/core';
import type { HttpRequest, HttpResponse } from './binding.js';
import type { ServerContext } from './context.js';

/** What the head says about the request body, and whether it must be refused before the app runs. */
export interface BodyInfo {
  /** Content-Length, or -1 when absent (or unparseable). */
  contentLength: number;
  /** Transfer-Encoding was present (a chunked body). */
  chunked: boolean;
  /** A head uWebSockets.js let through but RFC 9112 says to refuse (the answer to give), else null. */
  fault: HeadFault | null;
}

/** Why a request head is refused: its status and the rule it broke. */
export interface HeadFault {
  status: 400 | 431;
  reason: string;
}

/**
 * The largest request head (method, target and header fields) accepted, in
 * bytes: node:http's default and h11's (so uvicorn's). uWebSockets.js v20.30
 * itself takes heads of a few hundred KiB.
 */
export const MAX_HEAD_BYTES = 16 * 1024;

// req.forEach takes a callback: a module-level collector avoids a closure per request.
let collected: Array<[string, string]> = [];
let contentLength = -1;
let contentLengthText: string | null = null;
let chunked = false;
let hosts = 0;
let headBytes = 0;
let fault: HeadFault | null = null;
let proxyHeader = false;
function collectHeader(name: string, value: string): void {
  collected.push([name, value]);
  headBytes += name.length + value.length + 4;
  if (name === 'content-length') {
    // uWS frames the body by the first field; a second that disagrees is a smuggling shape.
    if (contentLengthText !== null && contentLengthText !== value) fault ??= { status: 400, reason: 'Content-Length fields that disagree (RFC 9112 section 6.3)' };
    contentLengthText = value;
    if (/^\d{1,15}$/.test(value)) contentLength = Number(value);
    else {
      // Signed, hex, list-valued, overflowing: uWS would hand the app an empty body and keep reading.
      contentLength = -1;
      fault ??= { status: 400, reason: `an invalid Content-Length (RFC 9112 section 6.3): ${JSON.stringify(value.slice(0, 40))}` };
    }
  } else if (name === 'transfer-encoding') {
    // uWS decodes any Transfer-Encoding as chunked: only a single plain "chunked" means that.
    if (chunked || value.toLowerCase() !== 'chunked') fault ??= { status: 400, reason: `Transfer-Encoding other than one "chunked" (RFC 9112 section 6.1): ${JSON.stringify(value.slice(0, 40))}` };
    chunked = true;
  } else if (name === 'host') {
    if (++hosts > 1) fault ??= { status: 400, reason: 'more than one Host field (RFC 9112 section 3.2)' };
  } else if (name === '') {
    fault ??= { status: 400, reason: 'an empty field name (RFC 9110 section 5.1)' };
  } else if (name === 'forwarded' || name.startsWith('x-forwarded-')) proxyHeader = true;
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
 * RequestHead (with proxy headers applied when trusted). uWebSockets.js
 * answers only HTTP/1.1 requests, so httpVersion is always '1.1'; it gives no
 * peer port, so client is [address, 0].
 */
export function readRequestHead(req: HttpRequest, res: HttpResponse, ctx: ServerContext, body?: BodyInfo): RequestHead {
  collected = [];
  contentLength = -1;
  contentLengthText = null;
  chunked = false;
  hosts = 0;
  headBytes = 0;
  fault = null;
  proxyHeader = false;
  req.forEach(collectHeader);
  const headers = collected;
  collected = [];
  const url = req.getUrl();
  const query = req.getQuery() as string | undefined;
  if (body !== undefined) {
    body.contentLength = contentLength;
    body.chunked = chunked;
    headBytes += url.length + (query === undefined ? 0 : query.length + 1);
    body.fault = headBytes > MAX_HEAD_BYTES ? { status: 431, reason: `a request head over ${MAX_HEAD_BYTES} bytes` } : fault;
  }
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
  if (trusted !== null && proxyHeader) applyProxyHeaders(head, trusted);
  return head;
}
