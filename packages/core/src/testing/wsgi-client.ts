/**
 * WsgiTestClient: runs a WSGI-TS app in process, inline on the calling
 * thread (no worker threads), through the same pieces as the pool server:
 * the request head becomes an ASGI scope (asgi/scope.ts), the scope becomes
 * the environ (wsgi/environ.ts), the body is read through the same
 * wsgi.input (wsgi/input.ts) and the call is driven by the same
 * callWsgiApp (wsgi/call.ts), so start_response, write(), Content-Length
 * and close() follow exactly the server's rules.
 */
import { buildHttpScope } from '../asgi/scope.js';
import { ClientDisconnected, isClientDisconnected } from '../errors.js';
import { callWsgiApp, fileWrapper, type WsgiSink } from '../wsgi/call.js';
import { environFromScope } from '../wsgi/environ.js';
import { createWsgiInput, type PullSource } from '../wsgi/input.js';
import type { ByteString } from '../bytes.js';
import type { WsgiApplication, WsgiErrors, WsgiHeaders } from '../wsgi/types.js';
import { validateWsgi, type ValidatedWsgiApp } from '../wsgi/validate.js';
import {
  bodySource,
  buildRequestHead,
  chunkBytes,
  resolveConnection,
  urlPath,
  withJson,
  type BodyChunk,
  type BodySource,
  type ConnectionOptions,
  type ResolvedConnection,
  type TestRequestInit,
} from './request.js';
import { CookieJar } from './cookies.js';
import { BaseTestResponse, IncompleteResponseError, ResponseHeaders } from './response.js';

/** Options of a WsgiTestClient. */
export interface WsgiTestClientOptions extends ConnectionOptions {
  /** Wrap the app in validateWsgi, so protocol mistakes fail with their clause id. Default true. */
  validate?: boolean;
  /**
   * Default true: an exception the app raises (or a PEP 3333 rule it
   * breaks) reaches the test. When false the test sees what the server
   * sends instead: a 500 before the headers went out, a cut response
   * (IncompleteResponseError) after.
   */
  raiseServerExceptions?: boolean;
  /** environ['wsgi.multithread']; default false (the app runs inline). */
  multithread?: boolean;
  /** environ['wsgi.multiprocess']; default false. */
  multiprocess?: boolean;
}

/** The response of a WSGI app: what every TestResponse has, plus the status reason and what went to wsgi.errors. */
export class WsgiTestResponse extends BaseTestResponse {
  /** The reason phrase of the app's status line, e.g. 'OK'. */
  readonly reason: string;
  /** Everything the app (and the driver, for app errors) wrote to wsgi.errors during this request. */
  readonly errors: string;

  constructor(status: number, reason: string, headers: ResponseHeaders, chunks: readonly Uint8Array[], errors: string) {
    super(status, headers, chunks);
    this.reason = reason;
    this.errors = errors;
  }
}

/** `wsgi.errors` that keeps what is written, for the test to read. */
class CapturedErrors implements WsgiErrors {
  private readonly parts: string[] = [];
  constructor(private readonly sink: (s: string) => void) {}
  write(s: string): void {
    if (typeof s !== 'string') throw new TypeError(`wsgi.errors.write() takes a string; got ${typeof s}`);
    this.parts.push(s);
    this.sink(s);
  }
  writelines(lines: Iterable<string>): void {
    for (const line of lines) this.write(line);
  }
  flush(): void {}
  get text(): string {
    return this.parts.join('');
  }
}

/** What the sink collected of the response. */
interface Collected {
  status: number;
  reason: string;
  headers: WsgiHeaders;
  chunks: Uint8Array[];
  ended: boolean;
  aborted: { error: unknown } | null;
}

/** An in-process client for a WSGI-TS app: runs it inline, one request at a time. */
export class WsgiTestClient {
  /** The app as the client calls it (wrapped in validateWsgi unless `validate: false`). */
  readonly app: WsgiApplication;
  private readonly validated: ValidatedWsgiApp | null;
  private readonly conn: ResolvedConnection;
  private readonly raise: boolean;
  private readonly multithread: boolean;
  private readonly multiprocess: boolean;
  private readonly allErrors: string[] = [];
  /** The cookies kept from responses and sent with later requests; null with `cookies: false`. */
  readonly cookies: CookieJar | null;

  constructor(app: WsgiApplication, options: WsgiTestClientOptions = {}) {
    this.validated = options.validate === false ? null : validateWsgi(app);
    this.app = this.validated ?? app;
    this.conn = resolveConnection(options);
    this.raise = options.raiseServerExceptions ?? true;
    this.multithread = options.multithread ?? false;
    this.multiprocess = options.multiprocess ?? false;
    this.cookies = options.cookies === false ? null : new CookieJar();
  }

  /** Everything written to wsgi.errors by every request of this client so far. */
  get errors(): string {
    return this.allErrors.join('');
  }

  /**
   * Runs one request through the app and returns the whole response. A sync
   * iterable body is pulled lazily, chunk by chunk, as the app reads
   * wsgi.input; an async iterable body is read whole first (the app runs
   * inline and cannot block on it). Rejects with the app's error when
   * raiseServerExceptions is on.
   *
   * `init.signal` simulates a client that leaves: once it is aborted (say by
   * the app's own generator, after the chunk the client should still get),
   * the next response chunk or wsgi.input read throws ClientDisconnected
   * into the app, as the pool server does, and the request rejects with the
   * abort reason once the call has ended (close() included).
   */
  async request(method: string, path: string, init: TestRequestInit = {}): Promise<WsgiTestResponse> {
    const req = withJson(init);
    req.signal?.throwIfAborted();
    let body = bodySource(req.body);
    if (body.kind === 'async') body = await collect(body.iterator);
    return this.run(method, path, req, body);
  }

  /** GET `path`. */
  get(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('GET', path, init);
  }
  /** HEAD `path` (the app's body is counted, not returned). */
  head(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('HEAD', path, init);
  }
  /** OPTIONS `path`. */
  options(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('OPTIONS', path, init);
  }
  /** POST `path`. */
  post(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('POST', path, init);
  }
  /** PUT `path`. */
  put(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('PUT', path, init);
  }
  /** PATCH `path`. */
  patch(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('PATCH', path, init);
  }
  /** DELETE `path`. */
  delete(path: string, init?: TestRequestInit): Promise<WsgiTestResponse> {
    return this.request('DELETE', path, init);
  }

  private run(method: string, path: string, init: TestRequestInit, body: Exclude<BodySource, { kind: 'async' }>): WsgiTestResponse {
    const signal = init.signal;
    const gone = (): void => {
      if (signal?.aborted === true) throw new ClientDisconnected('the test aborted the request');
    };
    const head = buildRequestHead(this.conn, method, path, init, body, [], this.cookies);
    const scope = buildHttpScope(head, { rootPath: this.conn.rootPath });
    const errors = new CapturedErrors((s) => this.allErrors.push(s));
    const contentLength = declaredLength(head.headers);
    const environ = environFromScope(scope, {
      input: createWsgiInput(pullSource(body, gone), contentLength),
      errors,
      multithread: this.multithread,
      multiprocess: this.multiprocess,
      fileWrapper,
    });
    const got: Collected = { status: 0, reason: '', headers: [], chunks: [], ended: false, aborted: null };
    const sink: WsgiSink = {
      start(status, reason, headers) {
        got.status = status;
        got.reason = reason;
        got.headers = headers;
      },
      // The app may reuse its buffer for the next chunk; keep a copy as the wire would.
      body: (chunk) => {
        gone();
        got.chunks.push(chunk.slice());
      },
      end: () => void (got.ended = true),
      abort: (error) => void (got.aborted = { error }),
    };
    const appErrors: unknown[] = [];
    callWsgiApp(this.app, environ, sink, {
      onError: (error) => {
        appErrors.push(error);
        errors.write(describeError(error));
      },
    });
    // The driver closes every response; the validator confirms it (wsgi.response.close.1).
    this.validated?.assertClosed();
    const raised = appErrors.find((e) => !isClientDisconnected(e));
    if (this.raise && raised !== undefined) throw raised;
    if (signal?.aborted === true) throw signal.reason;
    if (got.aborted !== null) {
      throw new IncompleteResponseError('the app failed after its headers went out; a server would close the connection', { cause: got.aborted.error });
    }
    const headers = new ResponseHeaders(got.headers);
    this.cookies?.receive(headers.getAll('set-cookie'), urlPath(this.conn, head.target));
    return new WsgiTestResponse(got.status, got.reason, headers, got.chunks, errors.text);
  }
}

/** The request's Content-Length when the test sent one (so wsgi.input stops there), else null (chunked). */
function declaredLength(headers: ReadonlyArray<readonly [ByteString, ByteString]>): number | null {
  for (const [name, value] of headers) {
    if (name === 'content-length' && /^[0-9]+$/.test(value)) return Number(value);
  }
  return null;
}

/** wsgi.input's pull source over the test's body: one chunk per pull, taken from the iterator only when the app reads. */
function pullSource(body: Exclude<BodySource, { kind: 'async' }>, gone: () => void): PullSource {
  if (body.kind === 'bytes') {
    let given = body.bytes.byteLength === 0;
    return {
      pull() {
        gone();
        if (given) return null;
        given = true;
        return body.bytes;
      },
    };
  }
  const it = body.iterator;
  return {
    pull() {
      gone();
      for (;;) {
        const r = it.next();
        if (r.done === true) return null;
        const chunk = chunkBytes(r.value);
        if (chunk.byteLength > 0) return chunk;
      }
    },
  };
}

async function collect(iterator: AsyncIterator<BodyChunk>): Promise<{ kind: 'sync'; iterator: Iterator<BodyChunk> }> {
  const chunks: Uint8Array[] = [];
  for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) chunks.push(chunkBytes(r.value));
  return { kind: 'sync', iterator: chunks[Symbol.iterator]() };
}

function describeError(error: unknown): string {
  return (error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error)) + '\n';
}
