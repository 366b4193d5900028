/**
 * Sync views: the notes API on SQLite. This module is imported by each
 * worker thread of app.mountSync('/api/notes', …), so the blocking database
 * calls never stall other requests. Two views reach async code, as Flask's
 * do: /quote calls fetch through asyncToSync, and /stats is an async view
 * (the event loop's thread imports this module to find it).
 */
import { threadId } from 'node:worker_threads';
import { asyncToSync } from '@tsgi/bridge';
import { HttpError, json, syncViews } from '../framework/index.js';
import { db, type Note } from './database.js';
import { noteStats } from './stats.js';
import type * as Upstream from './upstream.js';

const MAX_NOTE = 500;

// Node has no blocking HTTP client: the fetch runs on the event loop while this thread waits (at most 5 s).
const fetchQuote = asyncToSync<typeof Upstream.fetchQuote>(new URL('./upstream.ts', import.meta.url), 'fetchQuote', { timeout: 5 });

export const views = syncViews({ module: import.meta.url, exportName: 'views' })
  // GET /api/notes: the latest notes, newest first.
  .get('/', (req) => {
    const limit = Math.min(100, Math.max(1, Number(req.query.get('limit') ?? '20') || 20));
    const notes = db().prepare('select id, text, created_at from notes order by id desc limit ?').all(limit) as Note[];
    // threadId shows on the page which worker thread answered (0 would be the event loop's).
    return { notes, thread: threadId };
  })
  // POST /api/notes {"text": "..."}: stores a note and answers it with 201.
  .post('/', (req) => {
    const body = req.json<{ text?: unknown }>();
    const text = typeof body?.text === 'string' ? body.text.trim() : '';
    if (text === '' || text.length > MAX_NOTE) throw new HttpError(422, `"text" must be a non-empty string of at most ${MAX_NOTE} characters`);
    const note = db().prepare('insert into notes (text) values (?) returning id, text, created_at').get(text) as Note;
    return json(note, { status: 201, headers: { location: `/api/notes/${note.id}` } });
  })
  // GET /api/notes/quote: a sync view calling an HTTP service.
  .get('/quote', () => {
    try {
      return { ...fetchQuote(), thread: threadId };
    } catch (error) {
      throw new HttpError(502, `the upstream failed: ${(error as Error).message}`);
    }
  })
  // GET /api/notes/stats: an async view in the sync table (Flask 2's `async def`), on the async data layer.
  .get('/stats', async () => ({ ...(await noteStats()), viewThread: threadId }))
  // GET /api/notes/:id
  .get('/:id', (req) => {
    const note = db().prepare('select id, text, created_at from notes where id = ?').get(Number(req.params['id'])) as Note | undefined;
    if (note === undefined) throw new HttpError(404, `no note ${req.params['id']}`);
    return note;
  });
