/**
 * The tsgi demo: each idea of async web serving in one app, built on the
 * example framework (examples/framework) and served by README's start command:
 *
 *   npx -y pnpm@10 start        # tsgi serve examples/demo/app.ts:app on http://127.0.0.1:8000
 *
 * - GET /api/slow?ms=N   an async view awaiting a slow operation: the event loop serves others meanwhile;
 * - GET /api/quote       an async view calling another HTTP service with fetch (an upstream started at startup);
 * - /api/notes           sync views on SQLite (better-sqlite3, blocking) on worker threads (notes.ts),
 *                        among them one calling the upstream with fetch (asyncToSync) and an async view;
 * - GET /api/stats       an async view on the async data layer (stats.ts: the SQLite query through syncToAsync);
 * - /ws/chat             a WebSocket chat;
 * - GET /                the page that uses all of it.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { configureSyncToAsync } from '@tsgi/bridge';
import { createApp, html, HttpError } from '../framework/index.js';
import { ChatRoom } from './chat.js';
import { open } from './database.js';
import { ensureDataDir } from './data-dir.js';
import { noteStats } from './stats.js';
import { startUpstream, UPSTREAM_URL_VAR, type Upstream } from './upstream.js';

// The threads of syncToAsync's queries (stats.ts): two are plenty here (`tsgi serve --threads N` overrides).
configureSyncToAsync({ threads: 2 });

const page = readFileSync(new URL('./page.html', import.meta.url), 'utf8');
const chat = new ChatRoom();
let upstream: Upstream | null = null;

export const app = createApp();

app.onStartup((state) => {
  // Fail startup (the server does not start) with a clear message when the database cannot be created.
  ensureDataDir();
  open().close();
  state['startedAt'] = new Date().toISOString();
});
app.onStartup(async (state) => {
  upstream = await startUpstream();
  state['upstreamUrl'] = upstream.url;
  // For fetchQuote, which the sync view /api/notes/quote runs through asyncToSync: it sees no request state.
  process.env[UPSTREAM_URL_VAR] = upstream.url;
});
app.onShutdown(async () => {
  await upstream?.close();
  upstream = null;
  delete process.env[UPSTREAM_URL_VAR];
});

// Every response says how long it took: middleware sees async, sync and error responses alike.
app.use(async (_req, next) => {
  const started = performance.now();
  const res = await next();
  res.headers.set('server-timing', `app;dur=${(performance.now() - started).toFixed(1)}`);
  return res;
});

app.get('/', () => html(page));

// Awaiting does not block: ten of these at once take ~N ms in total, not 10 x N.
app.get('/api/slow', async (req) => {
  const ms = Number(req.query.get('ms') ?? '1000');
  if (!Number.isInteger(ms) || ms < 0 || ms > 10_000) throw new HttpError(400, '"ms" must be an integer from 0 to 10000');
  const started = performance.now();
  await sleep(ms);
  return { waited: ms, took: Math.round(performance.now() - started) };
});

// Calls the upstream with fetch, as an async Flask view would with aiohttp or httpx.
app.get('/api/quote', async (req) => {
  const base = req.state['upstreamUrl'];
  if (typeof base !== 'string') throw new HttpError(503, 'the upstream service is not running');
  const started = performance.now();
  const res = await fetch(`${base}/quote`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new HttpError(502, `upstream answered ${res.status}`);
  const { quote } = (await res.json()) as { quote: string };
  return { quote, upstream: base, took: Math.round(performance.now() - started) };
});

// An async view on the async data layer: the blocking SQLite query runs on a worker thread (syncToAsync).
app.get('/api/stats', async () => noteStats());

// Blocking views (SQLite through better-sqlite3) on two worker threads: see notes.ts.
app.mountSync('/api/notes', { module: new URL('./notes.ts', import.meta.url).href, exportName: 'views' }, { threads: 2 });

app.ws('/ws/chat', async (ws) => {
  const name = (ws.query.get('name') ?? '').trim().slice(0, 32) || 'guest';
  await ws.accept();
  await chat.join(ws, name);
  try {
    for await (const message of ws) {
      if (typeof message === 'string' && message.trim() !== '') await chat.say(ws, message.slice(0, 500));
    }
  } finally {
    await chat.leave(ws);
  }
});
