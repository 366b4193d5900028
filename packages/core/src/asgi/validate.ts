/**
 * validateAsgi: middleware that checks both sides of every interaction
 * between an ASGI-TS server and app against spec/asgi*.md, as Python's
 * wsgiref.validate does for WSGI. The server side: the scope, every event
 * `receive()` returns and its order, how `send()` behaves once the client is
 * gone. The app side: every event it sends (through the same cycles the
 * servers use, with lower-case header names required), how it uses
 * receive/send, and how it returns. Each violation is an AsgiValidationError
 * naming the clause, the side at fault and the offending value.
 */
import { describe, isByteString, isToken } from '../bytes.js';
import { isClientDisconnected, isProtocolError, ProtocolError } from '../errors.js';
import { checkHttpSendEvent, checkReceiveEvent, checkWebSocketSendEvent, type HeaderCase } from './events.js';
import { HttpResponseCycle } from './http-cycle.js';
import { LifespanCycle } from './lifespan-cycle.js';
import type { AsgiApplication, Receive, ReceiveEvent, Scope, Send, SendEvent } from './types.js';
import { WebSocketCycle } from './websocket-cycle.js';

/** Which side of the interface broke a rule. */
export type ValidationSide = 'app' | 'server';

/** A ProtocolError raised by validateAsgi, telling whether the app or the server broke the rule (asgi.errors.validate.1). */
export class AsgiValidationError extends ProtocolError {
  override name = 'AsgiValidationError';
  readonly side: ValidationSide;
  constructor(side: ValidationSide, clause: string, message: string, value?: unknown, hasValue = arguments.length >= 4) {
    super(clause, `${side} broke: ${message}`, value, hasValue);
    this.side = side;
  }

  /** Re-labels a ProtocolError from a check or cycle with the side at fault. */
  static from(side: ValidationSide, e: ProtocolError): AsgiValidationError {
    if (e instanceof AsgiValidationError) return e;
    const prefix = `[${e.clause}] `;
    const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    return new AsgiValidationError(side, e.clause, message, e.value, false);
  }
}

/** Options of validateAsgi. */
export interface ValidateAsgiOptions {
  /** Upper-case header names from the app: 'require' lower-case (default, asgi.events.headers.2) or 'fold' them silently. */
  headerCase?: HeaderCase;
}

const HTTP_VERSIONS = new Set(['1.0', '1.1', '2', '3']);
// A WebSocket handshake needs HTTP/1.1 (RFC 6455) or an extended CONNECT (HTTP/2, HTTP/3).
const WEBSOCKET_HTTP_VERSIONS = new Set(['1.1', '2', '3']);

/** Clause ids of the scope keys, per scope type (websocket groups several keys under one clause). */
const SCOPE_CLAUSES = {
  http: {
    http_version: 'asgi.http.scope.3', scheme: 'asgi.http.scope.5',
    path: 'asgi.http.scope.6', raw_path: 'asgi.http.scope.7', query_string: 'asgi.http.scope.8', root_path: 'asgi.http.scope.9',
    headers: 'asgi.http.scope.10', client: 'asgi.http.scope.11', server: 'asgi.http.scope.12', state: 'asgi.http.scope.13',
  },
  websocket: {
    http_version: 'asgi.websocket.scope.3', scheme: 'asgi.websocket.scope.4',
    path: 'asgi.websocket.scope.5', raw_path: 'asgi.websocket.scope.5', query_string: 'asgi.websocket.scope.5', root_path: 'asgi.websocket.scope.5',
    headers: 'asgi.websocket.scope.6', client: 'asgi.websocket.scope.7', server: 'asgi.websocket.scope.7', state: 'asgi.websocket.scope.9',
  },
} as const;

function serverError(clause: string, message: string, value?: unknown): AsgiValidationError {
  return arguments.length >= 3 ? new AsgiValidationError('server', clause, message, value) : new AsgiValidationError('server', clause, message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isPort(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
}

/**
 * Checks a scope as a server hands it to an app (the keys, their types, byte
 * strings, `path` against `root_path`); throws an AsgiValidationError with
 * side 'server'. Exported for the conformance suite and tests.
 */
export function checkScope(scope: unknown): Scope {
  if (!isPlainObject(scope)) throw serverError('asgi.scope.type.1', 'the scope must be an object', scope);
  const type = scope.type;
  if (type !== 'http' && type !== 'websocket' && type !== 'lifespan') {
    throw serverError('asgi.scope.type.1', 'scope.type must be "http", "websocket" or "lifespan"', type);
  }
  const asgi = scope.asgi;
  if (!isPlainObject(asgi) || asgi.version !== '3.0') {
    throw serverError('asgi.scope.asgi.1', 'scope.asgi must be { version: "3.0", spec_version?: string }', asgi);
  }
  if (asgi.spec_version !== undefined && (typeof asgi.spec_version !== 'string' || !/^[0-9]+\.[0-9]+$/.test(asgi.spec_version))) {
    throw serverError('asgi.scope.asgi.1', 'scope.asgi.spec_version must be a version string such as "2.5"', asgi.spec_version);
  }
  if (scope.extensions !== undefined) {
    if (!isPlainObject(scope.extensions) || Object.values(scope.extensions).some((v) => !isPlainObject(v))) {
      throw serverError('asgi.scope.extensions.1', 'scope.extensions must map extension names to objects', scope.extensions);
    }
  }
  if (type === 'lifespan') {
    if (scope.state !== undefined && !isPlainObject(scope.state)) {
      throw serverError('asgi.lifespan.scope.2', 'scope.state must be an object', scope.state);
    }
    return scope as unknown as Scope;
  }
  const c = SCOPE_CLAUSES[type];
  if (!(type === 'http' ? HTTP_VERSIONS : WEBSOCKET_HTTP_VERSIONS).has(scope.http_version as string)) {
    throw serverError(c.http_version, `http_version must be ${type === 'http' ? '"1.0", ' : ''}"1.1", "2" or "3"`, scope.http_version);
  }
  if (type === 'http' && (typeof scope.method !== 'string' || !isToken(scope.method))) {
    throw serverError('asgi.http.scope.4', 'method must be an RFC 9110 token', scope.method);
  }
  if (scope.scheme !== undefined && (typeof scope.scheme !== 'string' || scope.scheme === '')) {
    throw serverError(c.scheme, 'scheme must be a non-empty string', scope.scheme);
  }
  if (typeof scope.path !== 'string') throw serverError(c.path, 'path must be a string', scope.path);
  if (scope.raw_path !== undefined && scope.raw_path !== null && !isByteString(scope.raw_path)) {
    throw serverError(c.raw_path, 'raw_path must be a byte string or null', scope.raw_path);
  }
  if (scope.query_string !== undefined && !isByteString(scope.query_string)) {
    throw serverError(c.query_string, 'query_string must be a byte string', scope.query_string);
  }
  const rootPath = scope.root_path ?? '';
  if (typeof rootPath !== 'string' || (rootPath !== '' && (!rootPath.startsWith('/') || rootPath.endsWith('/')))) {
    throw serverError(c.root_path, 'root_path must be "" or a path starting with "/" and not ending with "/"', rootPath);
  }
  if (rootPath !== '') {
    const p = scope.path;
    if (!p.startsWith(rootPath) || (p.length > rootPath.length && p.charCodeAt(rootPath.length) !== 0x2f)) {
      throw serverError('asgi.http.path.1', `path must include root_path ${JSON.stringify(rootPath)} (path = root_path + path inside the app)`, p);
    }
  }
  checkScopeHeaders(scope.headers, c.headers);
  if (scope.client !== undefined && scope.client !== null) {
    const cl = scope.client;
    if (!Array.isArray(cl) || cl.length !== 2 || typeof cl[0] !== 'string' || !isPort(cl[1])) {
      throw serverError(c.client, 'client must be [host: string, port: integer] or null', cl);
    }
  }
  if (scope.server !== undefined && scope.server !== null) {
    const sv = scope.server;
    if (!Array.isArray(sv) || sv.length !== 2 || typeof sv[0] !== 'string' || !(sv[1] === null || isPort(sv[1]))) {
      throw serverError(c.server, 'server must be [host: string, port: integer | null] or null', sv);
    }
  }
  if (scope.state !== undefined && !isPlainObject(scope.state)) {
    throw serverError(c.state, 'scope.state must be an object', scope.state);
  }
  if (type === 'websocket' && scope.subprotocols !== undefined) {
    const sp = scope.subprotocols;
    if (!Array.isArray(sp) || sp.some((x) => typeof x !== 'string')) {
      throw serverError('asgi.websocket.scope.8', 'subprotocols must be an array of strings', sp);
    }
  }
  return scope as unknown as Scope;
}

function checkScopeHeaders(headers: unknown, clause: string): void {
  if (!Array.isArray(headers)) throw serverError(clause, 'scope.headers must be an array of [name, value] arrays', headers);
  for (let i = 0; i < headers.length; i++) {
    const h: unknown = headers[i];
    if (!Array.isArray(h) || h.length !== 2 || !isByteString(h[0]) || !isByteString(h[1])) {
      throw serverError(clause, `scope.headers[${i}] must be a [name, value] array of byte strings`, h);
    }
    const name = h[0] as string;
    if (!isToken(name) || /[A-Z]/.test(name)) {
      throw serverError(clause, `scope.headers[${i}] name must be a lower-case token (no pseudo headers)`, name);
    }
  }
}

/** Per-connection bookkeeping of the validator. */
interface Session {
  readonly scope: Scope;
  /** The app call has settled: no more receive/send (asgi.app.call.7). */
  finished: boolean;
  /** The server said the client is gone: send() must reject with ClientDisconnected. */
  clientGone: boolean;
  /** The first app-side violation, rethrown at return if the app swallowed it. */
  violation: AsgiValidationError | null;
  /** Checks a delivered event's order (server side). */
  delivered(event: ReceiveEvent): void;
  /** Checks an app event against the state; returns the event to forward (normalized). */
  sending(event: unknown): SendEvent;
  /** Checks how the app returned normally (app side). */
  returned(): void;
  /** The server's send() rejected with ClientDisconnected. */
  serverSaidGone(): void;
}

/**
 * Wraps an ASGI-TS app so that every interaction with its server is checked
 * against the spec; a violation throws an AsgiValidationError naming the
 * clause id, the side at fault and the offending value.
 */
export function validateAsgi(app: AsgiApplication, options: ValidateAsgiOptions = {}): AsgiApplication {
  if (typeof app !== 'function') {
    throw new AsgiValidationError('app', 'asgi.app.call.1', 'an ASGI app must be a function (scope, receive, send)', app);
  }
  const headerCase = options.headerCase ?? 'require';
  // The lifespan state this wrapper saw, to check the copies in later scopes (asgi.lifespan.state.*).
  let lifespanState: Record<string, unknown> | undefined;
  return async function validatedAsgiApp(scopeIn: Scope, receive: Receive, send: Send): Promise<void> {
    const scope = checkScope(scopeIn);
    if (scope.type === 'lifespan') lifespanState = scope.state;
    else if (lifespanState !== undefined) checkStateCopy(lifespanState, scope.state);
    if (typeof receive !== 'function' || typeof send !== 'function') {
      throw serverError('asgi.app.call.1', 'the server must call the app with (scope, receive, send) functions', typeof receive !== 'function' ? receive : send);
    }
    const s = openSession(scope, headerCase);

    const appViolation = (e: unknown): unknown => {
      if (isProtocolError(e) && !(e instanceof AsgiValidationError)) e = AsgiValidationError.from('app', e);
      if (e instanceof AsgiValidationError && e.side === 'app' && s.violation === null) s.violation = e;
      return e;
    };

    const checkedReceive: Receive = async () => {
      if (s.finished) throw appViolation(new AsgiValidationError('app', 'asgi.app.call.7', 'receive() called after the app returned'));
      const pending: unknown = receive();
      if (!isThenable(pending)) throw serverError('asgi.app.call.2', 'receive() must return a Promise', pending);
      const event: unknown = await pending;
      try {
        checkReceiveEvent(scope.type, event);
      } catch (e) {
        throw isProtocolError(e) ? AsgiValidationError.from('server', e) : e;
      }
      s.delivered(event as ReceiveEvent);
      return event as ReceiveEvent;
    };

    const checkedSend: Send = async (event) => {
      if (s.finished) throw appViolation(new AsgiValidationError('app', 'asgi.app.call.7', 'send() called after the app returned', describeType(event)));
      let forward: SendEvent;
      const gone = s.clientGone;
      try {
        forward = s.sending(event);
      } catch (e) {
        throw appViolation(e);
      }
      const pending: unknown = send(forward);
      if (!isThenable(pending)) throw serverError('asgi.app.call.3', 'send() must return a Promise', pending);
      try {
        await pending;
      } catch (e) {
        if (isClientDisconnected(e)) s.serverSaidGone();
        throw e;
      }
      if (gone) {
        throw serverError(
          s.scope.type === 'websocket' ? 'asgi.websocket.disconnect.4' : 'asgi.http.disconnect.3',
          'send() must reject with ClientDisconnected once the server has reported the client gone',
          describeType(event),
        );
      }
    };

    let result: unknown;
    try {
      result = app(scope, checkedReceive, checkedSend);
      if (!isThenable(result)) {
        throw appViolation(new AsgiValidationError('app', 'asgi.app.call.1', 'an ASGI app must return a Promise (be an async function)', result));
      }
      await result;
    } catch (e) {
      s.finished = true;
      throw e;
    }
    s.finished = true;
    if (s.violation !== null) throw s.violation;
    try {
      s.returned();
    } catch (e) {
      throw appViolation(e);
    }
  };
}

/** A connection scope's state must be a fresh shallow copy of the lifespan state (asgi.lifespan.state.1/2). */
function checkStateCopy(original: Record<string, unknown>, copy: Record<string, unknown> | undefined): void {
  if (copy === undefined) {
    throw serverError('asgi.lifespan.state.1', 'the lifespan scope had a state, so every connection scope needs its copy; scope.state is missing');
  }
  if (copy === original) {
    throw serverError('asgi.lifespan.state.2', 'scope.state must be a shallow copy of the lifespan state, not the same object');
  }
  const keys = Object.keys(original);
  for (const key of keys) {
    if (!Object.is(copy[key], original[key])) {
      throw serverError('asgi.lifespan.state.2', `scope.state[${JSON.stringify(key)}] must be the lifespan state's value (shallow copy)`, copy[key]);
    }
  }
  if (Object.keys(copy).length !== keys.length) {
    throw serverError('asgi.lifespan.state.2', 'scope.state holds keys the lifespan state does not (not a shallow copy)', Object.keys(copy));
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

function describeType(event: unknown): string {
  const t = (event as { type?: unknown } | null)?.type;
  return typeof t === 'string' ? t : describe(event);
}

function openSession(scope: Scope, headerCase: HeaderCase): Session {
  switch (scope.type) {
    case 'http':
      return httpSession(scope, headerCase);
    case 'websocket':
      return webSocketSession(scope, headerCase);
    case 'lifespan':
      return lifespanSession(scope);
  }
}

function httpSession(scope: Scope & { type: 'http' }, headerCase: HeaderCase): Session {
  const cycle = new HttpResponseCycle({ method: scope.method, extensions: scope.extensions, headerCase });
  // Request side: 'body' until the last http.request, then 'done'; 'gone' after http.disconnect.
  let request: 'body' | 'done' | 'gone' = 'body';
  const s: Session = {
    scope,
    finished: false,
    clientGone: false,
    violation: null,
    delivered(event) {
      if (event.type === 'http.request') {
        if (request !== 'body') {
          throw serverError('asgi.http.request.3', `http.request delivered after ${request === 'done' ? 'the last body chunk' : 'http.disconnect'}`, event.type);
        }
        if (event.more_body !== true) request = 'done';
      } else if (event.type === 'http.disconnect') {
        request = 'gone';
        if (!cycle.finished) s.clientGone = true;
      }
    },
    sending(event) {
      // Shape first: a malformed event is an app bug even after the client left.
      const e = checkHttpSendEvent(event, { headerCase });
      if (!s.clientGone) cycle.send(e);
      return e as SendEvent;
    },
    returned() {
      if (!cycle.finished && !s.clientGone) {
        throw new AsgiValidationError('app', 'asgi.http.order.4', `the app returned before completing its response (state: ${cycle.state})`, cycle.state);
      }
    },
    serverSaidGone() {
      s.clientGone = true;
      cycle.disconnect();
    },
  };
  return s;
}

function webSocketSession(scope: Scope & { type: 'websocket' }, headerCase: HeaderCase): Session {
  const cycle = new WebSocketCycle({ subprotocols: scope.subprotocols ?? [], extensions: scope.extensions, headerCase });
  let connected = false;
  let disconnect: { code: number; reason: unknown } | null = null;
  const s: Session = {
    scope,
    finished: false,
    clientGone: false,
    violation: null,
    delivered(event) {
      if (disconnect !== null) {
        if (event.type !== 'websocket.disconnect') {
          throw serverError('asgi.websocket.disconnect.6', `${event.type} delivered after websocket.disconnect`, event.type);
        }
        return;
      }
      switch (event.type) {
        case 'websocket.connect':
          if (connected) throw serverError('asgi.websocket.connect.1', 'websocket.connect delivered twice', event.type);
          connected = true;
          return;
        case 'websocket.receive':
          if (!connected) throw serverError('asgi.websocket.connect.1', 'the first event must be websocket.connect', event.type);
          if (!cycle.accepted) throw serverError('asgi.websocket.connect.2', 'websocket.receive delivered before the app accepted the connection', event.type);
          return;
        case 'websocket.disconnect':
          disconnect = { code: event.code, reason: event.reason };
          if (cycle.state !== 'closed') s.clientGone = true;
          return;
      }
    },
    sending(event) {
      const e = checkWebSocketSendEvent(event, { headerCase });
      if (!s.clientGone) cycle.send(e);
      return e as SendEvent;
    },
    returned() {
      if (cycle.state === 'responding' && !s.clientGone) {
        throw new AsgiValidationError('app', 'asgi.ext.websocket_http_response.4', 'the app returned before finishing its denial response', cycle.state);
      }
    },
    serverSaidGone() {
      s.clientGone = true;
      cycle.disconnect(1006);
    },
  };
  return s;
}

function lifespanSession(scope: Scope): Session {
  const cycle = new LifespanCycle();
  const s: Session = {
    scope,
    finished: false,
    clientGone: false,
    violation: null,
    delivered(event) {
      try {
        cycle.delivered(event);
      } catch (e) {
        throw isProtocolError(e) ? AsgiValidationError.from('server', e) : e;
      }
    },
    sending(event) {
      return cycle.send(event);
    },
    returned() {
      if (cycle.phase === 'stopping') {
        throw new AsgiValidationError('app', 'asgi.lifespan.shutdown.2', 'the app returned without answering lifespan.shutdown', cycle.phase);
      }
    },
    serverSaidGone() {
      // Lifespan has no client.
    },
  };
  return s;
}
