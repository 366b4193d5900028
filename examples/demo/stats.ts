/**
 * The demo's async data layer: what code on the event loop awaits. An app
 * on PostgreSQL or MySQL would have its promise-based driver here (Node has
 * no blocking one); SQLite's driver blocks, so its queries run on worker
 * threads through syncToAsync, as Django wraps its ORM in sync_to_async,
 * and the loop never waits on them.
 */
import { syncToAsync } from '@tsgi/bridge';
import type * as Database from './database.js';

/** The notes' count and latest date, queried on a worker thread. */
export const noteStats = syncToAsync<typeof Database.noteStats>(new URL('./database.ts', import.meta.url), 'noteStats');
