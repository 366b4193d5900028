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
  const url = new URL(request.url);
  return {
    method: request.method,
    // WHATWG URL serializations are ASCII (already percent-encoded), hence valid byte strings.
    target: url.pathname + url.search,
    httpVersion: '1.1',
    headers: requestHeaders(request.headers),
    client,
    server: server === undefined ? urlServer(url) : typeof server === 'function' ? server() : server,
    scheme: url.protocol === 'https:' ? 'https' : 'http',
  };
}

function urlServer(url: URL): [string, number] {
  return [url.hostname.replace(/^\[|\]$/g, ''), url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)];
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
