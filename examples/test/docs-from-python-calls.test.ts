/**
 * The asyncToSync and syncToAsync samples of docs/from-python.md, served as
 * the page says: the sync view on @tsgi/pool calling an upstream, the async
 * view offloading a blocking hash.
 */
import { pbkdf2Sync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AsgiTestClient } from '@tsgi/core';
import { serve } from '@tsgi/pool';
import { closeSyncToAsync, configureSyncToAsync } from '@tsgi/bridge';
import { afterAll, beforeAll, expect, it } from 'vitest';

let upstream: Server;
beforeAll(async () => {
  upstream = createServer((_req, res) => res.setHeader('content-type', 'application/json').end('{"text":"hello"}'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  process.env.UPSTREAM_URL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  configureSyncToAsync({ threads: 2 });
});
afterAll(async () => {
  await closeSyncToAsync();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

it('a sync view on the pool fetches through asyncToSync', async () => {
  const server = await serve({ module: new URL('../docs/from-python/quote-view.ts', import.meta.url).href }, { threads: 2, port: 0, logLevel: 'warning', accessLog: false });
  try {
    const body = (await (await fetch(server.url)).json()) as { quote: unknown; workerThread: number };
    expect(body.quote).toEqual({ text: 'hello' });
    expect(body.workerThread).toBeGreaterThan(0);
  } finally {
    await server.close();
  }
});

it('an async view hashes through syncToAsync (that it runs on a worker thread is tested in packages/bridge/test/calls-servers.test.ts)', async () => {
  const { app } = await import('../docs/from-python/signup-view.js');
  await using client = new AsgiTestClient(app);
  const res = await client.get('/');
  expect(res.json()).toEqual({ key: pbkdf2Sync('correct horse', 'battery staple', 200_000, 32, 'sha256').toString('hex') });
});
