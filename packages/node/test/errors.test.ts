import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { RawClient, closeAll, rawRequest, start } from './helpers.js';

afterEach(closeAll);

describe('app errors', () => {
  it('500 with a fixed body when the app raises before any body (also after http.response.start), logged server-side only', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/started') await send({ type: 'http.response.start', status: 200, headers: [['x-a', 'b']] });
      throw new Error('secret detail');
    };
    const s = await start(app);
    for (const path of ['/', '/started']) {
      const r = await rawRequest(s.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(r.status).toBe(500);
      expect(r.body.toString()).toBe('Internal Server Error');
      expect(r.head).not.toMatch(/x-a/);
    }
    expect(s.log.errors().map((r) => r.message)).toEqual(['Exception in ASGI application', 'Exception in ASGI application']);
    expect((s.log.errors()[0]!.error as Error).message).toBe('secret detail');
  });

  it('500 when the app raises synchronously, or returns without responding', async () => {
    const s = await start(((scope: { path: string }) => {
      if (scope.path === '/sync') throw new Error('sync');
      return Promise.resolve();
    }) as unknown as AsgiApplication);
    expect((await rawRequest(s.port, 'GET /sync HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
    expect((await rawRequest(s.port, 'GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
    expect(s.log.text()).toMatch(/returned without starting response/);
  });

  it('cuts the connection when the app raises or returns mid-body (the client sees a truncated chunked body)', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('partial'), more_body: true });
      if (scope.path === '/raise') throw new Error('mid-body');
    };
    const s = await start(app);
    for (const path of ['/raise', '/return']) {
      const c = new RawClient(s.port);
      await c.ready;
      c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await expect(c.response()).rejects.toThrow(/closed in the middle/);
    }
    expect(s.log.text()).toMatch(/returned without completing response/);
  });

  it('rejects a malformed event with a ProtocolError naming the clause; a content-length the body breaks cuts the connection', async () => {
    const errors: unknown[] = [];
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      try {
        await send({ type: 'http.response.start', status: 99, headers: [] });
      } catch (e) {
        errors.push(e);
      }
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '3']] });
      await send({ type: 'http.response.body', body: Buffer.from('abcd') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    // Nothing went out before the overflowing event: the app's error becomes a 500.
    expect(r.status).toBe(500);
    expect((errors[0] as Error).message).toMatch(/\[asgi\.http\.start\.2\]/);
    expect((s.log.errors()[0]!.error as Error).message).toMatch(/\[asgi\.http\.length\.2\]/);
    c.close();
  });

  it('keeps serving after app errors', async () => {
    let n = 0;
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (++n % 2 === 1) throw new Error('odd');
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('even') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    for (let i = 0; i < 6; i++) {
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await c.response()).status).toBe(i % 2 === 0 ? 500 : 200);
    }
    c.close();
  });
});
