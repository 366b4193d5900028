/** @tsgi/pool: the threaded pool server for WSGI-TS apps, and the sync-app runner it shares with @tsgi/bridge. */
export * from './runner/index.js';
export * from './log.js';
