/**
 * @tsgi/core/server: the server layer, what every tsgi server shares so that
 * a transport package holds only the code that touches its sockets (docs/architecture.md):
 * options, the logger, the lifespan runner, connection tracking and graceful
 * shutdown, how an app's run ends, the request body queue, the request-head
 * rules, the access-log line, the module loader, proxy headers, and what the
 * servers on node:http share. For server authors; apps and frameworks need
 * only `@tsgi/core`.
 */
export * from './access-log.js';
export * from './admission.js';
export * from './app-run.js';
export * from './body-queue.js';
export * from './connections.js';
export * from './handle.js';
export * from './http1-framing.js';
export * from './id-table.js';
export * from './lifecycle.js';
export * from './lifespan.js';
export * from './load-app.js';
export * from './logger.js';
export * from './node-http.js';
export * from './options.js';
export * from './process-workers.js';
export * from './proxy-headers.js';
export * from './request-head.js';
export * from './tls.js';
export * from './unix-socket.js';
export * from './websocket-handshake.js';
export * from './websocket-inbox.js';
export * from './websocket-keepalive.js';
export * from './websocket-session.js';
export * from './worker-supervisor.js';
