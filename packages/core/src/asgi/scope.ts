/**
 * Building ASGI connection scopes from a parsed request head, independent of
 * any transport (h11-style): @tsgi/uws feeds it what uWebSockets.js parsed,
 * @tsgi/pool what node:http parsed, and both get the same scope.
 *
 * Paths follow uvicorn >= 0.26 and the ASGI spec:
 * - `raw_path` is root_path's UTF-8 bytes followed by the path part of the
 *   request-target exactly as sent (no query string), as a byte string;
 * - `path` is root_path followed by the percent-decoded path, with the
 *   decoded bytes read as UTF-8 (invalid sequences become U+FFFD, like
 *   Python's `urllib.parse.unquote`);
 * - `query_string` is the bytes after the first `?`, exactly as sent.
 *
 * So `path` INCLUDES `root_path` (PATH_INFO = path minus root_path). The
 * server assumes the proxy in front stripped the prefix and puts it back:
 * this is what uvicorn changed to in 0.26 and what the ASGI spec means by
 * root_path; apps written for older uvicorn saw `path` without it.
 */
import type { ByteString } from '../bytes.js';
import type { Extensions, HttpScope, WebSocketScope } from './types.js';
import { ASGI_VERSION, HTTP_SPEC_VERSION, WEBSOCKET_SPEC_VERSION } from './types.js';

/** A parsed request head (HTTP/1.x, or one HTTP/2 stream's), as a transport hands it to scope building. */
export interface RequestHead {
  /** The method as sent (case kept). */
  method: string;
  /** The request-target as sent: path, then optionally `?` and the query (byte string). */
  target: ByteString;
  httpVersion: '1.0' | '1.1' | '2';
  /** Lower-case names, byte-exact values, order and duplicates kept. */
  headers: Array<[ByteString, ByteString]>;
  /** The peer's address and port; null for a unix socket. */
  client: [string, number] | null;
  /** The address and port the request came in on; port null for a unix socket. */
  server: [string, number | null] | null;
  scheme: 'http' | 'https';
}

/** What the server adds to every scope it builds. */
export interface ScopeOptions {
  /** The mount point of the app ('' or a path starting with '/'); prefixed to `path` and `raw_path`. */
  rootPath: string;
  /** The lifespan state: shallow-copied into each scope so requests cannot see each other's additions. */
  state?: Record<string, unknown>;
  /** The extensions the server supports; shared, not copied (build it once per server). */
  extensions?: Extensions;
}

/** The three parts of a request-target that go into a scope. */
export interface TargetParts {
  /** The path as sent (byte string), without query string. */
  rawPath: ByteString;
  /** The percent-decoded, UTF-8 read path. */
  path: string;
  /** The bytes after the first `?` (byte string). */
  queryString: ByteString;
}

// Chars that make a path need the slow decoding path: '%' and any non-ASCII byte.
const NEEDS_DECODING = /[%\u0080-\u00ff]/;
// absolute-form (RFC 9112 3.2.2): scheme "://" authority, then the path.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/** Builds the `http` scope of one request (runs per request: keep it lean). */
export function buildHttpScope(head: RequestHead, opts: ScopeOptions): HttpScope {
  const t = splitTarget(head.target);
  const rootPath = opts.rootPath;
  const { state, extensions } = opts;
  const scope: HttpScope = {
    type: 'http',
    asgi: { version: ASGI_VERSION, spec_version: HTTP_SPEC_VERSION },
    http_version: head.httpVersion,
    method: head.method,
    scheme: head.scheme,
    path: rootPath === '' ? t.path : rootPath + t.path,
    raw_path: rootPath === '' ? t.rawPath : rootPathBytes(rootPath) + t.rawPath,
    query_string: t.queryString,
    root_path: rootPath,
    headers: head.headers,
    client: head.client,
    server: head.server,
  };
  if (state !== undefined) scope.state = { ...state };
  if (extensions !== undefined) scope.extensions = extensions;
  return scope;
}

/** Builds the `websocket` scope of one upgrade request; subprotocols come from Sec-WebSocket-Protocol. */
export function buildWebSocketScope(head: RequestHead, opts: ScopeOptions): WebSocketScope {
  const t = splitTarget(head.target);
  const rootPath = opts.rootPath;
  const scope: WebSocketScope = {
    type: 'websocket',
    asgi: { version: ASGI_VERSION, spec_version: WEBSOCKET_SPEC_VERSION },
    http_version: head.httpVersion,
    scheme: head.scheme === 'https' ? 'wss' : 'ws',
    path: rootPath === '' ? t.path : rootPath + t.path,
    raw_path: rootPath === '' ? t.rawPath : rootPathBytes(rootPath) + t.rawPath,
    query_string: t.queryString,
    root_path: rootPath,
    headers: head.headers,
    client: head.client,
    server: head.server,
    subprotocols: parseSubprotocols(head.headers),
  };
  if (opts.state !== undefined) scope.state = { ...opts.state };
  if (opts.extensions !== undefined) scope.extensions = opts.extensions;
  return scope;
}

/**
 * Splits a request-target into raw path, decoded path and query string.
 * Origin-form (`/a?b`) is the fast path; absolute-form (`http://h/a?b`) keeps
 * only its path (`/` when empty), as httptools does for uvicorn; asterisk-form
 * (`*`) stays `*`.
 */
export function splitTarget(target: ByteString): TargetParts {
  const q = target.indexOf('?');
  let rawPath = q === -1 ? target : target.slice(0, q);
  const queryString = q === -1 ? '' : target.slice(q + 1);
  if (rawPath.charCodeAt(0) !== 0x2f /* '/' */ && rawPath !== '*') {
    const m = ABSOLUTE_FORM.exec(rawPath);
    if (m !== null) rawPath = rawPath.slice(m[0].length) || '/';
  }
  return { rawPath, path: decodePath(rawPath), queryString };
}

/**
 * Percent-decodes a raw path (byte string) and reads the bytes as UTF-8, like
 * Python's `unquote`: malformed escapes stay literal, invalid UTF-8 becomes U+FFFD.
 */
export function decodePath(rawPath: ByteString): string {
  if (!NEEDS_DECODING.test(rawPath)) return rawPath;
  const n = rawPath.length;
  const out = Buffer.allocUnsafe(n);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const c = rawPath.charCodeAt(i);
    if (c === 0x25 /* '%' */ && i + 2 < n) {
      const hi = hexValue(rawPath.charCodeAt(i + 1));
      const lo = hexValue(rawPath.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[w++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[w++] = c & 0xff;
  }
  return out.toString('utf8', 0, w);
}

/** The Sec-WebSocket-Protocol values offered, in order (comma-separated, all header lines). */
export function parseSubprotocols(headers: ReadonlyArray<readonly [ByteString, ByteString]>): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (name !== 'sec-websocket-protocol') continue;
    for (const part of value.split(',')) {
      const p = part.trim();
      if (p !== '') out.push(p);
    }
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

// root_path as a byte string (its UTF-8 bytes); cached because it is the same for every request.
let lastRootPath = '';
let lastRootPathBytes = '';
function rootPathBytes(rootPath: string): ByteString {
  if (rootPath !== lastRootPath) {
    lastRootPath = rootPath;
    lastRootPathBytes = Buffer.from(rootPath, 'utf8').toString('latin1');
  }
  return lastRootPathBytes;
}
