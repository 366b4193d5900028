/** @tsgi/pool: the threaded pool server for WSGI-TS apps, and the sync-app runner it shares with @tsgi/bridge. */
export { serve } from './server/serve.js';
export type { PoolServeOptions } from './server/options.js';
export * from './runner/index.js';
// The types of the `logger` and `logLevel` options; consoleLogger() and the rest are in @tsgi/core/server.
export type { Logger, LogLevel } from '@tsgi/core/server';
