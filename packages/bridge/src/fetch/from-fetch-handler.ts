/**
 * fromFetchHandler: a fetch-style handler (`(Request) => Response`, the JS
 * world's gateway convention: Hono, itty-router, `export default { fetch }`)
 * as an ASGI-TS app, so an ASGI server such as @tsgi/uws serves it with
 * streaming and backpressure in both directions.
 */
import {
  isByteString,
  isClientDisconnected,
  utf8ToLatin1,
  type AsgiApplication,
  type ByteString,
  type HttpScope,
  type Receive,
  type Scope,
  type Send,
} from '@tsgi/core';
import { consoleLogger, type Logger } from '@tsgi/core/server';
import { hasRequestBody, InboundBody, ResponseProgress } from '../inbound-body.js';
import { answerLifespan } from '../lifespan.js';
import { refuseWebSocket, sendPlainAnswer } from '../own-answers.js';
import { responseStart } from '../response-start.js';
import { knownBody } from './known-body.js';
import { lightRequest } from './light-request.js';
import { installLightResponse, lightParts, type LightParts } from './light-response.js';
import { requestUrl } from './url.js';

/** A fetch-style handler: what Hono's `app.fetch`, Deno.serve and Bun.serve take. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** An object with a `fetch` method, such as a Hono app or `export default { fetch }`. */
export interface FetchHandlerObject {
  fetch(request: Request, ...rest: never[]): Response | Promise<Response>;
}

/** Options of fromFetchHandler. */
export interface FromFetchHandlerOptions {
  /** Where handler errors are logged (default: the console). */
  logger?: Logger;
  /**
   * Make the global `Response` a LightResponse (default true, as Hono's own
   * Node adapter does): a Response of text or bytes is then written without
   * the stream and Headers object the runtime's own would build. false keeps
   * the runtime's Response; such responses are then read through it.
   */
  overrideGlobalObjects?: boolean;
}

const EMPTY = new Uint8Array(0);
// Methods whose Request may not carry a body (fetch spec).
const NO_BODY_METHODS = new Set(['GET', 'HEAD']);
// Methods the fetch API forbids in a Request.
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
// Statuses whose Response never has a body.
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Wraps a fetch handler (or an object with a `fetch` method, e.g. a Hono app)
 * as an ASGI-TS app: each `http` scope becomes a Request whose body pulls
 * `receive()` on demand and whose signal aborts on `http.disconnect`; the
 * Response goes out through `send()` chunk by chunk, awaiting each send.
 * Lifespan is answered (startup/shutdown complete); WebSocket connections
 * are refused (closed before accept, which the server turns into a 403).
 */
export function fromFetchHandler(handler: FetchHandler | FetchHandlerObject, options: FromFetchHandlerOptions = {}): AsgiApplication {
  const fetch: FetchHandler =
    typeof handler === 'function'
      ? handler
      : typeof handler === 'object' && handler !== null && typeof handler.fetch === 'function'
        ? (request) => handler.fetch(request)
        : invalidHandler(handler);
  const logger = options.logger ?? consoleLogger();
  if (options.overrideGlobalObjects !== false) installLightResponse();

  return async function fetchHandlerApp(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'http') return serveHttp(fetch, scope, receive, send, logger);
    if (scope.type === 'lifespan') return answerLifespan(receive, send);
    // A fetch handler has no WebSocket API: refuse the handshake cleanly.
    return refuseWebSocket(receive, send);
  };
}

// The authority of almost every request: a host name or IPv4 address, and a port from 0 to 65535. Only others are parsed.
const PLAIN_AUTHORITY = /^https?:\/\/[A-Za-z0-9.-]+(?::(?:\d{1,4}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d\d|655[0-2]\d|6553[0-5]))?\//;

/** True when `url` is one undici's Request takes (the common case decided without parsing it). */
function usableUrl(url: string): boolean {
  return PLAIN_AUTHORITY.test(url) || URL.canParse(url);
}

function invalidHandler(handler: unknown): never {
  throw new TypeError(`fromFetchHandler() needs a function (request) => Response or an object with a fetch method; got ${typeof handler}`);
}

async function serveHttp(fetch: FetchHandler, scope: HttpScope, receive: Receive, send: Send, logger: Logger): Promise<void> {
  const progress = new ResponseProgress();
  const inbound = new InboundBody(receive, () => progress.done);
  const withBody = !NO_BODY_METHODS.has(scope.method) && hasRequestBody(scope.headers);
  // The fetch API refuses CONNECT, TRACE and TRACK outright: a method this server does not implement.
  if (FORBIDDEN_METHODS.has(scope.method.toUpperCase())) {
    await sendPlainAnswer(send, 501);
    return;
  }
  const url = requestUrl(scope);
  if (!usableUrl(url)) {
    // A request the fetch API cannot represent (e.g. an unparsable Host) is the client's fault.
    logger.warning(`fromFetchHandler: cannot build a Request for ${scope.method} ${scope.path}: invalid URL ${url}`);
    await sendPlainAnswer(send, 400);
    return;
  }
  const request = lightRequest({ scope, url, body: withBody ? () => inbound.stream() : null, signal: () => inbound.signal });
  if (!withBody) inbound.watch();

  let response: Response;
  try {
    response = await fetch(request);
    if (!(response instanceof Response)) {
      throw new TypeError(`the fetch handler must return a Response; got ${response === null ? 'null' : typeof response}`);
    }
  } catch (e) {
    if (inbound.aborted) return; // the client left: nobody to answer
    logger.error(`fromFetchHandler: the handler failed for ${scope.method} ${scope.path}`, e);
    await sendPlainAnswer(send, 500);
    return;
  }
  if (inbound.aborted) {
    // The client left while the handler worked: release the body, answer nobody.
    await response.body?.cancel(inbound.reason).catch(() => {});
    return;
  }

  // What goes out: the head, then the whole body when its bytes are known (a LightResponse nothing made real, a body
  // made from text or bytes, no body), else the body's stream.
  const light = lightParts(response);
  let status: number;
  let headers: Array<[ByteString, ByteString]>;
  let reason: string | null;
  let whole: Uint8Array | undefined;
  let stream: ReadableStream<Uint8Array> | null = null;
  if (light !== undefined) {
    status = light.status;
    headers = lightHeaders(light);
    reason = null;
    whole = light.body ?? EMPTY;
  } else {
    status = response.status;
    headers = responseHeaders(response.headers);
    // A Response's statusText reaches the wire where the server has a place for it ('' means the standard phrase).
    reason = response.statusText === '' ? null : response.statusText;
    stream = NULL_BODY_STATUSES.has(status) ? null : response.body;
    whole = stream === null ? EMPTY : knownBody(response);
  }
  progress.start(headers);
  try {
    await send(responseStart(scope, status, headers, reason));
    if (whole !== undefined) {
      // One final body: the server frames it with its length.
      progress.body(whole.byteLength);
      progress.finish();
      await send({ type: 'http.response.body', body: whole, more_body: false });
      return;
    }
    await pipeBody(stream!, send, progress);
  } catch (e) {
    if (isClientDisconnected(e)) {
      inbound.abort(e);
      return; // the server ends the request quietly; the body's reader was cancelled
    }
    throw e;
  }
}

/** A LightResponse's headers as ASGI headers, with the content-type a string body has by default. */
function lightHeaders(light: LightParts): Array<[ByteString, ByteString]> {
  const given = light.headers;
  let out: Array<[ByteString, ByteString]>;
  if (given === null || given === undefined) out = [];
  else if (given instanceof Headers) out = responseHeaders(given);
  // partsOf() let only [name, value] string pairs through.
  else if (Array.isArray(given)) out = (given as Array<[string, string]>).map(([name, value]) => [name.toLowerCase(), toByteString(value)]);
  else {
    out = [];
    const record = given as Record<string, string>;
    for (const name in record) out.push([name.toLowerCase(), toByteString(record[name]!)]);
  }
  if (light.defaultType !== null && !out.some((h) => h[0] === 'content-type')) out.push(['content-type', light.defaultType]);
  return out;
}

// The Response body goes out one chunk per send(), each awaited: that is the backpressure.
async function pipeBody(body: ReadableStream<Uint8Array>, send: Send, progress: ResponseProgress): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = asBytes(value);
      progress.body(chunk.byteLength);
      await send({ type: 'http.response.body', body: chunk, more_body: true });
    }
  } catch (e) {
    // Disconnect or a failing body stream: stop the producer, then report.
    await reader.cancel(e).catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
  progress.finish();
  await send({ type: 'http.response.body', body: EMPTY, more_body: false });
}

function asBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError(`a Response body stream must yield Uint8Array chunks; got ${typeof chunk}`);
}

/** The Response's headers as ASGI headers: lower-case names, every Set-Cookie on its own line. */
export function responseHeaders(headers: Headers): Array<[ByteString, ByteString]> {
  const out: Array<[ByteString, ByteString]> = [];
  for (const [name, value] of headers) {
    if (name === 'set-cookie') continue; // iteration joins them; taken one by one below
    out.push([name, toByteString(value)]);
  }
  for (const cookie of headers.getSetCookie()) out.push(['set-cookie', toByteString(cookie)]);
  return out;
}

// Header values with chars > 0xFF go out as their UTF-8 bytes, as browsers send them.
function toByteString(value: string): ByteString {
  return isByteString(value) ? value : utf8ToLatin1(value);
}
