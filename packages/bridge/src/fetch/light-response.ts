/**
 * LightResponse: a `Response` class that keeps what its constructor was
 * given and builds the runtime's own Response only when something reads more
 * than a server needs. A handler that answers with text or bytes (Hono's
 * `c.text()`, `c.json()`, `new Response('Hello')`) is then written from its
 * status, headers and body as given: no ReadableStream, no Headers object,
 * no body reader, which together cost more than the rest of the request.
 *
 * fromFetchHandler installs it as the global `Response` (its
 * `overrideGlobalObjects` option, on by default, as in Hono's own Node
 * adapter), since the handler, not tsgi, calls the constructor. Everything
 * else about a Response behaves as before: `instanceof Response` holds for
 * both kinds, every getter and method works (the first one that needs the
 * real Response builds it, once), the statics are the runtime's, and a
 * constructor call the fast path does not cover (a stream body, a
 * Response as init, an invalid status or header) builds the real Response
 * at once, with its own errors.
 */
import type { ByteString } from '@tsgi/core';

/** What the server writes of a LightResponse that nothing has made real. */
export interface LightParts {
  status: number;
  /** The body's bytes; null for no body. */
  body: Uint8Array | null;
  /** The init's headers, or null when there were none. */
  headers: ResponseInit['headers'] | null;
  /** `content-type` to add when the headers have none: a string body's default, as the fetch spec says. */
  defaultType: ByteString | null;
}

const REAL: unique symbol = Symbol('tsgi.realResponse');
const PARTS: unique symbol = Symbol('tsgi.lightParts');
// The constructor's arguments, kept for the real Response.
const ARGS: unique symbol = Symbol('tsgi.lightArgs');

interface Light {
  [REAL]: Response | undefined;
  [PARTS]: LightParts | undefined;
  [ARGS]: [unknown, ResponseInit | undefined];
}

const TEXT_TYPE = 'text/plain;charset=UTF-8';
// Statuses the fetch spec forbids a body with.
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[^\0\r\n]*$/;

let Native: typeof Response | undefined;
let LightClass: typeof Response | undefined;

/** The runtime's own Response constructor, whichever one is global now. */
export function nativeResponse(): typeof Response {
  return (Native ??= globalThis.Response);
}

/** Makes LightResponse the global `Response` (once per process); returns it. */
export function installLightResponse(): typeof Response {
  const light = lightResponseClass();
  if (globalThis.Response !== light) Object.defineProperty(globalThis, 'Response', { value: light, writable: true, configurable: true, enumerable: false });
  return light;
}

/** What the server needs of `response` when it is a LightResponse that nothing made real; else undefined. */
export function lightParts(response: Response): LightParts | undefined {
  const light = response as unknown as Partial<Light>;
  return light[REAL] === undefined ? light[PARTS] : undefined;
}

/** The parts of a constructor call the fast path covers, or undefined (the real Response is built then). */
function partsOf(body: unknown, init: ResponseInit | undefined): LightParts | undefined {
  let bytes: Uint8Array | null;
  let defaultType: ByteString | null = null;
  if (body === undefined || body === null) bytes = null;
  else if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
    defaultType = TEXT_TYPE;
  }
  // Copied, as the real constructor copies: the handler may reuse its buffer.
  else if (body instanceof Uint8Array) bytes = body.slice();
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body.slice(0));
  else return undefined;
  if (init === undefined) return { status: 200, body: bytes, headers: null, defaultType };
  if (typeof init !== 'object' || init === null || Object.getPrototypeOf(init) !== Object.prototype || init.statusText !== undefined) return undefined;
  const status = init.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599 || (bytes !== null && NULL_BODY_STATUSES.has(status))) return undefined;
  const headers = init.headers;
  if (headers !== undefined && !(headers instanceof Headers) && !plainFields(headers)) return undefined;
  return { status, body: bytes, headers: headers ?? null, defaultType };
}

/** True for headers given as a plain object or a list of pairs, every name a token and every value a valid field value. */
function plainFields(headers: unknown): boolean {
  if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length !== 2 || !validField(pair[0], pair[1])) return false;
    }
    return true;
  }
  if (typeof headers !== 'object' || headers === null || Object.getPrototypeOf(headers) !== Object.prototype) return false;
  for (const name in headers) if (!validField(name, (headers as Record<string, unknown>)[name])) return false;
  return true;
}

function validField(name: unknown, value: unknown): boolean {
  return typeof name === 'string' && typeof value === 'string' && TOKEN.test(name) && FIELD_VALUE.test(value);
}

/** The real Response of a light one, built from its constructor's arguments at the first read that needs it. */
function real(light: Light): Response {
  return (light[REAL] ??= new (nativeResponse())(light[ARGS][0] as ConstructorParameters<typeof Response>[0], light[ARGS][1]));
}

/** Builds the class once: touching Response loads the runtime's fetch, which a server without fetch apps never needs. */
function lightResponseClass(): typeof Response {
  if (LightClass !== undefined) return LightClass;
  const NativeResponse = nativeResponse();

  class LightResponse {
    [REAL]: Response | undefined = undefined;
    [PARTS]: LightParts | undefined;
    [ARGS]: [unknown, ResponseInit | undefined];

    constructor(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit) {
      this[ARGS] = [body, init];
      this[PARTS] = partsOf(body, init);
      // Outside the fast path the real constructor runs now, with its own checks and errors.
      if (this[PARTS] === undefined) real(this);
    }

    /** Both kinds are Responses: a real one passes `instanceof` the light class too. */
    static [Symbol.hasInstance](value: unknown): boolean {
      return Function.prototype[Symbol.hasInstance].call(this === LightResponse ? NativeResponse : this, value);
    }
  }
  Object.setPrototypeOf(LightResponse, NativeResponse);
  Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype);

  for (const key of Reflect.ownKeys(NativeResponse.prototype)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(NativeResponse.prototype, key)!;
    if (d.get !== undefined) {
      const get = d.get;
      Object.defineProperty(LightResponse.prototype, key, { configurable: true, enumerable: d.enumerable, get: function (this: Light) { return get.call(real(this)); } });
    } else if (typeof d.value === 'function') {
      const method = d.value as (...args: unknown[]) => unknown;
      Object.defineProperty(LightResponse.prototype, key, { configurable: true, enumerable: d.enumerable, writable: true, value: function (this: Light, ...args: unknown[]) { return method.apply(real(this), args); } });
    }
  }
  // Read by every server and most middleware: answered from the parts while there is no real Response.
  Object.defineProperty(LightResponse.prototype, 'status', { configurable: true, enumerable: true, get: function (this: Light) { const p = lightParts(this as unknown as Response); return p !== undefined ? p.status : real(this).status; } });
  Object.defineProperty(LightResponse.prototype, 'ok', { configurable: true, enumerable: true, get: function (this: Light) { const s = (this as unknown as Response).status; return s >= 200 && s <= 299; } });
  LightClass = LightResponse as unknown as typeof Response;
  return LightClass;
}
