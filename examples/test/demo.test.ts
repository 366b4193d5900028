/**
 * The demo app in process (AsgiTestClient runs its lifespan: the upstream
 * starts, the database is created in a temporary data directory), with its
 * notes views on real worker threads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsgiTestClient } from '@tsgi/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'tsgi-demo-'));
// Read by data-dir.ts on this thread and on the worker threads (they share process.env).
process.env['TSGI_DEMO_DATA_DIR'] = join(dir, 'data');
const { app } = await import('../demo/app.js');
const { ensureDataDir } = await import('../demo/data-dir.js');

let client: AsgiTestClient;
beforeAll(async () => {
  client = await AsgiTestClient.start(app);
});
afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demo app', () => {
  it('serves the page linking every feature', async () => {
    const res = await client.get('/');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    for (const link of ['/api/slow', '/api/quote', '/api/notes', '/api/notes/quote', '/api/notes/stats', '/api/stats', '/ws/chat']) expect(res.text()).toContain(link);
    expect(res.headers.get('server-timing')).toMatch(/^app;dur=/);
  });

  it('awaits slow operations concurrently: five 600 ms waits take well under 5 x 600 ms', async () => {
    const started = performance.now();
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => client.get('/api/slow', { query: { ms: 600 } })));
    const took = performance.now() - started;
    for (const a of answers) expect(a.json()).toMatchObject({ waited: 600 });
    expect(took).toBeLessThan(2400); // one after the other: 3000 ms
    expect((await client.get('/api/slow', { query: { ms: 'x' } })).status).toBe(400);
  });

  it('fetches from the upstream it started on loopback', async () => {
    const body = (await client.get('/api/quote')).json<{ quote: string; upstream: string }>();
    expect(body.upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(body.quote.length).toBeGreaterThan(0);
  });

  it('reaches async code from sync views: fetch through asyncToSync, an async view on the async data layer (syncToAsync)', async () => {
    const quote = (await client.get('/api/notes/quote')).json<{ quote: string; upstream: string; thread: number }>();
    expect(quote.quote.length).toBeGreaterThan(0);
    expect(quote.upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(quote.thread).toBeGreaterThan(0); // the sync view's worker thread
    await client.post('/api/notes', { json: { text: 'to be counted' } });
    const stats = (await client.get('/api/notes/stats')).json<{ count: number; thread: number; viewThread: number }>();
    expect(stats.count).toBeGreaterThan(0);
    expect(stats.viewThread).toBe(0); // the async view ran on the event loop's thread...
    expect(stats.thread).toBeGreaterThan(0); // ...and its query on a worker thread
    expect((await client.get('/api/stats')).json()).toMatchObject({ count: stats.count });
  });

  it('stores and lists notes in SQLite from worker threads', async () => {
    const created = await client.post('/api/notes', { json: { text: 'from the test' } });
    expect(created.status).toBe(201);
    const note = created.json<{ id: number; text: string }>();
    expect(created.headers.get('location')).toBe(`/api/notes/${note.id}`);
    const list = (await client.get('/api/notes')).json<{ notes: Array<{ text: string }>; thread: number }>();
    expect(list.notes[0]!.text).toBe('from the test');
    expect(list.thread).toBeGreaterThan(0); // not the event loop's thread (0)
    expect((await client.get(`/api/notes/${note.id}`)).json()).toMatchObject({ text: 'from the test' });
    expect((await client.get('/api/notes/999999')).status).toBe(404);
    expect((await client.post('/api/notes', { json: { text: '' } })).status).toBe(422);
  });

  it('relays chat messages between WebSocket clients', async () => {
    await using alice = await client.websocket('/ws/chat?name=alice');
    expect(JSON.parse(await alice.receiveText())).toMatchObject({ type: 'joined', name: 'alice' });
    await using bob = await client.websocket('/ws/chat?name=bob');
    // Bob may first get the history of earlier tests' messages; skip to his own join.
    while (JSON.parse(await bob.receiveText()).name !== 'bob');
    expect(JSON.parse(await alice.receiveText())).toMatchObject({ type: 'joined', name: 'bob', online: 2 });
    alice.sendText('hi bob');
    expect(JSON.parse(await bob.receiveText())).toMatchObject({ type: 'message', from: 'alice', text: 'hi bob' });
    expect(JSON.parse(await alice.receiveText())).toMatchObject({ type: 'message', from: 'alice', text: 'hi bob' });
    await bob.close();
    expect(JSON.parse(await alice.receiveText())).toMatchObject({ type: 'left', name: 'bob', online: 1 });
  });

  it('says clearly when the data directory cannot be written', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const saved = process.env['TSGI_DEMO_DATA_DIR'];
    process.env['TSGI_DEMO_DATA_DIR'] = join(file, 'data');
    try {
      expect(() => ensureDataDir()).toThrow(/data directory .*a-file\/data is not writable \(ENOTDIR\).*TSGI_DEMO_DATA_DIR/);
    } finally {
      process.env['TSGI_DEMO_DATA_DIR'] = saved;
    }
  });
});
