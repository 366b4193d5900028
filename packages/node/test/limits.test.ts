import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { AsgiApplication, HttpReceiveEvent } from '@tsgi/core';
import { RawClient, closeAll, deferred, rawRequest, readBody, start } from './helpers.js';

afterEach(closeAll);

const echo: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const body = await readBody(receive as never);
  await send({ type: 'http.response.start', status: 200, headers: [] });
  await send({ type: 'http.response.body', body: Buffer.from(String(body.length)) });
};

describe('limitMaxBodySize', () => {
  it('413 to a Content-Length over the limit, without calling the app, and the connection closes', async () => {
    let calls = 0;
    const s = await start(async (scope, receive, send) => {
      calls++;
      await echo(scope, receive, send);
    }, { limitMaxBodySize: 100 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n');
    const r = await c.response();
    expect(r.status).toBe(413);
    expect(r.body.toString()).toBe('Content Too Large');
    await c.waitClosed();
    expect(calls).toBe(0);
    expect((await rawRequest(s.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(100))).body.toString()).toBe('100');
  });

  it('413 when a chunked body grows past the limit before the app answered; the app gets http.disconnect', async () => {
    const seen = deferred<string>();
    const app: AsgiApplication = async (scope, receive) => {
      if (scope.type !== 'http') return;
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        if (e.type === 'http.disconnect') return seen.resolve(e.type);
      }
    };
    const s = await start(app, { limitMaxBodySize: 1000 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    c.write(`200\r\n${'y'.repeat(512)}\r\n`);
    c.write(`200\r\n${'y'.repeat(512)}\r\n`);
    const r = await c.response();
    expect(r.status).toBe(413);
    expect(await seen.promise).toBe('http.disconnect');
    await c.waitClosed();
  });

  it('cuts the connection when the body grows past the limit after the response started', async () => {
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('streaming'), more_body: true });
      await readBody(receive as never);
    };
    const s = await start(app, { limitMaxBodySize: 1000 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    while (!c.pending.includes('streaming')) await c.next();
    c.write(`800\r\n${'y'.repeat(2048)}\r\n`);
    await expect(c.response()).rejects.toThrow(/closed in the middle/);
  });
});

describe('limitConcurrency', () => {
  it('503 past the limit (the connection stays), and serves again once requests finish', async () => {
    const release = deferred();
    let running = 0;
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      running++;
      if (scope.path === '/hold') await release.promise;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    };
    const s = await start(app, { limitConcurrency: 2 });
    const held = [request(`${s.url}/hold`), request(`${s.url}/hold`)];
    while (running < 2) await new Promise((r) => setTimeout(r, 5));
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    expect(r.status).toBe(503);
    expect(r.body.toString()).toBe('Service Unavailable');
    release.resolve();
    for (const h of await Promise.all(held)) expect(await h.body.text()).toBe('ok');
    c.write('GET /now HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await c.response()).status).toBe(200);
    c.close();
    expect(s.log.text()).toMatch(/Exceeded concurrency limit/);
  });
});
