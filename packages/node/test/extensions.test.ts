import { openSync, closeSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { RawClient, closeAll, rawRequest, start } from './helpers.js';

afterEach(closeAll);

describe('http.response.trailers', () => {
  const app: AsgiApplication = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['trailer', 'x-checksum']], trailers: true });
    await send({ type: 'http.response.body', body: Buffer.from('data') });
    await send({ type: 'http.response.trailers', headers: [['x-checksum', 'caf\u00e9']], more_trailers: true });
    await send({ type: 'http.response.trailers', headers: [['x-more', '2']] });
  };

  it('sends trailer fields after a chunked body when the request said TE: trailers', async () => {
    const s = await start(app);
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n\r\n');
    expect(r.framing).toBe('chunked');
    expect(r.header('trailer')).toBe('x-checksum');
    expect(r.body.toString()).toBe('data');
    expect(r.trailers).toEqual([['x-checksum', 'caf\u00e9'], ['x-more', '2']]);
  });

  it('drops them silently otherwise (no TE: trailers, or HTTP/1.0): the body gets a Content-Length and no trailer header', async () => {
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    expect([r.framing, r.header('trailer'), r.body.toString()]).toEqual(['length', undefined, 'data']);
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'); // the connection is still good
    expect((await c.response()).body.toString()).toBe('data');
    c.close();
    const old = await rawRequest(s.port, 'GET / HTTP/1.0\r\nTE: trailers\r\n\r\n');
    expect([old.framing === 'chunked', old.body.toString()]).toEqual([false, 'data']);
    expect(s.log.errors()).toEqual([]);
  });
});

describe('http.response.early_hint', () => {
  it('sends 103 Early Hints with the links before the final response, and drops hints once the head is out', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.early_hint', links: ['</style.css>; rel=preload; as=style'] });
      await send({ type: 'http.response.start', status: 200, headers: [] });
      // After start but before the first body: the final head is still held, so this one goes out too.
      await send({ type: 'http.response.early_hint', links: ['</a.js>; rel=preload; as=script', '</b.js>; rel=preload; as=script'] });
      await send({ type: 'http.response.body', body: Buffer.from('page'), more_body: true });
      await send({ type: 'http.response.early_hint', links: ['</late.css>; rel=preload'] }); // dropped
      await send({ type: 'http.response.body', body: new Uint8Array(0) });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const all = await c.final();
    expect(all.map((r) => r.status)).toEqual([103, 103, 200]);
    expect(all[0]!.header('link')).toBe('</style.css>; rel=preload; as=style');
    expect(all[1]!.header('link')).toBe('</a.js>; rel=preload; as=script, </b.js>; rel=preload; as=script');
    expect(all[2]!.body.toString()).toBe('page');
    expect(all[2]!.head).not.toMatch(/late/);
    c.close();
  });

  it('sends no 103 to an HTTP/1.0 client', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.early_hint', links: ['</s.css>; rel=preload'] });
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('x') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.0\r\n\r\n');
    expect((await c.final()).map((r) => r.status)).toEqual([200]);
    c.close();
  });
});

describe('files', () => {
  let dir: string;
  let big: string;
  let content: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-node-files-'));
    big = join(dir, 'big.bin');
    content = Buffer.alloc(700 * 1024 + 17);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31 + 7) & 0xff;
    writeFileSync(big, content);
    writeFileSync(join(dir, 'empty'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pathsend streams a file larger than one read, byte-exact, with its Content-Length; HEAD gets the length only', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
      await send({ type: 'http.response.pathsend', path: scope.path === '/empty' ? join(dir, 'empty') : big });
    };
    const s = await start(app);
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r.header('content-length')).toBe(String(content.length));
    expect(r.body.equals(content)).toBe(true);
    const head = await rawRequest(s.port, 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', { headRequest: true });
    expect(head.header('content-length')).toBe(String(content.length));
    const empty = await rawRequest(s.port, 'GET /empty HTTP/1.1\r\nHost: x\r\n\r\n');
    expect([empty.header('content-length'), empty.body.length]).toEqual(['0', 0]);
  });

  it('pathsend: a missing file is a 500 (the app sees the error); a Content-Length that disagrees is a protocol error', async () => {
    const seen: unknown[] = [];
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      const wrongLength = scope.path === '/wrong';
      await send({ type: 'http.response.start', status: 200, headers: wrongLength ? [['content-length', '5']] : [] });
      try {
        await send({ type: 'http.response.pathsend', path: wrongLength ? big : join(dir, 'missing') });
      } catch (e) {
        seen.push(e);
        throw e;
      }
    };
    const s = await start(app);
    expect((await rawRequest(s.port, 'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
    expect((seen[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect((await rawRequest(s.port, 'GET /wrong HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
    expect((seen[1] as Error).message).toMatch(/\[asgi\.http\.length\.2\]/);
  });

  it('pathsend: an app that catches the failure and returns still leaves the client with an answer (500)', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.pathsend', path: join(dir, 'missing') }).catch(() => {});
    };
    const s = await start(app);
    expect((await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
    expect(s.log.text()).toMatch(/returned without completing response/);
  });

  it('zerocopysend sends ranges of an open descriptor: chunked, with the app Content-Length, with a count, and nothing for HEAD', async () => {
    const fd = openSync(big, 'r');
    try {
      const app: AsgiApplication = async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        if (scope.path === '/fixed') {
          await send({ type: 'http.response.start', status: 200, headers: [['content-length', '300010']] });
          await send({ type: 'http.response.body', body: Buffer.from('0123456789'), more_body: true });
          await send({ type: 'http.response.zerocopysend', file: fd, offset: 100, count: 300_000 });
        } else if (scope.path === '/count') {
          await send({ type: 'http.response.start', status: 200, headers: [] });
          await send({ type: 'http.response.zerocopysend', file: fd, offset: 5, count: 1000 });
        } else {
          await send({ type: 'http.response.start', status: 200, headers: [] });
          await send({ type: 'http.response.zerocopysend', file: fd, offset: 0, count: 10, more_body: true });
          await send({ type: 'http.response.zerocopysend', file: fd, offset: content.length - 300_000 });
        }
      };
      const s = await start(app);
      const fixed = await rawRequest(s.port, 'GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(fixed.framing).toBe('length');
      expect(fixed.body.equals(Buffer.concat([Buffer.from('0123456789'), content.subarray(100, 300_100)]))).toBe(true);
      const counted = await rawRequest(s.port, 'GET /count HTTP/1.1\r\nHost: x\r\n\r\n');
      expect([counted.framing, counted.header('content-length')]).toEqual(['length', '1000']);
      expect(counted.body.equals(content.subarray(5, 1005))).toBe(true);
      const chunked = await rawRequest(s.port, 'GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(chunked.framing).toBe('chunked');
      expect(chunked.body.equals(Buffer.concat([content.subarray(0, 10), content.subarray(content.length - 300_000)]))).toBe(true);
      const head = await rawRequest(s.port, 'HEAD /fixed HTTP/1.1\r\nHost: x\r\n\r\n', { headRequest: true });
      expect(head.header('content-length')).toBe('300010');
    } finally {
      closeSync(fd);
    }
  });
});
