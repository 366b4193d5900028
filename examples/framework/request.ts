/**
 * The request a handler sees. `Request` wraps an ASGI http scope and its
 * `receive()` (the body is awaited); `SyncRequest` wraps a WSGI environ
 * (the body is read from `wsgi.input`, blocking the worker thread). Both
 * share the same read-only view of the request line and headers.
 */
import { ClientDisconnected, concatBytes, latin1ToUtf8, type HttpScope, type Receive, type WsgiEnviron } from '@tsgi/core';
import { HttpError } from './response.js';
import type { Params } from './routing.js';

/** Request bodies read whole by text()/json() are refused past this size (413) unless the app says otherwise. */
export const DEFAULT_MAX_BODY = 1024 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** What both kinds of request have: the request line, headers, route params and app state. */
export abstract class RequestBase {
  /** Values of the route's `:name` segments. */
  params: Params = {};
  #query: URLSearchParams | null = null;
  #headers: Headers | null = null;

  constructor(
    /** Upper-case method. */
    readonly method: string,
    /** The full percent-decoded path (root path included, as in the ASGI scope). */
    readonly path: string,
    /** What the app stored during lifespan startup (the server's shallow copy for this request). */
    readonly state: Record<string, unknown>,
    /** Bodies past this many bytes make text()/json() answer 413. */
    protected readonly maxBody: number,
  ) {}

  /** The query string as sent (byte string, without the `?`). */
  protected abstract get rawQuery(): string;
  /** Builds the request headers (called once, on first use). */
  protected abstract buildHeaders(): Headers;

  /** The query string, parsed (values UTF-8 decoded); built on first use, as many views never look. */
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(latin1ToUtf8(this.rawQuery));
    return this.#query;
  }

  /** Request headers (values are byte strings as they came, latin-1); built on first use. */
  get headers(): Headers {
    this.#headers ??= this.buildHeaders();
    return this.#headers;
  }

  /** Decodes a whole body as UTF-8 text; malformed UTF-8 is the client's error (400). */
  protected decode(bytes: Uint8Array): string {
    try {
      return decoder.decode(bytes);
    } catch {
      throw new HttpError(400, 'request body is not valid UTF-8');
    }
  }

  /** Parses a whole body as JSON; a wrong content type is 415, malformed JSON 400. */
  protected parseJson(bytes: Uint8Array): unknown {
    const type = this.headers.get('content-type') ?? '';
    if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) throw new HttpError(415, `expected a JSON body (Content-Type: application/json); got ${JSON.stringify(type)}`);
    try {
      return JSON.parse(this.decode(bytes));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'request body is not valid JSON');
    }
  }

  /** Refuses a body that announces more than the limit before reading any of it. */
  protected checkAnnouncedLength(): void {
    const length = Number(this.headers.get('content-length') ?? '0');
    if (length > this.maxBody) throw new HttpError(413, `request body larger than ${this.maxBody} bytes`);
  }
}

/** The request an async handler sees; its body is read from ASGI `receive()` when asked for, once. */
export class Request extends RequestBase {
  #body: Promise<Uint8Array> | null = null;

  constructor(
    /** The ASGI scope, for anything the helpers do not cover. */
    readonly scope: HttpScope,
    /** The raw ASGI receive(), for mounted apps and anything the helpers do not cover. */
    readonly receive: Receive,
    maxBody = DEFAULT_MAX_BODY,
  ) {
    super(scope.method, scope.path, scope.state ?? {}, maxBody);
  }

  protected get rawQuery(): string {
    return this.scope.query_string;
  }

  protected buildHeaders(): Headers {
    return scopeHeaders(this.scope.headers);
  }

  /** The client's address, when the server knows it. */
  get client(): [host: string, port: number] | null {
    return this.scope.client;
  }

  /** The whole body (at most the app's limit; 413 beyond). Reading twice returns the same bytes. */
  body(): Promise<Uint8Array> {
    this.#body ??= this.#readBody();
    return this.#body;
  }

  /** The body as UTF-8 text. */
  async text(): Promise<string> {
    return this.decode(await this.body());
  }

  /** The body parsed as JSON (Content-Type must say JSON). */
  async json<T = unknown>(): Promise<T> {
    return this.parseJson(await this.body()) as T;
  }

  async #readBody(): Promise<Uint8Array> {
    this.checkAnnouncedLength();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const event = await this.receive();
      // The client left: nobody will read an answer, so stop the handler here (the app ends it quietly).
      if (event.type !== 'http.request') throw new ClientDisconnected('client disconnected while sending the body');
      size += event.body.byteLength;
      if (size > this.maxBody) throw new HttpError(413, `request body larger than ${this.maxBody} bytes`);
      if (event.body.byteLength > 0) chunks.push(event.body);
      if (!event.more_body) return concatBytes(chunks, size);
    }
  }
}

/** The request a sync view sees, on a worker thread; reading its body blocks that thread only. */
export class SyncRequest extends RequestBase {
  #body: Uint8Array | null = null;

  constructor(
    /** The WSGI environ, for anything the helpers do not cover. */
    readonly environ: WsgiEnviron,
    maxBody = DEFAULT_MAX_BODY,
  ) {
    const path = latin1ToUtf8(environ.SCRIPT_NAME + environ.PATH_INFO);
    // Lifespan state lives on the event loop's thread; a worker thread keeps its own resources in module scope.
    super(environ.REQUEST_METHOD, path, {}, maxBody);
  }

  protected get rawQuery(): string {
    return this.environ.QUERY_STRING;
  }

  protected buildHeaders(): Headers {
    return environHeaders(this.environ);
  }

  /** The path below the mount point (PATH_INFO, decoded): what sync views route on. */
  get pathInfo(): string {
    return latin1ToUtf8(this.environ.PATH_INFO);
  }

  /** The whole body (at most the limit; 413 beyond), read from wsgi.input. */
  body(): Uint8Array {
    if (this.#body !== null) return this.#body;
    this.checkAnnouncedLength();
    const input = this.environ['wsgi.input'];
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const chunk = input.read(64 * 1024);
      if (chunk.byteLength === 0) break;
      size += chunk.byteLength;
      if (size > this.maxBody) throw new HttpError(413, `request body larger than ${this.maxBody} bytes`);
      chunks.push(chunk);
    }
    this.#body = concatBytes(chunks, size);
    return this.#body;
  }

  /** The body as UTF-8 text. */
  text(): string {
    return this.decode(this.body());
  }

  /** The body parsed as JSON (Content-Type must say JSON). */
  json<T = unknown>(): T {
    return this.parseJson(this.body()) as T;
  }
}

// Headers refuses names that are not tokens; the servers already rejected such requests, so this cannot throw for them.
function scopeHeaders(pairs: ReadonlyArray<readonly [string, string]>): Headers {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

// PEP 3333 keeps headers as HTTP_* keys (plus CONTENT_TYPE and CONTENT_LENGTH).
function environHeaders(environ: WsgiEnviron): Headers {
  const headers = new Headers();
  for (const key of Object.keys(environ)) {
    const value = environ[key];
    if (typeof value !== 'string') continue;
    if (key.startsWith('HTTP_')) headers.append(key.slice(5).replaceAll('_', '-').toLowerCase(), value);
    else if (key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH') headers.append(key.replace('_', '-').toLowerCase(), value);
  }
  return headers;
}
