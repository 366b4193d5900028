/** @tsgi/pool: the threaded pool server for WSGI-TS apps, and the sync-app runner it shares with @tsgi/bridge. */
export { serve } from './server/serve.js';
export type { PoolServeOptions } from './server/options.js';
export * from './runner/index.js';
export * from './log.js';
