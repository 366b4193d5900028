import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpScope } from '@tsgi/core';
import { RawClient, closeAll, rawRequest, start } from './helpers.js';

afterEach(closeAll);

describe('header bytes', () => {
  it('keeps latin-1 header bytes byte-exact both ways, with order and duplicates', async () => {
    let seen: HttpScope | undefined;
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      seen = scope;
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [
          ['x-latin', 'caf\u00e9 \u00ff\u0080'],
          ['set-cookie', 'a=1'],
          ['x-mid', 'm'],
          ['set-cookie', 'b=2'],
        ],
      });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    };
    const s = await start(app);
    const r = await rawRequest(s.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nX-In: caf\xe9\xff\x80\t!\r\n\r\n', 'latin1'));
    expect(seen!.headers).toContainEqual(['x-in', 'caf\u00e9\u00ff\u0080\t!']);
    const head = r.headBytes;
    expect(head.includes(Buffer.from('x-latin: caf\xe9 \xff\x80\r\n', 'latin1'))).toBe(true);
    expect(r.head).toMatch(/set-cookie: a=1\r\nx-mid: m\r\nset-cookie: b=2\r\n/);
  });

  it("writes the app's reason_phrase byte for byte, and the standard (or empty) one otherwise", async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      const custom = scope.path === '/custom';
      await send({ type: 'http.response.start', status: custom ? 299 : scope.path === '/299' ? 299 : 404, headers: [], ...(custom ? { reason_phrase: 'Tr\u00e8s Bien' } : {}) });
      await send({ type: 'http.response.body', body: new Uint8Array(0) });
    };
    const s = await start(app);
    const custom = await rawRequest(s.port, 'GET /custom HTTP/1.1\r\nHost: x\r\n\r\n');
    const line = Buffer.from('HTTP/1.1 299 Tr\xe8s Bien\r\n', 'latin1');
    expect(custom.headBytes.subarray(0, line.length).equals(line)).toBe(true);
    expect((await rawRequest(s.port, 'GET /std HTTP/1.1\r\nHost: x\r\n\r\n')).head.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
    expect((await rawRequest(s.port, 'GET /299 HTTP/1.1\r\nHost: x\r\n\r\n')).head.split('\r\n')[0]).toBe('HTTP/1.1 299 ');
  });

  it("closes the connection after a response the app marked connection: close (the app's header is not duplicated)", async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['connection', 'close']] });
      await send({ type: 'http.response.body', body: Buffer.from('bye') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    expect(r.headers.filter(([n]) => n === 'connection')).toEqual([['connection', 'close']]);
    await c.waitClosed();
  });
});

describe('bodyless responses', () => {
  const app: AsgiApplication = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    const status = scope.path === '/204' ? 204 : scope.path === '/304' ? 304 : 200;
    const headers: Array<[string, string]> = status === 204 ? [['content-length', '0']] : [['content-length', '11']];
    await send({ type: 'http.response.start', status, headers });
    await send({ type: 'http.response.body', body: status === 200 ? Buffer.from('hello world') : new Uint8Array(0) });
  };

  it('HEAD: the headers (Content-Length included) without the body, and the connection serves the next request', async () => {
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const head = await c.response({ headRequest: true });
    expect(head.header('content-length')).toBe('11');
    const get = await c.response();
    expect(get.body.toString()).toBe('hello world');
    c.close();
  });

  it('204 goes out without Content-Length or body; 304 keeps the Content-Length', async () => {
    const s = await start(app);
    const r204 = await rawRequest(s.port, 'GET /204 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r204.status).toBe(204);
    expect(r204.header('content-length')).toBeUndefined();
    expect(r204.header('transfer-encoding')).toBeUndefined();
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r304 = await c.response();
    expect(r304.status).toBe(304);
    expect(r304.header('content-length')).toBe('11');
    expect((await c.response()).body.toString()).toBe('hello world');
    c.close();
  });
});
