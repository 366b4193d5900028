/** @tsgi/uws: the event-loop server for ASGI-TS apps on uWebSockets.js. */
export { serve, startServer, importApp, HTTP_EXTENSIONS } from './server.js';
export { resolveOptions, type ServeOptions, type ResolvedOptions, type LifespanMode } from './options.js';
export { consoleLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
export { ConnectionTracker, type ServerContext, type TrackedConnection } from './context.js';
export { Lifespan, LifespanStartupFailed } from './lifespan.js';
export { loadBinding, isNativeBinding, canSharePort, type LoadedBinding } from './binding.js';
export { readRequestHead, remoteAddress } from './request-head.js';
