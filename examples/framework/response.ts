/**
 * What a handler answers: a Response (status, headers, body), or a plain
 * value the framework turns into one (`toResponse`), or an HttpError thrown
 * anywhere below the handler. Shared by async handlers and sync views.
 */

/** A response body: bytes known up front, or chunks produced as the client takes them (async handlers only). */
export type Body = Uint8Array | AsyncIterable<Uint8Array>;

/** Headers as the WHATWG Headers constructor takes them: a record, [name, value] pairs, or a Headers. */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** What Response's constructor and the helpers accept besides the body. */
export interface ResponseInit {
  status?: number;
  headers?: HeadersInit;
}

const encoder = new TextEncoder();

/** An HTTP response. Headers are the WHATWG `Headers` every TypeScript developer knows; values must be byte strings (chars <= 0xFF). */
export class Response {
  status: number;
  readonly headers: Headers;
  body: Body;

  constructor(body: Body | string = new Uint8Array(0), init: ResponseInit = {}) {
    this.status = init.status ?? 200;
    if (!Number.isInteger(this.status) || this.status < 100 || this.status > 999) throw new TypeError(`Response status must be an integer 100-999; got ${String(init.status)}`);
    this.headers = new Headers(init.headers);
    this.body = typeof body === 'string' ? encoder.encode(body) : body;
  }
}

/** A text/plain UTF-8 response. */
export function text(body: string, init: ResponseInit = {}): Response {
  return withType(new Response(body, init), 'text/plain; charset=utf-8');
}

/** A text/html UTF-8 response. */
export function html(body: string, init: ResponseInit = {}): Response {
  return withType(new Response(body, init), 'text/html; charset=utf-8');
}

/** A JSON response (application/json, UTF-8). */
export function json(value: unknown, init: ResponseInit = {}): Response {
  return withType(new Response(JSON.stringify(value), init), 'application/json');
}

/** A redirect (302 unless told otherwise). */
export function redirect(location: string, status = 302): Response {
  return new Response(new Uint8Array(0), { status, headers: { location } });
}

function withType(res: Response, type: string): Response {
  if (!res.headers.has('content-type')) res.headers.set('content-type', type);
  return res;
}

/**
 * Thrown to answer with an HTTP error status (like Flask's `abort(404)`).
 * Its message is shown to the client, so it must be meant for the client;
 * any other exception is a bug, logged, and answered with a bare 500.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message = STATUS_TEXT[status] ?? 'Error',
    readonly headers: HeadersInit = {},
  ) {
    super(message);
  }
}

/** Standard reason phrases, used as default error messages. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** What a handler may return: a Response; a string (text/plain); null or undefined (204); any other value is sent as JSON. */
export type HandlerResult = Response | string | null | undefined | object | number | boolean;

/** Turns whatever a handler returned into a Response, Flask-style. */
export function toResponse(value: HandlerResult): Response {
  if (value instanceof Response) return value;
  if (value === null || value === undefined) return new Response(new Uint8Array(0), { status: 204 });
  if (typeof value === 'string') return text(value);
  return json(value);
}

/** The default answer to an HttpError: its status and message as text. */
export function errorResponse(error: HttpError): Response {
  return text(error.message + '\n', { status: error.status, headers: error.headers });
}

/** Response headers as ASGI/WSGI header pairs (Headers already refused values that are not byte strings). */
export function headerPairs(res: Response): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  // Headers iterates set-cookie values one by one and every other name once, combined.
  for (const [name, value] of res.headers) out.push([name, value]);
  return out;
}
