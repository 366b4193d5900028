/**
 * One HTTP request through an ASGI-TS app, in process: the app's receive()
 * pulls the test's body chunk by chunk, its send() goes through the same
 * HttpResponseCycle the servers use (so ordering, Content-Length, HEAD and
 * extension rules are the servers' rules), and body chunks are handed to the
 * test one at a time, so an app that streams waits on a test that does not
 * read, as it would on a slow client.
 */
import { createReadStream, read as fsRead } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { promisify } from 'node:util';
import type { ByteString } from '../bytes.js';
import { ClientDisconnected, isClientDisconnected, ProtocolError } from '../errors.js';
import { httpEnding, RETURNED, type AppExit } from '../server/app-run.js';
import { HttpResponseCycle, type HttpAction } from '../asgi/http-cycle.js';
import type { AsgiApplication, HttpReceiveEvent, HttpScope, Receive, Send, SendEvent } from '../asgi/types.js';
import { deferred, Rendezvous, type Deferred } from './channel.js';
import { chunkBytes, type BodySource } from './request.js';
import { BaseTestResponse, IncompleteResponseError, INTERNAL_ERROR_BODY, INTERNAL_ERROR_HEADERS, ResponseHeaders } from './response.js';

const EMPTY = new Uint8Array(0);
const DISCONNECT: HttpReceiveEvent = Object.freeze({ type: 'http.disconnect' }) as HttpReceiveEvent;
const readFd = promisify(fsRead);

/** The response of an ASGI app: what every TestResponse has, plus what only ASGI extensions produce. */
export class AsgiTestResponse extends BaseTestResponse {
  /** The status line's reason phrase: the app's `reason_phrase` (http.response.reason_phrase extension), else the status's standard one. */
  readonly reason: string;
  /** Headers of `http.response.trailers` events (trailers extension); null when none were announced. */
  readonly trailers: ResponseHeaders | null;
  /** The `links` of each `http.response.early_hint` event, in order. */
  readonly earlyHints: readonly ByteString[][];
  /** The `info` of each `http.response.debug` event, in order. */
  readonly debug: readonly Record<string, unknown>[];
  /** The `http.response.push` events (path and headers), in order; nothing is fetched. */
  readonly pushes: ReadonlyArray<{ path: string; headers: ResponseHeaders }>;

  constructor(status: number, reason: string, headers: ResponseHeaders, chunks: readonly Uint8Array[], extras: ResponseExtras) {
    super(status, headers, chunks);
    this.reason = reason;
    this.trailers = extras.trailers;
    this.earlyHints = extras.earlyHints;
    this.debug = extras.debug;
    this.pushes = extras.pushes;
  }
}

/** The parts of a response that only ASGI extensions fill. */
export interface ResponseExtras {
  trailers: ResponseHeaders | null;
  earlyHints: ByteString[][];
  debug: Record<string, unknown>[];
  pushes: Array<{ path: string; headers: ResponseHeaders }>;
}

interface ResponseHead {
  status: number;
  reason: string;
  headers: ResponseHeaders;
}

/** How one request runs: the app, its scope and body, and the client's policy on app errors. */
export interface HttpExchangeOptions {
  app: AsgiApplication;
  scope: HttpScope;
  body: BodySource;
  raiseServerExceptions: boolean;
}

/** The state of one request between a test and an app. */
export class HttpExchange {
  /** Resolves with the response head, or rejects with the app's error or the client's abort reason. */
  readonly head: Deferred<ResponseHead> = deferred();
  /** The response body, chunk by chunk; ends after the app has returned. */
  readonly pipe = new Rendezvous<Uint8Array>();
  /** Resolves when the app has returned or raised (never rejects). */
  readonly settled: Promise<void>;
  readonly extras: ResponseExtras = { trailers: null, earlyHints: [], debug: [], pushes: [] };

  private readonly cycle: HttpResponseCycle;
  private readonly source: BodySource;
  private readonly raise: boolean;
  private bodyDone: boolean;
  private pulling: Promise<unknown> = Promise.resolve();
  private complete = false;
  private disconnected: { reason: unknown } | null = null;
  // Resolves when the client disconnects; pending body pulls race it.
  private readonly gone = deferred<null>();
  // Resolves when the response is complete or the client gone: receive() after the body waits for it.
  private readonly ended = deferred<void>();

  constructor(opts: HttpExchangeOptions) {
    this.source = opts.body;
    this.bodyDone = false;
    this.raise = opts.raiseServerExceptions;
    this.cycle = new HttpResponseCycle({ method: opts.scope.method, extensions: opts.scope.extensions });
    this.settled = this.run(opts.app, opts.scope);
  }

  /** The client goes away (abort signal, test stopped reading, client closed): the app sees http.disconnect. */
  disconnect(reason: unknown): void {
    if (this.disconnected !== null) return;
    this.disconnected = { reason };
    this.cycle.disconnect();
    this.pipe.cancel(new ClientDisconnected());
    this.gone.resolve(null);
    this.ended.resolve();
    if (this.source.kind !== 'bytes') void Promise.resolve(this.source.iterator.return?.()).catch(() => undefined);
  }

  /** True once the app sent its final body event (and trailers, when announced). */
  get isComplete(): boolean {
    return this.complete;
  }

  private async run(app: AsgiApplication, scope: HttpScope): Promise<void> {
    let exit: AppExit = RETURNED;
    try {
      await app(scope, this.receive as Receive, this.send as Send);
    } catch (error) {
      exit = { raised: true, error };
    }
    this.finish(exit);
  }

  /**
   * Turns how the app ended into what the test sees (a head, a body end, or
   * an error), by the servers' own rules (httpEnding): a 500 where a server
   * answers one, an IncompleteResponseError where it cuts the connection.
   * With raiseServerExceptions the test hears the app's error, or the rule
   * it broke, instead.
   */
  private finish(exit: AppExit): void {
    const ending = httpEnding(this.cycle, exit);
    if (ending.log !== null && exit.raised) {
      if (this.raise) return this.fail(exit.error);
      if (ending.action === 'respond_500') {
        // The test heard the head at http.response.start: past that point a server can only cut the connection.
        if (!this.cycle.started) return this.internalError();
        return this.fail(new IncompleteResponseError('the app raised after starting the response; a server would close the connection', { cause: exit.error }));
      }
    }
    if (this.disconnected !== null && !this.cycle.finished) return this.fail(this.disconnected.reason);
    switch (ending.action) {
      case 'respond_500':
        if (this.raise) return this.fail(new ProtocolError('asgi.app.return.1', 'the app returned without sending http.response.start; a server answers 500'));
        return this.internalError();
      case 'abort':
        if (this.raise) return this.fail(new ProtocolError('asgi.app.return.2', 'the app returned before its final http.response.body; a server closes the connection'));
        return this.fail(new IncompleteResponseError('the app returned before its final http.response.body; a server would close the connection'));
      case 'none':
        this.pipe.end();
    }
  }

  private fail(error: unknown): void {
    this.head.reject(error);
    this.pipe.fail(error);
  }

  private internalError(): void {
    this.head.resolve({ status: 500, reason: 'Internal Server Error', headers: new ResponseHeaders(INTERNAL_ERROR_HEADERS) });
    void this.pipe.put(INTERNAL_ERROR_BODY).catch(() => undefined);
    this.pipe.end();
  }

  private readonly receive = (): Promise<HttpReceiveEvent> => {
    if (this.disconnected !== null) return Promise.resolve(DISCONNECT);
    // Pulls are chained so concurrent receive() calls get the body in order.
    const next = this.pulling.then(() => this.nextEvent());
    this.pulling = next.catch(() => undefined);
    return next;
  };

  private async nextEvent(): Promise<HttpReceiveEvent> {
    if (this.disconnected !== null) return DISCONNECT;
    if (this.bodyDone) {
      // asgi: after the body, receive() waits until the response is done or the client leaves.
      await this.ended.promise;
      return DISCONNECT;
    }
    const src = this.source;
    if (src.kind === 'bytes') {
      this.bodyDone = true;
      return { type: 'http.request', body: src.bytes, more_body: false };
    }
    let chunk: Uint8Array | null;
    try {
      const r = src.kind === 'sync' ? src.iterator.next() : await Promise.race([src.iterator.next(), this.gone.promise]);
      if (r === null) return DISCONNECT;
      if (r.done === true) {
        this.bodyDone = true;
        return { type: 'http.request', body: EMPTY, more_body: false };
      }
      chunk = chunkBytes(r.value);
    } catch (error) {
      // A body source that fails is a client that broke off its upload.
      this.disconnect(error);
      return DISCONNECT;
    }
    return { type: 'http.request', body: chunk, more_body: true };
  }

  private readonly send = async (event: SendEvent): Promise<void> => {
    const action = this.cycle.send(event);
    await this.apply(action);
    if (!this.complete && this.cycle.finished) {
      this.complete = true;
      this.ended.resolve();
    }
  };

  private async apply(action: HttpAction): Promise<void> {
    switch (action.kind) {
      case 'start':
        if (action.trailers) this.extras.trailers = new ResponseHeaders([]);
        this.head.resolve({ status: action.status, reason: action.reason ?? STATUS_CODES[action.status] ?? '', headers: new ResponseHeaders(action.headers) });
        return;
      case 'body':
        if (action.transmit && action.body.byteLength > 0) await this.pipe.put(action.body);
        return;
      case 'pathsend':
        if (action.transmit) await this.sendFile(action.path);
        return;
      case 'zerocopysend':
        if (action.transmit) await this.sendFd(action.file, action.offset, action.count);
        return;
      case 'trailers': {
        const all = [...(this.extras.trailers?.raw ?? []), ...action.headers];
        this.extras.trailers = new ResponseHeaders(all);
        return;
      }
      case 'early_hint':
        this.extras.earlyHints.push(action.links);
        return;
      case 'debug':
        this.extras.debug.push(action.info);
        return;
      case 'push':
        this.extras.pushes.push({ path: action.path, headers: new ResponseHeaders(action.headers) });
        return;
    }
  }

  // http.response.pathsend: the file, streamed in bounded chunks through the same hand-off as body events.
  private async sendFile(path: string): Promise<void> {
    for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
      await this.pipe.put(chunk as Buffer);
    }
  }

  // http.response.zerocopysend: `count` bytes (or to EOF) of an open descriptor, from `offset` (or its position).
  private async sendFd(fd: number, offset: number | null, count: number | null): Promise<void> {
    let left = count ?? Infinity;
    let position = offset;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, left));
      const { bytesRead } = await readFd(fd, buf, 0, buf.byteLength, position);
      if (bytesRead === 0) return;
      if (position !== null) position += bytesRead;
      left -= bytesRead;
      await this.pipe.put(buf.subarray(0, bytesRead));
    }
  }
}

/**
 * A response whose head has arrived and whose body is still coming: iterate
 * it (or `body`) to take chunks as the app sends them. Leaving the loop early
 * is the client going away: the app's receive() returns http.disconnect and
 * its send() throws ClientDisconnected.
 */
export class StreamingTestResponse implements AsyncIterable<Uint8Array>, AsyncDisposable {
  readonly status: number;
  /** The status line's reason phrase, as AsgiTestResponse.reason. */
  readonly reason: string;
  readonly headers: ResponseHeaders;
  private readonly exchange: HttpExchange;
  private readonly taken: Uint8Array[] = [];
  private iterated = false;

  constructor(exchange: HttpExchange, head: ResponseHead) {
    this.exchange = exchange;
    this.status = head.status;
    this.reason = head.reason;
    this.headers = head.headers;
  }

  /** The body as an async iterable of chunks (the response itself); can be iterated once. */
  get body(): AsyncIterable<Uint8Array> {
    return this;
  }

  /** Trailers, early hints and debug info received so far (complete once the body has ended). */
  get extras(): Readonly<ResponseExtras> {
    return this.exchange.extras;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw new Error('the body of a streamed response can be iterated only once');
    this.iterated = true;
    const ex = this.exchange;
    return {
      next: async () => {
        const r = await ex.pipe.take();
        if (r.done !== true) this.taken.push(r.value);
        return r;
      },
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /** Reads the rest of the body and returns the whole response (chunks already iterated included). */
  async read(): Promise<AsgiTestResponse> {
    if (!this.iterated) for await (const _ of this) void _;
    else for (let r = await this.exchange.pipe.take(); r.done !== true; r = await this.exchange.pipe.take()) this.taken.push(r.value);
    return new AsgiTestResponse(this.status, this.reason, this.headers, this.taken, this.exchange.extras);
  }

  /** Reads the rest of the body and decodes it as UTF-8. */
  async text(): Promise<string> {
    return (await this.read()).text();
  }

  /** Reads the rest of the body and parses it as JSON. */
  async json<T = unknown>(): Promise<T> {
    return (await this.read()).json<T>();
  }

  /**
   * Disconnects unless the response is complete, then waits for the app to
   * return; rethrows the app's error (other than ClientDisconnected) when
   * raiseServerExceptions is on.
   */
  async close(): Promise<void> {
    const ex = this.exchange;
    if (!ex.isComplete) ex.disconnect(new ClientDisconnected('the test closed the response'));
    await ex.settled;
    // Drain what is left so an error the app raised surfaces here.
    for (;;) {
      try {
        const r = await ex.pipe.take();
        if (r.done === true) return;
      } catch (error) {
        if (isClientDisconnected(error)) return;
        throw error;
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
