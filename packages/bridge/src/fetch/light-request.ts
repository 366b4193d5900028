/**
 * The Request a fetch handler gets from fromFetchHandler: method, url,
 * headers and signal are read from the ASGI scope when asked for, and
 * undici's Request, whose construction makes an AbortSignal and (with a
 * body) a ReadableStream, both transferable objects and the largest cost of
 * a small request, is built only when the handler touches anything else (the
 * body, clone(), cache, ...). A router that reads the method, the url and a
 * header or two never builds it. It is still an `instanceof Request`.
 */
import type { HttpScope } from '@tsgi/core';

/** What a LightRequest is made from. */
export interface LightRequestSource {
  scope: HttpScope;
  /** The absolute URL (requestUrl). */
  url: string;
  /** The request body, made on first use; null for a request without one. */
  body: (() => ReadableStream<Uint8Array>) | null;
  /** Aborted when the client leaves; read on first use. */
  signal: () => AbortSignal;
}

const SOURCE = Symbol('tsgi.lightRequest.source');
const HEADERS = Symbol('tsgi.lightRequest.headers');
const REAL = Symbol('tsgi.lightRequest.real');

// undici upper-cases these methods (the fetch spec's "normalize a method"); any other token is kept as sent.
const NORMALIZED: Record<string, string> = { delete: 'DELETE', get: 'GET', head: 'HEAD', options: 'OPTIONS', post: 'POST', put: 'PUT' };

/** A Request whose undici object is built on first need. */
class LightRequest {
  private readonly [SOURCE]: LightRequestSource;
  private [HEADERS]: Headers | undefined = undefined;
  private [REAL]: Request | undefined = undefined;

  constructor(source: LightRequestSource) {
    this[SOURCE] = source;
  }

  get method(): string {
    const m = this[SOURCE].scope.method;
    return NORMALIZED[m.toLowerCase()] ?? m;
  }

  get url(): string {
    return this[SOURCE].url;
  }

  get headers(): Headers {
    return (this[HEADERS] ??= this[REAL]?.headers ?? new Headers(this[SOURCE].scope.headers));
  }

  get signal(): AbortSignal {
    return this[SOURCE].signal();
  }
}

/** Builds (once) the undici Request behind `light`, with the same headers object and signal. */
function realOf(light: LightRequest): Request {
  const cached = light[REAL];
  if (cached !== undefined) return cached;
  const source = light[SOURCE];
  const real = new Request(source.url, {
    method: light.method,
    headers: light.headers,
    body: source.body === null ? null : source.body(),
    // Node's fetch needs this for a streamed body; it is the only mode there is.
    duplex: 'half',
  } as RequestInit);
  // The signal fires on http.disconnect (passing it to the constructor would make a second AbortSignal).
  Object.defineProperty(real, 'signal', { get: source.signal, configurable: true, enumerable: true });
  light[REAL] = real;
  return real;
}

let linked = false;

/**
 * Forwards every other member of Request.prototype to the undici Request
 * (getters read it, methods call it) and makes LightRequest a Request. Done at
 * the first request rather than at import: touching Request loads all of fetch.
 */
function linkToRequest(): void {
  linked = true;
  for (const key of Reflect.ownKeys(Request.prototype)) {
    if (key === 'constructor' || Object.prototype.hasOwnProperty.call(LightRequest.prototype, key)) continue;
    const descriptor = Reflect.getOwnPropertyDescriptor(Request.prototype, key)!;
    if (typeof descriptor.value === 'function') {
      const method = descriptor.value as (this: Request, ...args: unknown[]) => unknown;
      Object.defineProperty(LightRequest.prototype, key, {
        value: function (this: LightRequest, ...args: unknown[]) {
          return method.apply(realOf(this), args);
        },
        configurable: true,
        writable: true,
      });
    } else if (descriptor.get !== undefined) {
      const getter = descriptor.get;
      Object.defineProperty(LightRequest.prototype, key, { get: function (this: LightRequest) { return getter.call(realOf(this)); }, configurable: true });
    }
  }
  Object.setPrototypeOf(LightRequest.prototype, Request.prototype);
}

/** A Request for `source` that builds undici's only when needed (see the module comment). */
export function lightRequest(source: LightRequestSource): Request {
  if (!linked) linkToRequest();
  return new LightRequest(source) as unknown as Request;
}
