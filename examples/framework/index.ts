/**
 * A small Flask-style framework on ASGI-TS and WSGI-TS, written as the
 * worked example of docs/writing-a-framework.md:
 * - createApp(): async views, WebSocket views, middleware, error handlers,
 *   lifespan hooks; the app is an ASGI-TS application (`tsgi serve app.ts:app`);
 * - syncViews(): blocking views, a WSGI-TS application run on worker threads
 *   through @tsgi/bridge (app.mountSync).
 */
export * from './app.js';
export * from './request.js';
export * from './response.js';
export * from './routing.js';
export * from './sync-views.js';
export * from './websocket.js';
