/**
 * In-process test clients for both interfaces (no network): AsgiTestClient
 * for ASGI-TS apps (HTTP, streaming, WebSocket, lifespan) and WsgiTestClient
 * for WSGI-TS apps, built on the same scope, environ and protocol state
 * machines as the servers, and wrapping apps in the validators by default.
 * Only the public API is exported; the plumbing (request-head building,
 * hand-off channels) stays internal.
 *
 * ```ts
 * await using client = await AsgiTestClient.start(app); // lifespan startup; shutdown on scope exit
 * const res = await client.post('/items', { json: { name: 'x' } });
 * expect(res.status).toBe(201);
 *
 * const stream = await client.stream('GET', '/events'); // head now, body as the app sends it
 * for await (const chunk of stream) if (done(chunk)) break; // leaving early = client disconnect
 *
 * await using ws = await client.websocket('/chat', { subprotocols: ['v1'] });
 * ws.sendText('hi');
 * expect(await ws.receiveText()).toBe('hi');
 *
 * const wsgi = new WsgiTestClient(wsgiApp);
 * const r = await wsgi.post('/upload', { body: chunksGenerator() }); // chunked, pulled as the app reads
 * expect(r.errors).toBe(''); // what the app wrote to wsgi.errors
 * ```
 */
export type { BodyChunk, RequestBody, TestHeadersInit, TestRequestInit, ConnectionOptions } from './request.js';
export { CookieJar } from './cookies.js';
export { ResponseHeaders, BaseTestResponse, IncompleteResponseError, type TestResponse } from './response.js';
export { AsgiTestResponse, StreamingTestResponse, type ResponseExtras } from './asgi-http.js';
export { WebSocketSession, WebSocketDenied, WebSocketClosed, type WebSocketMessage } from './asgi-websocket.js';
export { LifespanSession } from './asgi-lifespan.js';
export { AsgiTestClient, DEFAULT_HTTP_EXTENSIONS, DEFAULT_WEBSOCKET_EXTENSIONS, type AsgiTestClientOptions, type WebSocketConnectOptions } from './asgi-client.js';
export { WsgiTestClient, WsgiTestResponse, type WsgiTestClientOptions } from './wsgi-client.js';
