/**
 * The WSGI-TS rules that can be checked on one value, without knowing the
 * history of a request: the status line, response headers, body chunks and
 * the environ. Servers and the call driver run the response checks on every
 * response; the validator (validate.ts) runs them all. Each failure throws a
 * ProtocolError naming the clause of spec/wsgi.md that was broken.
 */
import { isUint8Array } from 'node:util/types';
import { isByteString, isHeaderValue, isToken } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import type { WsgiEnviron, WsgiHeaders } from './types.js';

/** A status line split into its code and reason phrase. */
export interface WsgiStatus {
  code: number;
  reason: string;
}

// Three digits (100-999), one space, a reason phrase of at least one char.
// The phrase may hold HTAB, SP, visible ASCII and obs-text (RFC 9110 reason-phrase).
const STATUS = /^[1-9][0-9]{2} [\t\u0020-\u007e\u0080-\u00ff]+$/;
const STATUS_FORM = /^[1-9][0-9]{2} ./s;

/** Checks a start_response status ("200 OK") and returns its code and reason phrase. */
export function checkStatus(status: unknown): WsgiStatus {
  // One regex on the common path; the diagnosis below runs only for a bad status.
  if (typeof status !== 'string' || !STATUS.test(status)) {
    if (!isByteString(status)) {
      throw new ProtocolError('wsgi.start_response.status.1', 'status must be a byte string (chars <= 0xFF)', status);
    }
    if (!STATUS_FORM.test(status)) {
      throw new ProtocolError(
        'wsgi.start_response.status.2',
        'status must be a three-digit code from 100 to 999, one space and a reason phrase, like "200 OK"',
        status,
      );
    }
    throw new ProtocolError('wsgi.start_response.status.3', 'status reason phrase must not contain CR, LF, NUL or other control chars', status);
  }
  const reason = status.slice(4);
  // The three chars are ASCII digits: compute the code without parseInt's scan.
  const code = (status.charCodeAt(0) - 48) * 100 + (status.charCodeAt(1) - 48) * 10 + (status.charCodeAt(2) - 48);
  return { code, reason };
}

// Lower-cased hop-by-hop header names (RFC 9110 section 7.6.1, PEP 3333).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);
// Lengths of those names: most headers are ruled out without lower-casing them.
const HOP_BY_HOP_LENGTHS = new Set([...HOP_BY_HOP].map((n) => n.length));

/** True for a hop-by-hop header name (any case): an app must not set it, the server owns the connection. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP_LENGTHS.has(name.length) && HOP_BY_HOP.has(name.toLowerCase());
}

const DIGITS = /^[0-9]+$/;

/**
 * Checks start_response's headers: a real Array of [name, value] Arrays of
 * byte strings (PEP 3333's list of tuples), names RFC 9110 tokens, values
 * without controls, no hop-by-hop header, at most one numeric Content-Length.
 * Returns the same array, typed; nothing is copied.
 */
export function checkResponseHeaders(headers: unknown): WsgiHeaders {
  if (!Array.isArray(headers)) {
    throw new ProtocolError('wsgi.start_response.headers.1', 'response headers must be an Array of [name, value] pairs', headers);
  }
  let contentLength = false;
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new ProtocolError('wsgi.start_response.headers.1', `response header ${i} must be a two-element Array [name, value]`, pair);
    }
    const name: unknown = pair[0];
    const value: unknown = pair[1];
    // A token and a field value are byte strings by construction: one regex each
    // on the common path, the byte-string diagnosis only when one fails.
    if (typeof name !== 'string' || !isToken(name)) {
      if (!isByteString(name)) {
        throw new ProtocolError('wsgi.start_response.headers.2', `response header ${i}: name must be a byte string`, name);
      }
      throw new ProtocolError('wsgi.start_response.headers.3', `response header ${i}: name must be an RFC 9110 token`, name);
    }
    if (typeof value !== 'string' || !isHeaderValue(value)) {
      if (!isByteString(value)) {
        throw new ProtocolError('wsgi.start_response.headers.2', `response header ${JSON.stringify(name)}: value must be a byte string`, value);
      }
      throw new ProtocolError(
        'wsgi.start_response.headers.4',
        `response header ${JSON.stringify(name)}: value must not contain CR, LF, NUL or other control chars`,
        value,
      );
    }
    if (isHopByHop(name)) {
      throw new ProtocolError('wsgi.start_response.headers.5', 'an app must not set a hop-by-hop header', name);
    }
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (contentLength) {
        throw new ProtocolError('wsgi.start_response.headers.6', 'Content-Length must appear at most once', value);
      }
      if (!DIGITS.test(value)) {
        throw new ProtocolError('wsgi.start_response.headers.6', 'Content-Length must be one or more ASCII digits', value);
      }
      contentLength = true;
    }
  }
  return headers as WsgiHeaders;
}

/**
 * Checks one body chunk (an item of the response iterable, or write()'s
 * argument): a Uint8Array, Buffer included. `clause` names the rule to cite.
 */
export function checkBodyChunk(chunk: unknown, clause = 'wsgi.response.chunk.1'): Uint8Array {
  // isUint8Array also recognizes chunks made in another realm, where instanceof fails.
  if (!isUint8Array(chunk)) {
    throw new ProtocolError(clause, 'a body chunk must be a Uint8Array', chunk);
  }
  return chunk;
}

// Keys every environ carries with a non-empty value (PEP 3333).
const REQUIRED_NON_EMPTY = ['REQUEST_METHOD', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL'] as const;
// Keys PEP 3333 lets a server omit when empty; tsgi servers always set them.
const REQUIRED_MAYBE_EMPTY = ['SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING'] as const;
const FLAGS = ['wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once'] as const;
const INPUT_METHODS = ['read', 'readline', 'readlines'] as const;
const ERRORS_METHODS = ['write', 'writelines', 'flush'] as const;
const PROTOCOL = /^HTTP\/[0-9]+(\.[0-9]+)?$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function hasMethods(v: unknown, names: readonly string[]): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return names.every((n) => typeof o[n] === 'function');
}

/**
 * Checks an environ as a server hands it to an app: every required key with
 * the right type, byte strings for CGI keys, wsgi.version [1, 0], the
 * SCRIPT_NAME / PATH_INFO rules, CONTENT_LENGTH digits or absent, no
 * HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH. Returns it, typed.
 */
export function checkEnviron(environ: unknown): WsgiEnviron {
  if (!isPlainObject(environ)) {
    throw new ProtocolError('wsgi.environ.type.1', 'environ must be a plain object', environ);
  }
  const env = environ;
  for (const key of REQUIRED_NON_EMPTY) {
    if (!(key in env) || env[key] === '') {
      throw new ProtocolError('wsgi.environ.cgi.1', `environ must hold a non-empty ${key}`, env[key]);
    }
  }
  for (const key of REQUIRED_MAYBE_EMPTY) {
    if (!(key in env)) {
      throw new ProtocolError('wsgi.environ.cgi.2', `environ must hold ${key} (an empty string when there is none)`, undefined);
    }
  }
  // CGI keys are the keys without a dot; they all hold byte strings ("native strings").
  for (const key of Object.keys(env)) {
    if (!key.includes('.') && !isByteString(env[key])) {
      throw new ProtocolError('wsgi.environ.cgi.3', `environ[${JSON.stringify(key)}] must be a byte string`, env[key]);
    }
  }
  const method = env.REQUEST_METHOD as string;
  if (!isToken(method)) {
    throw new ProtocolError('wsgi.environ.cgi.4', 'REQUEST_METHOD must be an RFC 9110 token', method);
  }
  if (!DIGITS.test(env.SERVER_PORT as string)) {
    throw new ProtocolError('wsgi.environ.cgi.5', 'SERVER_PORT must be ASCII digits', env.SERVER_PORT);
  }
  if (!PROTOCOL.test(env.SERVER_PROTOCOL as string)) {
    throw new ProtocolError('wsgi.environ.cgi.6', 'SERVER_PROTOCOL must look like "HTTP/1.1"', env.SERVER_PROTOCOL);
  }
  const scriptName = env.SCRIPT_NAME as string;
  const pathInfo = env.PATH_INFO as string;
  if (scriptName !== '' && (scriptName[0] !== '/' || scriptName === '/')) {
    throw new ProtocolError('wsgi.environ.path.1', 'SCRIPT_NAME must be empty or start with "/" (and never be "/" alone)', scriptName);
  }
  const asterisk = pathInfo === '*' && method === 'OPTIONS';
  if (pathInfo !== '' && pathInfo[0] !== '/' && !asterisk) {
    throw new ProtocolError('wsgi.environ.path.2', 'PATH_INFO must be empty or start with "/"', pathInfo);
  }
  if (scriptName === '' && pathInfo === '') {
    throw new ProtocolError('wsgi.environ.path.2', 'PATH_INFO must be at least "/" when SCRIPT_NAME is empty', pathInfo);
  }
  if ('CONTENT_LENGTH' in env && !DIGITS.test(env.CONTENT_LENGTH as string)) {
    throw new ProtocolError('wsgi.environ.content_length.1', 'CONTENT_LENGTH must be ASCII digits, or absent when the length is unknown', env.CONTENT_LENGTH);
  }
  for (const key of ['HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) {
    if (key in env) {
      throw new ProtocolError('wsgi.environ.http.1', `environ must not hold ${key}: the header goes in ${key.slice(5)}`, env[key]);
    }
  }
  const version = env['wsgi.version'];
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== 1 || version[1] !== 0) {
    throw new ProtocolError('wsgi.environ.version.1', "environ['wsgi.version'] must be [1, 0]", version);
  }
  const scheme = env['wsgi.url_scheme'];
  if (scheme !== 'http' && scheme !== 'https') {
    throw new ProtocolError('wsgi.environ.url_scheme.1', "environ['wsgi.url_scheme'] must be \"http\" or \"https\"", scheme);
  }
  const input = env['wsgi.input'];
  if (!hasMethods(input, INPUT_METHODS) || typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ProtocolError('wsgi.environ.input.1', "environ['wsgi.input'] must have read(), readline(), readlines() and be iterable", input);
  }
  if (!hasMethods(env['wsgi.errors'], ERRORS_METHODS)) {
    throw new ProtocolError('wsgi.environ.errors.1', "environ['wsgi.errors'] must have write(), writelines() and flush()", env['wsgi.errors']);
  }
  for (const key of FLAGS) {
    if (typeof env[key] !== 'boolean') {
      throw new ProtocolError('wsgi.environ.flags.1', `environ['${key}'] must be a boolean`, env[key]);
    }
  }
  if ('wsgi.input_terminated' in env && typeof env['wsgi.input_terminated'] !== 'boolean') {
    throw new ProtocolError('wsgi.environ.input_terminated.1', "environ['wsgi.input_terminated'] must be a boolean when present", env['wsgi.input_terminated']);
  }
  if ('wsgi.file_wrapper' in env && typeof env['wsgi.file_wrapper'] !== 'function') {
    throw new ProtocolError('wsgi.environ.file_wrapper.1', "environ['wsgi.file_wrapper'] must be a function when present", env['wsgi.file_wrapper']);
  }
  return env as WsgiEnviron;
}
