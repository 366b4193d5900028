/**
 * The WSGI environ of one request, built from its ASGI `http` scope.
 *
 * Both hosts of sync apps go through here: @tsgi/pool builds a scope from
 * node:http's request head (with buildHttpScope) and then the environ from
 * it; the bridge gets the scope from the ASGI server. One code path, so a
 * WSGI-TS app sees the same environ under either server.
 *
 * Native strings are latin-1 byte strings: PATH_INFO is
 * the percent-decoded bytes of the path, one char per byte, so a path that
 * is not valid UTF-8 survives intact (PEP 3333 "native strings").
 */
import type { ByteString } from '../bytes.js';
import type { HttpScope } from '../asgi/types.js';
import type { FileWrapper, WsgiEnviron, WsgiErrors, WsgiInput } from './types.js';

/** What the host adds to the environ besides what the scope says. */
export interface EnvironExtras {
  /** The request body reader (`wsgi.input`). */
  input: WsgiInput;
  /** Where `wsgi.errors` writes go (the server log, tagged with the request). */
  errors: WsgiErrors;
  /** True when other threads of this process may run the app at the same time. */
  multithread: boolean;
  /** True when other processes may run the app at the same time. */
  multiprocess: boolean;
  /** True when the app will be called only once in this process (CGI-like); false for servers. */
  runOnce?: boolean;
  /** `wsgi.file_wrapper`; omitted from the environ when not given. */
  fileWrapper?: FileWrapper;
  /** More keys (server extensions such as `tsgi.request_id`), added last. */
  extra?: Record<string, unknown>;
}

const WSGI_VERSION = Object.freeze([1, 0] as const);

/**
 * Builds the PEP 3333 environ of the request described by `scope`.
 *
 * Every required CGI key is present; CONTENT_TYPE and CONTENT_LENGTH are set
 * only when the request has those headers (PEP 3333 allows them absent).
 * Header names containing `_` are dropped: as HTTP_* keys they would be
 * indistinguishable from the `-` spelling, which lets a client forge a header
 * a proxy set (gunicorn and nginx drop them for the same reason).
 */
export function environFromScope(scope: HttpScope, extras: EnvironExtras): WsgiEnviron {
  const scriptName = utf8Bytes(scope.root_path);
  const [serverName, serverPort] = serverAddress(scope);
  const environ: WsgiEnviron = {
    REQUEST_METHOD: scope.method,
    SCRIPT_NAME: scriptName,
    PATH_INFO: pathInfo(scope, scriptName),
    QUERY_STRING: scope.query_string,
    SERVER_NAME: serverName,
    SERVER_PORT: serverPort,
    SERVER_PROTOCOL: `HTTP/${scope.http_version}`,
    'wsgi.version': WSGI_VERSION,
    'wsgi.url_scheme': scope.scheme,
    'wsgi.input': extras.input,
    'wsgi.errors': extras.errors,
    'wsgi.multithread': extras.multithread,
    'wsgi.multiprocess': extras.multiprocess,
    'wsgi.run_once': extras.runOnce ?? false,
    // Our wsgi.input returns EOF at the end of the body even without CONTENT_LENGTH.
    'wsgi.input_terminated': true,
  };
  if (scope.client !== null) {
    environ.REMOTE_ADDR = scope.client[0];
    environ.REMOTE_PORT = String(scope.client[1]);
  }
  if (extras.fileWrapper !== undefined) environ['wsgi.file_wrapper'] = extras.fileWrapper;
  addHeaders(environ, scope.headers);
  if (extras.extra !== undefined) Object.assign(environ, extras.extra);
  return environ;
}

/** The CGI key of a lower-case header name: `x-forwarded-for` -> `HTTP_X_FORWARDED_FOR`. */
export function cgiHeaderKey(name: ByteString): string {
  if (name === 'content-type') return 'CONTENT_TYPE';
  if (name === 'content-length') return 'CONTENT_LENGTH';
  return 'HTTP_' + name.toUpperCase().replace(/-/g, '_');
}

// Header -> environ key memo: the same few dozen names come in on every request.
const keyCache = new Map<string, string>();

function addHeaders(environ: WsgiEnviron, headers: ReadonlyArray<readonly [ByteString, ByteString]>): void {
  for (const [name, value] of headers) {
    if (name.includes('_')) continue;
    let key = keyCache.get(name);
    if (key === undefined) {
      key = cgiHeaderKey(name);
      if (keyCache.size < 1024) keyCache.set(name, key);
    }
    const prev = environ[key] as string | undefined;
    if (prev === undefined) environ[key] = value;
    // RFC 9110 5.3: repeated fields join with ", "; cookies (RFC 6265 5.4) with "; ".
    else environ[key] = prev + (name === 'cookie' ? '; ' : ', ') + value;
  }
}

/**
 * PATH_INFO: the raw path percent-decoded byte for byte (latin-1), minus
 * SCRIPT_NAME. When the server put root_path in front of `path` but not of
 * `raw_path`, the whole decoded raw path is PATH_INFO.
 */
function pathInfo(scope: HttpScope, scriptName: ByteString): ByteString {
  const decoded = scope.raw_path === null ? utf8Bytes(scope.path) : percentDecodeBytes(scope.raw_path);
  if (scriptName === '') return decoded;
  if (decoded.startsWith(scriptName) && (decoded.length === scriptName.length || decoded.charCodeAt(scriptName.length) === 0x2f)) {
    return decoded.slice(scriptName.length);
  }
  return decoded;
}

/** Percent-decodes a byte string into a byte string: `%XX` becomes the char 0xXX; malformed escapes stay literal. */
export function percentDecodeBytes(s: ByteString): ByteString {
  if (!s.includes('%')) return s;
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function serverAddress(scope: HttpScope): [ByteString, ByteString] {
  const defaultPort = scope.scheme === 'https' ? '443' : '80';
  if (scope.server !== null && scope.server[1] !== null) return [scope.server[0], String(scope.server[1])];
  // No TCP address (a unix socket): the Host header is the best name there is.
  for (const [name, value] of scope.headers) {
    if (name !== 'host') continue;
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(value);
    if (m !== null) return [m[1]!, m[2] ?? defaultPort];
  }
  return ['localhost', defaultPort];
}

// root_path (a Unicode string) as a byte string, cached: it is the same on every request.
let lastText = '';
let lastBytes = '';
function utf8Bytes(s: string): ByteString {
  if (s === '') return '';
  if (s !== lastText) {
    lastText = s;
    lastBytes = Buffer.from(s, 'utf8').toString('latin1');
  }
  return lastBytes;
}
