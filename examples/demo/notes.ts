/**
 * Sync views: the notes API on SQLite. This module is imported by each
 * worker thread of app.mountSync('/api/notes', …), never on the event loop,
 * so the blocking database calls never stall other requests.
 */
import { threadId } from 'node:worker_threads';
import { HttpError, json, syncViews } from '../framework/index.js';
import { db, type Note } from './database.js';

const MAX_NOTE = 500;

export const views = syncViews()
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
  // GET /api/notes/:id
  .get('/:id', (req) => {
    const note = db().prepare('select id, text, created_at from notes where id = ?').get(Number(req.params['id'])) as Note | undefined;
    if (note === undefined) throw new HttpError(404, `no note ${req.params['id']}`);
    return note;
  });
