import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { closeAll, RawClient, rawRequest, start } from './helpers.js';

afterEach(closeAll);
const dir = mkdtempSync(join(tmpdir(), 'tsgi-pathsend-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileApp(path: string, headers: Array<[string, string]> = []): AsgiApplication {
  return async (scope, _r, send) => {
    if (scope.type !== 'http') return;
    expect(scope.extensions?.['http.response.pathsend']).toEqual({});
    await send({ type: 'http.response.start', status: 200, headers });
    await send({ type: 'http.response.pathsend', path });
  };
}

describe('http.response.pathsend', () => {
  it('streams a file larger than one read chunk, byte-exact, with its Content-Length', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const path = join(dir, 'big.bin');
    writeFileSync(path, data);
    const { port } = await start(fileApp(path));
    const res = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(res.header('content-length')).toBe(String(data.length));
    expect(res.body.equals(data)).toBe(true);
  });

  it('answers HEAD with the length and no body, and sends an empty file', async () => {
    const path = join(dir, 'small.txt');
    writeFileSync(path, 'hello');
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const { port } = await start(async (scope, r, s) => fileApp(scope.type === 'http' && scope.path === '/empty' ? empty : path)(scope, r, s));
    const c = new RawClient(port);
    await c.ready;
    // One at a time: uWS v20.30 drops a connection that pipelines behind a response still waiting on I/O.
    c.write('HEAD / HTTP/1.1\r\nHost: h\r\n\r\n');
    const head = await c.response({ headRequest: true });
    expect(head.header('content-length')).toBe('5');
    c.write('GET /empty HTTP/1.1\r\nHost: h\r\n\r\n');
    const e = await c.response();
    expect(e.header('content-length')).toBe('0');
    c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await c.response()).body.toString()).toBe('hello');
    c.close();
  });

  it('gives 500 for a missing file (the app sees the error from send)', async () => {
    const { port, log } = await start(fileApp(join(dir, 'missing')));
    expect((await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')).status).toBe(500);
    expect((log.errors()[0]!.error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('refuses a Content-Length that disagrees with the file', async () => {
    const path = join(dir, 'five.txt');
    writeFileSync(path, '12345');
    const { port, log } = await start(fileApp(path, [['content-length', '9']]));
    expect((await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n')).status).toBe(500);
    expect((log.errors()[0]!.error as Error).message).toMatch(/asgi\.http\.length\.3/);
  });
});

describe('http.response.zerocopysend', () => {
  it('sends ranges of an open file descriptor, chunked or with the app Content-Length, and nothing for HEAD', async () => {
    const data = Buffer.alloc(600 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const path = join(dir, 'fd.bin');
    writeFileSync(path, data);
    const { openSync, closeSync } = await import('node:fs');
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type !== 'http') return;
      expect(scope.extensions?.['http.response.zerocopysend']).toEqual({});
      const fd = openSync(path, 'r');
      try {
        const withLength = scope.path === '/cl';
        await send({ type: 'http.response.start', status: 200, headers: withLength ? [['content-length', String(100 + 500 * 1024)]] : [] });
        await send({ type: 'http.response.zerocopysend', file: fd, offset: 10, count: 100, more_body: true });
        await send({ type: 'http.response.zerocopysend', file: fd, offset: 100 * 1024, count: 500 * 1024 });
      } finally {
        closeSync(fd);
      }
    };
    const { port } = await start(app);
    const expected = Buffer.concat([data.subarray(10, 110), data.subarray(100 * 1024, 600 * 1024)]);
    const chunked = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(chunked.header('transfer-encoding')).toBe('chunked');
    expect(chunked.body.equals(expected)).toBe(true);
    const withLength = await rawRequest(port, 'GET /cl HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(withLength.header('content-length')).toBe(String(expected.length));
    expect(withLength.body.equals(expected)).toBe(true);
    const head = await rawRequest(port, 'HEAD /cl HTTP/1.1\r\nHost: h\r\n\r\n', { headRequest: true });
    expect(head.status).toBe(200);
    expect(head.header('content-length')).toBe(String(expected.length));
  });
});
