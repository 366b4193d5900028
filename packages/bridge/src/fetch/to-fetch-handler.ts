/**
 * toFetchHandler: an ASGI-TS app as a fetch handler, `(Request) =>
 * Promise<Response>`, so it runs wherever one runs (Node servers through an
 * adapter, Deno.serve, Bun.serve, edge workers). Both bodies stream:
 * `receive()` reads the Request body only as the app asks, and the Response
 * body is a stream that each `send()` waits on (backpressure).
 *
 * The app's events go through @tsgi/core's HttpResponseCycle, the same state
 * machine the servers use, so an app that breaks the protocol here gets the
 * same ProtocolError (naming the clause) it would get from @tsgi/uws.
 */
import {
  ClientDisconnected,
  HttpResponseCycle,
  buildHttpScope,
  type AsgiApplication,
  type Extensions,
  type HttpReceiveEvent,
  type Scope,
  type SendEvent,
} from '@tsgi/core';
import { consoleLogger, httpEnding, LifespanRunner, quiet, runApp, statusReason, type AppExit, type LifespanMode, type Logger } from '@tsgi/core/server';
import { fetchRequestHead, peerAddress, type ServerAddress } from './request-head.js';
import { ResponseBody } from './response-body.js';
import { nativeResponse } from './light-response.js';

/**
 * What runtimes pass next to the Request; only the peer address is read from
 * it: Deno.serve's `info.remoteAddr`, or @hono/node-server's
 * `env.incoming.socket`. Anything else is ignored.
 */
export type FetchConnectionInfo = unknown;

/** Options of toFetchHandler. */
export interface ToFetchHandlerOptions {
  /** A path prefix the host or a proxy stripped (uvicorn's --root-path): scope.root_path, and prefixed to path. Default ''. */
  rootPath?: string;
  /** scope.server, or a function giving it per request; default: the Request URL's host and port. */
  server?: ServerAddress;
  /** scope.client when the runtime does not pass `info.remoteAddr`; default null. */
  client?: [host: string, port: number] | null;
  /** Response bytes queued ahead of the reader before send() waits; default 0 (each send waits for the reader). */
  highWaterMark?: number;
  /** Lifespan mode of startup(): 'auto' (default: an app that raises just has no lifespan), 'on', or 'off' (the app is never called with a lifespan scope). */
  lifespan?: LifespanMode;
  /** Whether the host writes a Response's statusText on the wire, so the scopes announce http.response.reason_phrase; default true. Bun.serve and Deno.serve write the standard phrase whatever statusText says. */
  reasonPhrase?: boolean;
  /** Where app exceptions (default: the console) and lifespan lines (default: nowhere) are logged; they never reach the client. */
  logger?: Logger;
}

/** A fetch handler for an ASGI app, with the app's lifespan for hosts that have none. */
export interface AsgiFetchHandler {
  (request: Request, info?: FetchConnectionInfo): Promise<Response>;
  /** Runs the app's lifespan startup; call once before serving (rejects with LifespanStartupFailed, its `appMessage` the app's). */
  startup(): Promise<void>;
  /** Runs the app's lifespan shutdown; call once after serving (rejects with LifespanShutdownFailed). */
  shutdown(): Promise<void>;
  /** The lifespan state; each request scope gets a shallow copy. */
  readonly state: Record<string, unknown>;
}

const EMPTY = new Uint8Array(0);

/** What the scopes of a fetch handler announce: a Response carries a statusText, so the app's reason phrase has a place. */
const FETCH_EXTENSIONS: Extensions = Object.freeze({
  'http.response.reason_phrase': Object.freeze({}) as Record<string, never>,
});
/** For hosts that drop statusText: nothing announced, so the app knows its phrase would be lost. */
const NO_EXTENSIONS: Extensions = Object.freeze({});

/**
 * Wraps an ASGI-TS app as a fetch handler. The returned promise resolves
 * with the Response at the app's first `http.response.body` (the head is held
 * until then, so an app that fails in between gets a 500); a body sent in
 * one event has a known length, a longer one streams. An app that raises or returns before starting gets a 500
 * (logged, nothing leaked); one that fails after starting cuts the body.
 * The Request's abort signal (listened to from the app's first receive()), or
 * the Response body being cancelled, becomes `http.disconnect`.
 */
export function toFetchHandler(app: AsgiApplication, options: ToFetchHandlerOptions = {}): AsgiFetchHandler {
  const rootPath = options.rootPath ?? '';
  if (rootPath !== '' && (!rootPath.startsWith('/') || rootPath.endsWith('/'))) {
    throw new TypeError(`rootPath must be '' or start with '/' and not end with '/'; got ${JSON.stringify(rootPath)}`);
  }
  const highWaterMark = options.highWaterMark ?? 0;
  const logger = options.logger ?? consoleLogger();
  const lifespan = new LifespanRunner(app, { mode: options.lifespan ?? 'auto', logger: options.logger });
  const extensions = options.reasonPhrase === false ? NO_EXTENSIONS : FETCH_EXTENSIONS;

  const handler = ((request: Request, info?: FetchConnectionInfo) => {
    const head = fetchRequestHead(request, peerAddress(info) ?? options.client ?? null, options.server);
    const scope = buildHttpScope(head, { rootPath, state: lifespan.state, extensions });
    return new FetchExchange(app, request, highWaterMark, logger, extensions).run(scope);
  }) as AsgiFetchHandler;
  handler.startup = () => lifespan.startup();
  handler.shutdown = () => lifespan.shutdown();
  Object.defineProperty(handler, 'state', { get: () => lifespan.state });
  return handler;
}

/** One request: the ASGI connection of the app, on top of a Request and a Response being built. */
class FetchExchange {
  private readonly cycle: HttpResponseCycle;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null;
  private bodyDone = false;
  private disconnected = false;
  /** Settles receive() calls waiting for the end of the connection. */
  private readonly gone: Promise<void>;
  private markGone!: () => void;
  private body: ResponseBody | null = null;
  private resolveResponse!: (r: Response) => void;
  /** The response head the app sent, until the first body event turns it into the Response. */
  private head: { init: ResponseInit; bodyless: boolean } | null = null;
  private responded = false;
  /** The Request's abort signal is listened to (from the app's first receive() on). */
  private watching = false;
  private readonly onAbort = () => this.disconnect();

  constructor(
    private readonly app: AsgiApplication,
    private readonly request: Request,
    private readonly highWaterMark: number,
    private readonly logger: Logger,
    extensions: Extensions,
  ) {
    this.cycle = new HttpResponseCycle({ method: request.method, extensions });
    this.reader = request.body === null ? null : request.body.getReader();
    this.gone = new Promise<void>((resolve) => (this.markGone = resolve));
  }

  run(scope: Scope): Promise<Response> {
    const response = new Promise<Response>((resolve) => (this.resolveResponse = resolve));
    // quiet(): a send() the app does not await, failing once the client left, must not be an unhandled rejection (as on the servers).
    runApp(this.app, scope, this.receive, (event) => quiet(this.send(event)), this.onExit, this.logger);
    return response;
  }

  /**
   * Listens for the client leaving through the Request's abort signal. Only
   * from the app's first receive(), which is how an ASGI app hears of it (a
   * streamed Response body hears it from its reader's cancel): reading
   * `request.signal` makes the runtime build a signal per request, which
   * costs Deno.serve more than the rest of a hello world, and makes
   * @hono/node-server build its whole Request.
   */
  private watchClient(): void {
    if (this.watching) return;
    this.watching = true;
    const signal = this.request.signal;
    if (signal.aborted) this.disconnect();
    else signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly receive = async (): Promise<HttpReceiveEvent> => {
    this.watchClient();
    if (this.disconnected) return { type: 'http.disconnect' };
    if (!this.bodyDone) {
      if (this.reader === null) {
        this.bodyDone = true;
        return { type: 'http.request', body: EMPTY, more_body: false };
      }
      const next = await Promise.race([this.reader.read().catch(() => null), this.gone.then(() => null)]);
      if (next === null) {
        this.disconnect();
        return { type: 'http.disconnect' };
      }
      if (next.done) {
        this.bodyDone = true;
        return { type: 'http.request', body: EMPTY, more_body: false };
      }
      return { type: 'http.request', body: next.value, more_body: true };
    }
    // After the body, receive() waits for the end of the connection (the client leaving, or the response done).
    await this.gone;
    return { type: 'http.disconnect' };
  };

  private readonly send = async (event: SendEvent): Promise<void> => {
    const action = this.cycle.send(event);
    switch (action.kind) {
      case 'start': {
        // Handed over as pairs, not as a Headers object, which joins repeated fields with ", " (Deno keeps pairs apart on the wire; Bun joins them anyway).
        const headers = action.headers;
        // Held until the first body event (asgi.http.start.4): an app that fails in between still gets its 500.
        this.head = { init: action.reason === null ? { status: action.status, headers } : { status: action.status, statusText: action.reason, headers }, bodyless: action.bodyless };
        return;
      }
      case 'body':
        if (!this.responded) {
          const head = this.head!;
          if (head.bodyless) {
            this.respond(new (nativeResponse())(null, head.init));
          } else if (!action.more) {
            // The whole body in one event: a body of known length, which the runtime sends with Content-Length. Copied, as the app owns its buffer once send() resolves.
            this.respond(new (nativeResponse())(action.body.byteLength > 0 ? action.body.slice() : null, head.init));
            this.finish();
            return;
          } else {
            this.body = new ResponseBody(this.highWaterMark, () => this.disconnect());
            this.respond(new (nativeResponse())(this.body.stream, head.init));
          }
        }
        if (action.transmit && action.body.byteLength > 0) await this.body!.write(action.body);
        if (!action.more) this.finish();
        return;
      default:
        // No extension with events of its own is announced in the scope, so the cycle rejects their events before this point.
        return;
    }
  };

  private respond(response: Response): void {
    this.responded = true;
    this.resolveResponse(response);
  }

  private finish(): void {
    this.body?.close();
    this.done();
  }

  /** The client left: receive() reports it and the cycle makes later sends raise. */
  private disconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.cycle.disconnect();
    this.body?.error(new ClientDisconnected());
    this.done();
  }

  private done(): void {
    if (this.watching) this.request.signal.removeEventListener('abort', this.onAbort);
    this.markGone();
    if (this.reader !== null && !this.bodyDone) void this.reader.cancel().catch(() => {});
  }

  /** The app's run ended: the server layer decides what that means (httpEnding), this carries it out on the Response. */
  private readonly onExit = (exit: AppExit): void => {
    const ending = httpEnding(this.cycle, exit);
    if (ending.log !== null) this.logger.error(ending.log.message, ending.log.error);
    // Nothing is out before the first body event, so an unfinished response ('abort') can still be a 500 too.
    if (ending.action !== 'none' && !this.responded) {
      this.respond(internalError());
    } else if (ending.action !== 'none') {
      // Cut: the reader of the body sees it fail, as a client sees a cut connection.
      this.body?.error(exit.raised ? exit.error : new Error('the ASGI app returned before completing the response'));
    } else if (!this.responded) {
      // Only a client that left gets here unanswered; the runtime still awaits a Response.
      this.respond(internalError());
    }
    this.done();
  };
}

function internalError(): Response {
  return new (nativeResponse())(statusReason(500), { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}
