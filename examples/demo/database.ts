/**
 * The demo's SQLite database through better-sqlite3, a synchronous driver:
 * every call blocks until SQLite answers, which is why only sync views (on
 * worker threads) use it. Each thread opens its own connection; SQLite's WAL
 * mode lets them read while one writes.
 */
import { threadId } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { databasePath } from './data-dir.js';

/** One note, as stored. */
export interface Note {
  id: number;
  text: string;
  created_at: string;
}

let connection: Database.Database | null = null;

/** This thread's connection, opened (and the schema created) on first use. */
export function db(): Database.Database {
  connection ??= open();
  return connection;
}

/** Opens the database file and creates the schema if it is new. */
export function open(): Database.Database {
  const database = new Database(databasePath());
  database.pragma('journal_mode = WAL');
  // Another thread may hold the write lock for a moment: wait for it rather than fail.
  database.pragma('busy_timeout = 5000');
  database.exec(`create table if not exists notes (
    id integer primary key autoincrement,
    text text not null,
    created_at text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
  return database;
}

/** How many notes there are and when the last one was written. */
export interface NoteStats {
  count: number;
  latest: string | null;
  /** The worker thread that ran the query. */
  thread: number;
}

/** Counts the notes: a blocking query, which the async data layer (stats.ts) runs on a worker thread. */
export function noteStats(): NoteStats {
  const row = db().prepare('select count(*) as count, max(created_at) as latest from notes').get() as { count: number; latest: string | null };
  return { ...row, thread: threadId };
}
