/**
 * Heads uWebSockets.js v20.30 parses but RFC 9112 says to refuse: @tsgi/uws
 * checks them in JavaScript (request-head.ts) and answers before the app
 * runs, closing the connection. The full hostile corpus is in reliability/.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { MAX_HEAD_BYTES } from '@tsgi/core/server';
import { closeAll, RawClient, start } from './helpers.js';

afterEach(closeAll);

let calls = 0;
const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  calls++;
  await send({ type: 'http.response.start', status: 200, headers: [] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode('ok') });
};

async function exchange(port: number, head: string): Promise<{ status: number; closed: boolean }> {
  const c = new RawClient(port);
  await c.ready;
  c.write(head);
  const r = await c.response();
  await c.waitClosed();
  return { status: r.status, closed: c.isClosed };
}

describe('refused heads', () => {
  test.each([
    ['two Content-Length fields that disagree', 'Content-Length: 3\r\nContent-Length: 30\r\n', 400],
    ['a transfer coding other than chunked (501, as h11 and node:http answer it)', 'Transfer-Encoding: gzip, chunked\r\n', 501],
    ['two Transfer-Encoding fields', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', 400],
    ['two Host fields', 'Host: other\r\n', 400],
    ['a head over the limit', `X-Big: ${'b'.repeat(MAX_HEAD_BYTES)}\r\n`, 431],
  ])('%s: answered before the app, connection closed', async (_name, extra, status) => {
    const { port } = await start(app);
    calls = 0;
    const out = await exchange(port, `POST / HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n3\r\nabc\r\n0\r\n\r\n`);
    expect(out).toEqual({ status, closed: true });
    expect(calls).toBe(0);
  });

  test('a head just under the limit and a repeated identical Content-Length are served', async () => {
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write(`GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(MAX_HEAD_BYTES - 200)}\r\n\r\n`);
    expect((await c.response()).status).toBe(200);
    c.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc');
    expect((await c.response()).status).toBe(200);
    c.close();
  });
});
