import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AsgiTestClient } from '@tsgi/core';
import { afterAll, beforeAll, expect, it } from 'vitest';

let upstream: Server;

beforeAll(async () => {
  // A stand-in for the HTTP service the app calls, on a free loopback port.
  upstream = createServer((req, res) => res.setHeader('content-type', 'application/json').end('{"text":"hello"}'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  process.env.UPSTREAM_URL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

it('serves async views, calls the upstream and runs blocking code on threads', async () => {
  const { app } = await import('../docs/from-python/app.js');
  // Like `with TestClient(app) as client:` in Starlette: lifespan startup now, shutdown at scope exit.
  await using client = await AsgiTestClient.start(app);
  expect((await client.get('/quote')).json()).toEqual({ upstreamStatus: 200, quote: { text: 'hello' } });
  expect((await client.get('/sleep')).json()).toMatchObject({ slept: 0.1 });
  const report = await client.get('/report/monthly?rounds=1000');
  expect(report.json()).toMatchObject({ SCRIPT_NAME: '/report', PATH_INFO: '/monthly' });
});
