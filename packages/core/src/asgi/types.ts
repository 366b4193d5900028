/**
 * ASGI-TS types: the scopes and events of the ASGI 3.0 spec (HTTP and
 * WebSocket at spec_version 2.5, lifespan at 2.0, and the official
 * extensions). Keys are exactly the spec's; byte strings
 * are latin-1 JS strings, bodies are Uint8Array.
 */
import type { ByteString } from '../bytes.js';

/** One header: lower-case name and value, both byte strings. */
export type Header = readonly [name: ByteString, value: ByteString];

/** Headers as an app sends them: any iterable of [name, value] pairs. */
export type HeadersIn = Iterable<Header>;

/** `scope.asgi`: the interface version and the sub-protocol's spec version. */
export interface AsgiInfo {
  version: '3.0';
  spec_version?: string;
}

/** `scope.extensions`: one key per extension the server supports, each a (usually empty) dict. */
export interface Extensions {
  'http.response.pathsend'?: Record<string, never>;
  'http.response.zerocopysend'?: Record<string, never>;
  'http.response.trailers'?: Record<string, never>;
  'http.response.early_hint'?: Record<string, never>;
  'http.response.push'?: Record<string, never>;
  'http.response.debug'?: Record<string, never>;
  'websocket.http.response'?: Record<string, never>;
  tls?: TlsExtension;
  [name: string]: unknown;
}

/** The `tls` extension: what the server knows of the TLS connection. */
export interface TlsExtension {
  server_cert: string | null;
  client_cert_chain: string[];
  client_cert_name: string | null;
  client_cert_error: string | null;
  tls_version: number | null;
  cipher_suite: number | null;
}

/** Fields shared by the http and websocket scopes. */
interface ConnectionScopeBase {
  asgi: AsgiInfo;
  http_version: '1.0' | '1.1' | '2' | '3';
  /** Percent-decoded UTF-8 path, root_path included. */
  path: string;
  /** The path exactly as sent, before percent-decoding (byte string). */
  raw_path: ByteString | null;
  /** The query string exactly as sent, without the `?` (byte string). */
  query_string: ByteString;
  /** The mount point of the app; `path` starts with it. */
  root_path: string;
  /** Lower-case names, values byte-exact, order and duplicates as received. */
  headers: Array<[ByteString, ByteString]>;
  client: [host: string, port: number] | null;
  server: [host: string, port: number | null] | null;
  /** A shallow copy of the state the app filled during lifespan startup. */
  state?: Record<string, unknown>;
  extensions?: Extensions;
}

/** The scope of one HTTP request. */
export interface HttpScope extends ConnectionScopeBase {
  type: 'http';
  /** Upper-case, as sent. */
  method: string;
  scheme: 'http' | 'https' | (string & {});
}

/** The scope of one WebSocket connection. */
export interface WebSocketScope extends ConnectionScopeBase {
  type: 'websocket';
  scheme: 'ws' | 'wss' | (string & {});
  subprotocols: string[];
}

/** The scope of the app's lifetime (startup and shutdown). */
export interface LifespanScope {
  type: 'lifespan';
  asgi: AsgiInfo;
  state?: Record<string, unknown>;
}

export type Scope = HttpScope | WebSocketScope | LifespanScope;

// ---- HTTP events ---------------------------------------------------------

export interface HttpRequestEvent {
  type: 'http.request';
  body: Uint8Array;
  more_body: boolean;
}
export interface HttpDisconnectEvent {
  type: 'http.disconnect';
}
export type HttpReceiveEvent = HttpRequestEvent | HttpDisconnectEvent;

export interface HttpResponseStartEvent {
  type: 'http.response.start';
  status: number;
  headers?: HeadersIn;
  /** With the trailers extension: trailers will follow the body. */
  trailers?: boolean;
  /** With the (tsgi) http.response.reason_phrase extension: the status line's reason phrase. */
  reason_phrase?: string;
}
export interface HttpResponseBodyEvent {
  type: 'http.response.body';
  body?: Uint8Array;
  more_body?: boolean;
}
export interface HttpResponseTrailersEvent {
  type: 'http.response.trailers';
  headers?: HeadersIn;
  more_trailers?: boolean;
}
export interface HttpResponsePushEvent {
  type: 'http.response.push';
  path: string;
  headers: HeadersIn;
}
export interface HttpResponseZeroCopySendEvent {
  type: 'http.response.zerocopysend';
  /** An open file descriptor. */
  file: number;
  offset?: number;
  count?: number;
  more_body?: boolean;
}
export interface HttpResponsePathSendEvent {
  type: 'http.response.pathsend';
  /** Absolute path of the file to send as the whole body. */
  path: string;
}
export interface HttpResponseEarlyHintEvent {
  type: 'http.response.early_hint';
  /** Each a Link header value (byte string). */
  links: ByteString[];
}
export interface HttpResponseDebugEvent {
  type: 'http.response.debug';
  info: Record<string, unknown>;
}
export type HttpSendEvent =
  | HttpResponseStartEvent
  | HttpResponseBodyEvent
  | HttpResponseTrailersEvent
  | HttpResponsePushEvent
  | HttpResponseZeroCopySendEvent
  | HttpResponsePathSendEvent
  | HttpResponseEarlyHintEvent
  | HttpResponseDebugEvent;

// ---- WebSocket events ----------------------------------------------------

export interface WebSocketConnectEvent {
  type: 'websocket.connect';
}
/** Exactly one of bytes and text is non-null. */
export interface WebSocketReceiveEvent {
  type: 'websocket.receive';
  bytes?: Uint8Array | null;
  text?: string | null;
}
export interface WebSocketDisconnectEvent {
  type: 'websocket.disconnect';
  code: number;
  reason?: string | null;
}
export type WebSocketReceiveEventUnion = WebSocketConnectEvent | WebSocketReceiveEvent | WebSocketDisconnectEvent;

export interface WebSocketAcceptEvent {
  type: 'websocket.accept';
  subprotocol?: string | null;
  headers?: HeadersIn;
}
/** Exactly one of bytes and text is non-null. */
export interface WebSocketSendEvent {
  type: 'websocket.send';
  bytes?: Uint8Array | null;
  text?: string | null;
}
export interface WebSocketCloseEvent {
  type: 'websocket.close';
  code?: number;
  reason?: string | null;
}
export interface WebSocketHttpResponseStartEvent {
  type: 'websocket.http.response.start';
  status: number;
  headers?: HeadersIn;
}
export interface WebSocketHttpResponseBodyEvent {
  type: 'websocket.http.response.body';
  body?: Uint8Array;
  more_body?: boolean;
}
export type WebSocketSendEventUnion =
  | WebSocketAcceptEvent
  | WebSocketSendEvent
  | WebSocketCloseEvent
  | WebSocketHttpResponseStartEvent
  | WebSocketHttpResponseBodyEvent;

// ---- Lifespan events -----------------------------------------------------

export interface LifespanStartupEvent {
  type: 'lifespan.startup';
}
export interface LifespanShutdownEvent {
  type: 'lifespan.shutdown';
}
export type LifespanReceiveEvent = LifespanStartupEvent | LifespanShutdownEvent;

export interface LifespanStartupCompleteEvent {
  type: 'lifespan.startup.complete';
}
export interface LifespanStartupFailedEvent {
  type: 'lifespan.startup.failed';
  message?: string;
}
export interface LifespanShutdownCompleteEvent {
  type: 'lifespan.shutdown.complete';
}
export interface LifespanShutdownFailedEvent {
  type: 'lifespan.shutdown.failed';
  message?: string;
}
export type LifespanSendEvent =
  | LifespanStartupCompleteEvent
  | LifespanStartupFailedEvent
  | LifespanShutdownCompleteEvent
  | LifespanShutdownFailedEvent;

// ---- The application -----------------------------------------------------

export type ReceiveEvent = HttpReceiveEvent | WebSocketReceiveEventUnion | LifespanReceiveEvent;
export type SendEvent = HttpSendEvent | WebSocketSendEventUnion | LifespanSendEvent;

/** Awaits the next event from the server. */
export type Receive<E extends ReceiveEvent = ReceiveEvent> = () => Promise<E>;
/** Hands one event to the server; resolves when the server has taken it (backpressure). */
export type Send<E extends SendEvent = SendEvent> = (event: E) => Promise<void>;

/** An ASGI-TS application: one call per connection or lifespan. */
export type AsgiApplication = (scope: Scope, receive: Receive, send: Send) => Promise<void>;

/** The spec versions this implementation speaks. */
export const ASGI_VERSION = '3.0';
export const HTTP_SPEC_VERSION = '2.5';
export const WEBSOCKET_SPEC_VERSION = '2.5';
export const LIFESPAN_SPEC_VERSION = '2.0';
