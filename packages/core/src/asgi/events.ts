/**
 * Shape validation of single ASGI-TS events (spec/asgi.md): the keys, their
 * types and their defaults, one event at a time. Whether an event is legal
 * *now* (ordering, extensions announced in the scope) is the business of the
 * cycles in http-cycle.ts, websocket-cycle.ts and lifespan-cycle.ts.
 *
 * Every violation throws a ProtocolError carrying the id of the broken clause
 * and the offending value. Events that carry headers come back normalized
 * (headers as a fresh array of [name, value] arrays), because an app may pass
 * a one-shot iterable that can be walked only once.
 */
import { describe, isHeaderValue, isToken, type ByteString } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import type {
  HeadersIn,
  HttpResponseStartEvent,
  HttpSendEvent,
  LifespanSendEvent,
  ReceiveEvent,
  Scope,
  WebSocketSendEventUnion,
} from './types.js';

/** Headers after validation: a plain array of plain [name, value] arrays. */
export type NormalizedHeaders = Array<[ByteString, ByteString]>;

/** An event whose `headers` (if the event has that key) is normalized and always present. */
export type Normalized<E> = E extends { headers?: HeadersIn }
  ? Omit<E, 'headers'> & { headers: NormalizedHeaders }
  : E extends { links: ByteString[] }
    ? Omit<E, 'links'> & { links: ByteString[] }
    : E;

/** How a header name that is not lower-case is treated. */
export type HeaderCase =
  /** Lower-case it (what a server does, asgi.events.headers.3). */
  | 'fold'
  /** Reject it with the site's clause (what validateAsgi does for apps, asgi.events.headers.2). */
  | 'require';

/** Options of the event checks. */
export interface CheckOptions {
  /** Treatment of upper-case header names from the app; default 'fold'. */
  headerCase?: HeaderCase;
}

// An RFC 9110 token without upper-case letters: the name as it should be, checked in one test.
const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
// Header names (lower-case already) and values that passed the checks, remembered: an app sends the same few strings
// with every response (literals, mostly), and a set lookup costs less than the regular expressions. Bounded, so that
// arbitrary strings cannot grow them; long values are not kept.
const GOOD_NAMES = new Set<string>();
const GOOD_VALUES = new Set<string>();
const GOOD_MAX = 1024;
const GOOD_VALUE_MAX_LENGTH = 128;
// A lone surrogate cannot be encoded as UTF-8: sending it would silently become U+FFFD.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Validates headers as an app or server hands them over: any iterable of
 * 2-item iterables of byte strings, names RFC 9110 tokens, values without
 * CR, LF, NUL or other controls. Returns a fresh array of [name, value]
 * arrays (valid, already lower-case array pairs are reused, not copied). `clause` is
 * the id cited for a malformed header; with `headerCase: 'require'` an
 * upper-case name breaks asgi.events.headers.2, otherwise it is lower-cased.
 */
export function normalizeHeaders(headers: unknown, clause: string, headerCase: HeaderCase = 'fold'): NormalizedHeaders {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) {
    // Fast path: the common array of arrays, walked without an iterator.
    const out: NormalizedHeaders = new Array(headers.length);
    for (let i = 0; i < headers.length; i++) out[i] = normalizeHeader(headers[i], i, clause, headerCase);
    return out;
  }
  if (typeof headers === 'string' || headers === null || typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ProtocolError(clause, 'headers must be an iterable of [name, value] pairs', headers);
  }
  const out: NormalizedHeaders = [];
  let i = 0;
  for (const pair of headers as Iterable<unknown>) out.push(normalizeHeader(pair, i++, clause, headerCase));
  return out;
}

function normalizeHeader(pair: unknown, i: number, clause: string, headerCase: HeaderCase): [ByteString, ByteString] {
  let name: unknown;
  let value: unknown;
  if (Array.isArray(pair)) {
    if (pair.length !== 2) throw new ProtocolError(clause, `header ${i} must be a [name, value] pair`, pair);
    name = pair[0];
    value = pair[1];
  } else if (pair !== null && typeof pair === 'object' && typeof (pair as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const items = Array.from(pair as Iterable<unknown>);
    if (items.length !== 2) throw new ProtocolError(clause, `header ${i} must be a [name, value] pair`, pair);
    name = items[0];
    value = items[1];
  } else {
    throw new ProtocolError(clause, `header ${i} must be a [name, value] pair`, pair);
  }
  if (typeof name !== 'string') {
    throw new ProtocolError(clause, `header ${i} name must be a byte string that is an RFC 9110 token`, name);
  }
  if (!GOOD_NAMES.has(name)) {
    if (LOWER_TOKEN.test(name)) {
      if (GOOD_NAMES.size < GOOD_MAX) GOOD_NAMES.add(name);
    } else {
      if (!isToken(name)) throw new ProtocolError(clause, `header ${i} name must be a byte string that is an RFC 9110 token`, name);
      if (headerCase === 'require') throw new ProtocolError('asgi.events.headers.2', `header ${i} name must be lower-case`, name);
      name = name.toLowerCase();
    }
  }
  if (typeof value !== 'string' || !(GOOD_VALUES.has(value) || isGoodValue(value))) {
    throw new ProtocolError(clause, `header ${i} (${name as string}) value must be a byte string without CR, LF, NUL or other controls`, value);
  }
  // A valid plain pair is kept as is (no copy per header on the hot path); anything else becomes a fresh pair.
  return Array.isArray(pair) && pair[0] === name ? (pair as [ByteString, ByteString]) : [name as string, value];
}

/** isHeaderValue, remembering a short value that passes (GOOD_VALUES). */
function isGoodValue(value: string): boolean {
  if (!isHeaderValue(value)) return false;
  if (value.length <= GOOD_VALUE_MAX_LENGTH && GOOD_VALUES.size < GOOD_MAX) GOOD_VALUES.add(value);
  return true;
}

/** Throws asgi.events.type.1 unless `event` is an object with a string `type`; returns the type. */
export function eventType(event: unknown): string {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw new ProtocolError('asgi.events.type.1', 'an event must be an object with a string "type" key', event);
  }
  const type = (event as { type?: unknown }).type;
  if (typeof type !== 'string') {
    throw new ProtocolError('asgi.events.type.1', 'an event must be an object with a string "type" key', type);
  }
  return type;
}

function unknownType(scopeType: string, type: string): never {
  throw new ProtocolError('asgi.events.type.2', `"${type}" is not an event the app may send on a ${scopeType} connection`, type);
}

function checkBody(v: unknown, clause: string, key = 'body'): void {
  if (v !== undefined && !(v instanceof Uint8Array)) {
    throw new ProtocolError(clause, `"${key}" must be a Uint8Array (or absent)`, v);
  }
}

function checkFlag(v: unknown, clause: string, key: string): void {
  if (v !== undefined && typeof v !== 'boolean') {
    throw new ProtocolError(clause, `"${key}" must be a boolean (or absent)`, v);
  }
}

/** RFC 9112's reason-phrase: HTAB, SP, VCHAR and obs-text (U+0080-U+00FF), possibly empty. */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

function checkReasonPhrase(v: unknown): void {
  if (v !== undefined && (typeof v !== 'string' || !REASON_PHRASE.test(v))) {
    throw new ProtocolError('asgi.ext.reason_phrase.2', '"reason_phrase" must be text of tabs, spaces, visible ASCII and U+0080-U+00FF (or absent)', v);
  }
}

function checkStatus(v: unknown, clause: string, rangeClause: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ProtocolError(clause, '"status" must be an integer', v);
  }
  if (v < 200 || v > 599) {
    throw new ProtocolError(rangeClause, '"status" must be a final status code, 200..599', v);
  }
  return v;
}

function checkNonNegativeInt(v: unknown, clause: string, key: string, optional: boolean): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ProtocolError(clause, `"${key}" must be a non-negative integer${optional ? ' (or absent)' : ''}`, v);
  }
}

/** Number of UTF-8 bytes of a well-formed string, without encoding it. */
function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** True for a close code an endpoint may put in a Close frame (RFC 6455 section 7.4). */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    code >= 1000 &&
    code <= 4999 &&
    code !== 1004 &&
    code !== 1005 &&
    code !== 1006 &&
    code !== 1015 &&
    !(code >= 1016 && code <= 2999)
  );
}

/**
 * Validates one event an app sends on an http connection: the keys and their
 * types (asgi.http.*, asgi.ext.*). Does not judge ordering or extensions.
 */
export function checkHttpSendEvent(event: unknown, options?: CheckOptions): Normalized<HttpSendEvent> {
  const type = eventType(event);
  const e = event as Record<string, unknown>;
  switch (type) {
    case 'http.response.body':
      checkBody(e.body, 'asgi.http.body.1');
      checkFlag(e.more_body, 'asgi.http.body.2', 'more_body');
      return event as Normalized<HttpSendEvent>;
    case 'http.response.start': {
      const status = checkStatus(e.status, 'asgi.http.start.1', 'asgi.http.start.2');
      const headers = normalizeHeaders(e.headers, 'asgi.http.start.3', options?.headerCase);
      checkFlag(e.trailers, 'asgi.ext.trailers.2', 'trailers');
      checkReasonPhrase(e.reason_phrase);
      const start: Normalized<HttpResponseStartEvent> = { type, status, headers, trailers: e.trailers === true };
      if (e.reason_phrase !== undefined) start.reason_phrase = e.reason_phrase as string;
      return start;
    }
    case 'http.response.trailers': {
      const headers = normalizeHeaders(e.headers, 'asgi.ext.trailers.3', options?.headerCase);
      checkFlag(e.more_trailers, 'asgi.ext.trailers.3', 'more_trailers');
      return { type, headers, more_trailers: e.more_trailers === true };
    }
    case 'http.response.zerocopysend':
      checkNonNegativeInt(e.file, 'asgi.ext.zerocopysend.2', 'file', false);
      checkNonNegativeInt(e.offset, 'asgi.ext.zerocopysend.2', 'offset', true);
      checkNonNegativeInt(e.count, 'asgi.ext.zerocopysend.2', 'count', true);
      checkFlag(e.more_body, 'asgi.ext.zerocopysend.2', 'more_body');
      return event as Normalized<HttpSendEvent>;
    case 'http.response.pathsend':
      if (typeof e.path !== 'string' || !e.path.startsWith('/') || e.path.includes('\0')) {
        throw new ProtocolError('asgi.ext.pathsend.2', '"path" must be an absolute file path (string starting with "/")', e.path);
      }
      return event as Normalized<HttpSendEvent>;
    case 'http.response.push': {
      if (typeof e.path !== 'string' || !e.path.startsWith('/')) {
        throw new ProtocolError('asgi.ext.push.2', '"path" must be a string starting with "/"', e.path);
      }
      const headers = normalizeHeaders(e.headers, 'asgi.ext.push.2', options?.headerCase);
      return { type, path: e.path, headers };
    }
    case 'http.response.early_hint': {
      const links = e.links;
      if (typeof links === 'string' || links === null || typeof links !== 'object' || typeof (links as Iterable<unknown>)[Symbol.iterator] !== 'function') {
        throw new ProtocolError('asgi.ext.early_hint.2', '"links" must be an iterable of byte strings', links);
      }
      const out: ByteString[] = [];
      for (const link of links as Iterable<unknown>) {
        if (typeof link !== 'string' || link.length === 0 || !isHeaderValue(link)) {
          throw new ProtocolError('asgi.ext.early_hint.2', 'each link must be a non-empty byte string usable as a Link header value', link);
        }
        out.push(link);
      }
      return { type, links: out };
    }
    case 'http.response.debug':
      if (e.info === null || typeof e.info !== 'object') {
        throw new ProtocolError('asgi.ext.debug.2', '"info" must be an object', e.info);
      }
      return event as Normalized<HttpSendEvent>;
    default:
      return unknownType('http', type);
  }
}

/**
 * Validates one event an app sends on a websocket connection (asgi.websocket.*,
 * asgi.ext.websocket_http_response.*). Does not judge ordering.
 */
export function checkWebSocketSendEvent(event: unknown, options?: CheckOptions): Normalized<WebSocketSendEventUnion> {
  const type = eventType(event);
  const e = event as Record<string, unknown>;
  switch (type) {
    case 'websocket.send': {
      const hasBytes = e.bytes !== undefined && e.bytes !== null;
      const hasText = e.text !== undefined && e.text !== null;
      if (hasBytes === hasText) {
        throw new ProtocolError('asgi.websocket.send.1', 'exactly one of "bytes" and "text" must be non-null', hasBytes ? 'both' : 'neither');
      }
      if (hasBytes && !(e.bytes instanceof Uint8Array)) {
        throw new ProtocolError('asgi.websocket.send.2', '"bytes" must be a Uint8Array', e.bytes);
      }
      if (hasText && (typeof e.text !== 'string' || LONE_SURROGATE.test(e.text))) {
        throw new ProtocolError('asgi.websocket.send.3', '"text" must be a well-formed string (no lone surrogates)', e.text);
      }
      return event as Normalized<WebSocketSendEventUnion>;
    }
    case 'websocket.accept': {
      const sub = e.subprotocol;
      if (sub !== undefined && sub !== null && (typeof sub !== 'string' || !isToken(sub))) {
        throw new ProtocolError('asgi.websocket.accept.1', '"subprotocol" must be null or a token string', sub);
      }
      const headers = normalizeHeaders(e.headers, 'asgi.websocket.accept.2', options?.headerCase);
      for (const [name] of headers) {
        if (name === 'sec-websocket-protocol') {
          throw new ProtocolError('asgi.websocket.accept.3', 'the subprotocol goes in "subprotocol", not in a sec-websocket-protocol header', name);
        }
      }
      return { type, subprotocol: sub ?? null, headers };
    }
    case 'websocket.close': {
      const code = e.code ?? 1000;
      if (typeof code !== 'number' || !isSendableCloseCode(code)) {
        throw new ProtocolError('asgi.websocket.close.1', '"code" must be an integer close code an endpoint may send (1000-1003, 1007-1014, 3000-4999)', code);
      }
      const reason = e.reason ?? '';
      if (typeof reason !== 'string' || LONE_SURROGATE.test(reason) || utf8Length(reason) > 123) {
        throw new ProtocolError('asgi.websocket.close.2', '"reason" must be null or a well-formed string of at most 123 UTF-8 bytes', reason);
      }
      return event as Normalized<WebSocketSendEventUnion>;
    }
    case 'websocket.http.response.start': {
      const status = checkStatus(e.status, 'asgi.ext.websocket_http_response.2', 'asgi.ext.websocket_http_response.2');
      const headers = normalizeHeaders(e.headers, 'asgi.ext.websocket_http_response.2', options?.headerCase);
      return { type, status, headers };
    }
    case 'websocket.http.response.body':
      checkBody(e.body, 'asgi.ext.websocket_http_response.3');
      checkFlag(e.more_body, 'asgi.ext.websocket_http_response.3', 'more_body');
      return event as Normalized<WebSocketSendEventUnion>;
    default:
      return unknownType('websocket', type);
  }
}

/** Validates one event an app sends on the lifespan scope (asgi.lifespan.*). Does not judge ordering. */
export function checkLifespanSendEvent(event: unknown): LifespanSendEvent {
  const type = eventType(event);
  const e = event as Record<string, unknown>;
  switch (type) {
    case 'lifespan.startup.complete':
    case 'lifespan.shutdown.complete':
      return event as LifespanSendEvent;
    case 'lifespan.startup.failed':
    case 'lifespan.shutdown.failed':
      if (e.message !== undefined && typeof e.message !== 'string') {
        throw new ProtocolError('asgi.lifespan.message.1', '"message" must be a string (or absent)', e.message);
      }
      return event as LifespanSendEvent;
    default:
      return unknownType('lifespan', type);
  }
}

/**
 * Validates one event a server delivers through `receive()` for a scope of
 * the given type (what validateAsgi checks on the server's side).
 */
export function checkReceiveEvent(scopeType: Scope['type'], event: unknown): ReceiveEvent {
  const type = eventType(event);
  const e = event as Record<string, unknown>;
  switch (scopeType) {
    case 'http':
      if (type === 'http.request') {
        checkBody(e.body, 'asgi.http.request.1');
        checkFlag(e.more_body, 'asgi.http.request.2', 'more_body');
        return event as ReceiveEvent;
      }
      if (type === 'http.disconnect') return event as ReceiveEvent;
      break;
    case 'websocket':
      if (type === 'websocket.receive') {
        const hasBytes = e.bytes !== undefined && e.bytes !== null;
        const hasText = e.text !== undefined && e.text !== null;
        if (hasBytes === hasText) {
          throw new ProtocolError('asgi.websocket.receive.1', 'exactly one of "bytes" and "text" must be non-null', hasBytes ? 'both' : 'neither');
        }
        if (hasBytes && !(e.bytes instanceof Uint8Array)) {
          throw new ProtocolError('asgi.websocket.receive.2', '"bytes" must be a Uint8Array', e.bytes);
        }
        if (hasText && typeof e.text !== 'string') {
          throw new ProtocolError('asgi.websocket.receive.3', '"text" must be a string', e.text);
        }
        return event as ReceiveEvent;
      }
      if (type === 'websocket.disconnect') {
        if (typeof e.code !== 'number' || !Number.isInteger(e.code)) {
          throw new ProtocolError('asgi.websocket.disconnect.1', '"code" must be an integer', e.code);
        }
        if (e.reason !== undefined && e.reason !== null && typeof e.reason !== 'string') {
          throw new ProtocolError('asgi.websocket.disconnect.2', '"reason" must be a string or null', e.reason);
        }
        return event as ReceiveEvent;
      }
      if (type === 'websocket.connect') return event as ReceiveEvent;
      break;
    case 'lifespan':
      if (type === 'lifespan.startup' || type === 'lifespan.shutdown') return event as ReceiveEvent;
      break;
    default:
      throw new ProtocolError('asgi.scope.type.1', 'scope type must be "http", "websocket" or "lifespan"', scopeType);
  }
  throw new ProtocolError('asgi.events.type.3', `"${type}" is not an event a server may deliver on a ${scopeType} connection`, type);
}

/** Short description of an event for error messages (its type, or what it is instead). */
export function describeEvent(event: unknown): string {
  const t = (event as { type?: unknown } | null)?.type;
  return typeof t === 'string' ? JSON.stringify(t) : describe(event);
}
