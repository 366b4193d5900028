/**
 * What a test says about one request (method, path, headers, body) and how
 * the test clients turn it into the RequestHead a real server would have
 * parsed off the wire, so that scope and environ come from the servers' own
 * builders (asgi/scope.ts, wsgi/environ.ts).
 */
import { assertByteString, isToken, type ByteString } from '../bytes.js';
import type { RequestHead } from '../asgi/scope.js';
import type { CookieJar } from './cookies.js';

/** One piece of a request body: bytes, or text sent as UTF-8. */
export type BodyChunk = Uint8Array | string;

/**
 * A request body: all at once (bytes or UTF-8 text), or streamed from a sync
 * or async iterable of chunks. Streamed bodies go to the app one chunk per
 * `http.request` event (or one `wsgi.input` pull), pulled only when the app
 * asks for more, and are sent without Content-Length (chunked), like a
 * client that does not know the length up front.
 */
export type RequestBody = BodyChunk | Iterable<BodyChunk> | AsyncIterable<BodyChunk>;

/** Request headers: a plain object or [name, value] pairs (names any case, values byte strings). */
export type TestHeadersInit = Record<string, string> | Iterable<readonly [string, string]>;

/** Everything but method and path of one test request. */
export interface TestRequestInit {
  headers?: TestHeadersInit;
  body?: RequestBody;
  /** Sent as the UTF-8 JSON body with `content-type: application/json` (instead of `body`). */
  json?: unknown;
  /** Query parameters, form-encoded (as URLSearchParams does) and appended to the path's own query. */
  query?: Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>> | URLSearchParams;
  /**
   * Aborting it disconnects the client. ASGI: receive() returns
   * http.disconnect and send() throws ClientDisconnected. WSGI: the next
   * response chunk or wsgi.input read throws ClientDisconnected. The request
   * then rejects with the abort reason.
   */
  signal?: AbortSignal;
  httpVersion?: '1.0' | '1.1';
}

/** Where the simulated connection runs: what the server builders put in client, server, scheme and root_path. */
export interface ConnectionOptions {
  /** The app's mount point; `path` in the scope includes it (spec: root_path). Default ''. */
  rootPath?: string;
  /** The peer address. Default ['testclient', 50000], like Starlette's TestClient. */
  client?: [host: string, port: number] | null;
  /** The listening address. Default ['testserver', 80]. */
  server?: [host: string, port: number | null] | null;
  /** Default 'http'. */
  scheme?: 'http' | 'https';
  /** Headers sent with every request, before the request's own. */
  headers?: TestHeadersInit;
  /** Keep cookies from Set-Cookie and send them back (client.cookies), like a browser or Starlette's TestClient. Default true. */
  cookies?: boolean;
}

/** ConnectionOptions with every default applied. */
export interface ResolvedConnection {
  rootPath: string;
  client: [string, number] | null;
  server: [string, number | null] | null;
  scheme: 'http' | 'https';
  headers: Array<[ByteString, ByteString]>;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Applies the documented defaults and checks them once, so each request need not. */
export function resolveConnection(opts: ConnectionOptions): ResolvedConnection {
  const rootPath = opts.rootPath ?? '';
  if (rootPath !== '' && (!rootPath.startsWith('/') || rootPath.endsWith('/'))) {
    throw new TypeError(`rootPath must be '' or start with '/' and not end with '/'; got ${JSON.stringify(rootPath)}`);
  }
  return {
    rootPath,
    client: opts.client === undefined ? ['testclient', 50000] : opts.client,
    server: opts.server === undefined ? ['testserver', 80] : opts.server,
    scheme: opts.scheme ?? 'http',
    headers: opts.headers === undefined ? [] : normalizeRequestHeaders(opts.headers),
  };
}

/** Lower-cases names and checks that names are tokens and values byte strings (as a wire parser would). */
export function normalizeRequestHeaders(init: TestHeadersInit): Array<[ByteString, ByteString]> {
  const pairs: Iterable<readonly [string, string]> = isPairIterable(init) ? init : Object.entries(init);
  const out: Array<[ByteString, ByteString]> = [];
  for (const [name, value] of pairs) {
    if (typeof name !== 'string' || !isToken(name)) throw new TypeError(`header name must be an RFC 9110 token; got ${JSON.stringify(name)}`);
    assertByteString(value, `header ${JSON.stringify(name)} value`);
    if (/[\r\n\0]/.test(value)) throw new TypeError(`header ${JSON.stringify(name)} value must not contain CR, LF or NUL; got ${JSON.stringify(value)}`);
    out.push([name.toLowerCase(), value]);
  }
  return out;
}

function isPairIterable(init: TestHeadersInit): init is Iterable<readonly [string, string]> {
  return typeof (init as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

/**
 * The request-target as a client puts it on the wire: the fragment dropped,
 * `query` appended, characters that may not appear there (controls, space,
 * non-ASCII) percent-encoded as UTF-8; existing `%XX` escapes are kept, so a
 * test can send any raw bytes.
 */
export function toRequestTarget(path: string, query?: TestRequestInit['query']): ByteString {
  if (path !== '*' && !path.startsWith('/')) {
    throw new TypeError(`path must start with '/' (origin-form) or be '*'; got ${JSON.stringify(path)}`);
  }
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash);
  if (query !== undefined) {
    const qs = encodeQuery(query);
    if (qs !== '') path += (path.includes('?') ? (path.endsWith('?') || path.endsWith('&') ? '' : '&') : '?') + qs;
  }
  // eslint-disable-next-line no-control-regex
  return path.replace(/[\u0000-\u0020\u007f-\uffff]+/g, (run) => {
    let out = '';
    for (const byte of encoder.encode(run)) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    return out;
  });
}

function encodeQuery(query: NonNullable<TestRequestInit['query']>): string {
  if (query instanceof URLSearchParams) return query.toString();
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    for (const v of Array.isArray(value) ? (value as ReadonlyArray<string | number | boolean>) : [value as string | number | boolean]) params.append(name, String(v));
  }
  return params.toString();
}

/** A request body resolved to what the transport needs: all bytes now, or a stream of chunks. */
export type BodySource =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'sync'; iterator: Iterator<BodyChunk> }
  | { kind: 'async'; iterator: AsyncIterator<BodyChunk> };

/** Classifies a body; strings are UTF-8 encoded. */
export function bodySource(body: RequestBody | undefined): BodySource {
  if (body === undefined) return { kind: 'bytes', bytes: EMPTY };
  if (typeof body === 'string') return { kind: 'bytes', bytes: encoder.encode(body) };
  if (body instanceof Uint8Array) return { kind: 'bytes', bytes: body };
  if (typeof (body as AsyncIterable<BodyChunk>)[Symbol.asyncIterator] === 'function') {
    return { kind: 'async', iterator: (body as AsyncIterable<BodyChunk>)[Symbol.asyncIterator]() };
  }
  if (typeof (body as Iterable<BodyChunk>)[Symbol.iterator] === 'function') {
    return { kind: 'sync', iterator: (body as Iterable<BodyChunk>)[Symbol.iterator]() };
  }
  throw new TypeError(`request body must be a Uint8Array, a string or an (async) iterable of them; got ${typeof body}`);
}

/** One body chunk as bytes; anything else in a body stream is the test's mistake, reported as such. */
export function chunkBytes(chunk: BodyChunk): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return encoder.encode(chunk);
  throw new TypeError(`request body chunks must be Uint8Array or string; got ${typeof chunk}`);
}

/**
 * The RequestHead a server would parse for this request: default `host` and
 * `user-agent`, the connection's headers, the request's own headers, the
 * jar's cookies (unless the test set a Cookie header itself), and
 * `content-length` (known body) or `transfer-encoding: chunked` (streamed
 * body) unless the test set one of them itself.
 */
export function buildRequestHead(
  conn: ResolvedConnection,
  method: string,
  path: string,
  init: TestRequestInit,
  body: BodySource,
  extraHeaders: Array<[ByteString, ByteString]> = [],
  jar: CookieJar | null = null,
): RequestHead {
  if (!isToken(method)) throw new TypeError(`method must be an RFC 9110 token; got ${JSON.stringify(method)}`);
  const target = toRequestTarget(path, init.query);
  const own = init.headers === undefined ? [] : normalizeRequestHeaders(init.headers);
  const given = [...conn.headers, ...extraHeaders, ...own];
  const has = (name: string): boolean => given.some(([n]) => n === name);
  const headers: Array<[ByteString, ByteString]> = [];
  if (!has('host')) headers.push(['host', hostHeader(conn)]);
  if (!has('user-agent')) headers.push(['user-agent', 'tsgi-testclient']);
  headers.push(...given);
  if (jar !== null && !has('cookie')) {
    const cookie = jar.header(urlPath(conn, target), conn.scheme);
    if (cookie !== null) headers.push(['cookie', cookie]);
  }
  if (!has('content-length') && !has('transfer-encoding')) {
    if (body.kind !== 'bytes') headers.push(['transfer-encoding', 'chunked']);
    else if (body.bytes.byteLength > 0 || !BODYLESS.has(method.toUpperCase())) {
      headers.push(['content-length', String(body.bytes.byteLength)]);
    }
  }
  return {
    method,
    target,
    httpVersion: init.httpVersion ?? '1.1',
    headers,
    client: conn.client,
    server: conn.server,
    scheme: conn.scheme,
  };
}

/** The path of the URL the client asked for, as cookies see it: the mount point, then the target's path. */
export function urlPath(conn: ResolvedConnection, target: ByteString): string {
  const q = target.indexOf('?');
  return conn.rootPath + (q === -1 ? target : target.slice(0, q));
}

// Methods for which clients send no Content-Length when there is no body (as curl and fetch do).
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

function hostHeader(conn: ResolvedConnection): ByteString {
  if (conn.server === null) return 'testserver';
  const [host, port] = conn.server;
  const defaultPort = conn.scheme === 'https' ? 443 : 80;
  return port === null || port === defaultPort ? host : `${host}:${port}`;
}

/** Applies `json` (if given) to the init: a UTF-8 JSON body and its content-type. */
export function withJson(init: TestRequestInit): TestRequestInit {
  if (init.json === undefined) return init;
  if (init.body !== undefined) throw new TypeError('give either body or json, not both');
  const headers = init.headers === undefined ? [] : normalizeRequestHeaders(init.headers);
  if (!headers.some(([n]) => n === 'content-type')) headers.push(['content-type', 'application/json']);
  return { ...init, headers, body: JSON.stringify(init.json) };
}
