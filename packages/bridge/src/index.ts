/**
 * @tsgi/bridge: apps of one convention served by hosts of another.
 * - fetch interop: an ASGI-TS app as a `(Request) => Response` handler
 *   (toFetchHandler), and a fetch handler or Hono app as an ASGI-TS app
 *   (fromFetchHandler);
 * - wsgiToAsgi: a WSGI-TS app under an ASGI server, on worker threads;
 * - mount: several apps under path prefixes in one server;
 * - asyncToSync / syncToAsync: asgiref's pair, one function at a time.
 */
export * from './fetch/from-fetch-handler.js';
export * from './lifespan.js';
export * from './mount.js';
export * from './wsgi-to-asgi.js';
export * from './calls.js';
export * from './fetch/to-fetch-handler.js';
// The type of the `logger` options; consoleLogger() and silentLogger are in @tsgi/core/server.
export type { Logger } from '@tsgi/core/server';
