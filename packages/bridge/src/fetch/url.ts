/**
 * The URL of a fetch `Request` built from an ASGI scope. Byte strings
 * (raw_path, query_string, the Host header) may hold bytes >= 0x80; handed
 * to `new URL()` as they are, those chars would be re-encoded as the UTF-8 of
 * their code points, so they are percent-encoded byte by byte first.
 */
import type { ByteString, HttpScope } from '@tsgi/core';

// Bytes that cannot appear literally in a URL's path or query: controls, space, '#', non-ASCII.
const UNSAFE = /[\u0000-\u0020#\u007f-\u00ff]/;
const UNSAFE_ALL = /[\u0000-\u0020#\u007f-\u00ff]/g;

/** Percent-encodes the bytes of a byte string that a URL cannot carry literally. */
export function encodeUrlBytes(s: ByteString): string {
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE_ALL, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/**
 * The absolute URL the client asked for: scheme from the scope, authority
 * from the Host header (else `server`, else `localhost`), then the path as
 * sent (raw_path, which includes root_path) and the query string.
 */
export function requestUrl(scope: HttpScope): string {
  let host: string | null = null;
  for (const [name, value] of scope.headers) {
    if (name === 'host') {
      host = value;
      break;
    }
  }
  if (host === null || host === '' || /[\s/?#@\\]/.test(host)) {
    const server = scope.server;
    host = server === null ? 'localhost' : server[1] === null ? server[0] : `${bracketIPv6(server[0])}:${server[1]}`;
  }
  const scheme = scope.scheme === 'https' || scope.scheme === 'wss' ? 'https' : 'http';
  const path = scope.raw_path !== null && scope.raw_path !== '' ? scope.raw_path : pathToRaw(scope.path);
  const query = scope.query_string === '' ? '' : '?' + encodeUrlBytes(scope.query_string);
  // Asterisk-form (OPTIONS *) and anything else that is not a path is sent to '/'.
  const safePath = path.charCodeAt(0) === 0x2f ? encodeUrlBytes(path) : '/';
  return `${scheme}://${encodeUrlBytes(host)}${safePath}${query}`;
}

// A decoded path back to the bytes of a path: UTF-8, with '%' and '?' escaped so they stay data.
function pathToRaw(path: string): ByteString {
  return Buffer.from(path.replace(/%/g, '%25').replace(/\?/g, '%3F'), 'utf8').toString('latin1');
}

function bracketIPv6(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
