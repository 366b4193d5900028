/**
 * The request head of a fetch Request, as the ASGI scope builders take it:
 * shared by toFetchHandler (http scopes) and the Bun and Deno hosts
 * (websocket scopes), so both read a Request the same way.
 */
import type { ByteString, RequestHead } from '@tsgi/core';

/** scope.server of a request: a fixed address, null, or one looked up per request (a host that learns its port once listening). */
export type ServerAddress = [host: string, port: number | null] | null | (() => [host: string, port: number | null] | null);

/** The head of `request`: method, target, lower-case headers, and the peer and server addresses (the server's, by default, from the URL). */
export function fetchRequestHead(request: Request, client: [string, number] | null, server: ServerAddress | undefined): RequestHead {
  const url = urlParts(request.url);
  return {
    method: request.method,
    // WHATWG URL serializations are ASCII (already percent-encoded), hence valid byte strings.
    target: url.target,
    httpVersion: '1.1',
    headers: requestHeaders(request.headers),
    client,
    server: server === undefined ? [url.host, url.port] : typeof server === 'function' ? server() : server,
    scheme: url.https ? 'https' : 'http',
  };
}

interface UrlParts {
  https: boolean;
  /** The host without the brackets of an IPv6 address. */
  host: string;
  port: number;
  /** Path and query, as serialized. */
  target: string;
}

// A serialized http(s) URL without userinfo: scheme, authority (a host, or [IPv6], and a port), then path and query.
const SERIALIZED = /^(https?):\/\/(\[[^\]]*\]|[^/?#:@[]*)(?::(\d+))?(\/[^#]*)$/;

/**
 * The parts of a request's URL a scope needs. A runtime hands its Request a
 * serialized URL, which the pattern splits without building a URL object
 * (a measurable part of a request on Deno); anything else is parsed.
 */
function urlParts(href: string): UrlParts {
  const m = SERIALIZED.exec(href);
  if (m !== null) {
    const https = m[1] === 'https';
    const host = m[2]!;
    return { https, host: host.charCodeAt(0) === 0x5b ? host.slice(1, -1) : host, port: m[3] !== undefined ? Number(m[3]) : https ? 443 : 80, target: m[4]! };
  }
  const url = new URL(href);
  const https = url.protocol === 'https:';
  return { https, host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? (https ? 443 : 80) : Number(url.port), target: url.pathname + url.search };
}

/** The client's address from what the runtime passed next to the Request, if it tells: Deno.serve's `info.remoteAddr`, or @hono/node-server's `env.incoming.socket`. */
export function peerAddress(info: unknown): [string, number] | null {
  if (typeof info !== 'object' || info === null) return null;
  const deno = (info as { remoteAddr?: { hostname?: unknown; port?: unknown } }).remoteAddr;
  if (typeof deno?.hostname === 'string' && typeof deno.port === 'number') return [deno.hostname, deno.port];
  const socket = (info as { incoming?: { socket?: { remoteAddress?: unknown; remotePort?: unknown } } }).incoming?.socket;
  if (typeof socket?.remoteAddress === 'string' && typeof socket.remotePort === 'number') return [socket.remoteAddress, socket.remotePort];
  return null;
}

function requestHeaders(headers: Headers): Array<[ByteString, ByteString]> {
  const out: Array<[ByteString, ByteString]> = [];
  // Headers iterates lower-case names; repeated fields arrive joined by ", " (the fetch API keeps no duplicates).
  for (const [name, value] of headers) out.push([name, value]);
  return out;
}
