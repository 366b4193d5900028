/**
 * In-process test clients for both interfaces (no network): AsgiTestClient
 * for ASGI-TS apps (HTTP, streaming, WebSocket, lifespan) and WsgiTestClient
 * for WSGI-TS apps, built on the same scope, environ and protocol state
 * machines as the servers. Only the public API is exported; the plumbing
 * (request-head building, hand-off channels) stays internal.
 */
export type { BodyChunk, RequestBody, TestHeadersInit, TestRequestInit, ConnectionOptions } from './request.js';
export { ResponseHeaders, BaseTestResponse, IncompleteResponseError, type TestResponse } from './response.js';
export { AsgiTestResponse, StreamingTestResponse, type ResponseExtras } from './asgi-http.js';
export { WebSocketSession, WebSocketDenied, WebSocketClosed, type WebSocketMessage } from './asgi-websocket.js';
export { LifespanSession, LifespanStartupFailed, LifespanShutdownFailed, LifespanAppReturned } from './asgi-lifespan.js';
export { AsgiTestClient, DEFAULT_TEST_EXTENSIONS, type AsgiTestClientOptions, type WebSocketConnectOptions } from './asgi-client.js';
export { WsgiTestClient, WsgiTestResponse, type WsgiTestClientOptions } from './wsgi-client.js';
