import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { AsgiApplication, HttpReceiveEvent } from '@tsgi/core';
import { RawClient, closeAll, deferred, delay, rawRequest, readBody, start } from './helpers.js';

afterEach(closeAll);

describe('request bodies', () => {
  it('delivers a Content-Length body byte-exact (all 256 byte values) and a single empty http.request for no body', async () => {
    const events: HttpReceiveEvent[][] = [];
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      const mine: HttpReceiveEvent[] = [];
      events.push(mine);
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        mine.push(e);
        if (e.type !== 'http.request' || !e.more_body) break;
      }
      const body = Buffer.concat(mine.map((e) => (e.type === 'http.request' ? e.body : new Uint8Array(0))));
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body });
    };
    const s = await start(app);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await request(`${s.url}/`, { method: 'POST', body: all });
    expect(Buffer.from(await res.body.arrayBuffer()).equals(all)).toBe(true);
    const empty = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(empty.body.length).toBe(0);
    expect(events[1]).toEqual([{ type: 'http.request', body: new Uint8Array(0), more_body: false }]);
  });

  it('stops reading an upload the app does not receive (the client stalls), and loses nothing once it reads', async () => {
    const gate = deferred();
    let total = 0;
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await gate.promise;
      total = (await readBody(receive as never)).length;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from(String(total)) });
    };
    const s = await start(app);
    const size = 64 * 1024 * 1024;
    const c = new RawClient(s.port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let written = 0;
    const pump = (async () => {
      while (written < size) {
        written += chunk.length;
        if (!c.socket.write(chunk)) await new Promise((r) => c.socket.once('drain', r));
      }
    })();
    // The server reads about its body queue's high-water mark, then the kernel buffers fill: the client stalls.
    let last = -1;
    while (written !== last) {
      last = written;
      await delay(150);
    }
    expect(written).toBeLessThan(24 * 1024 * 1024);
    gate.resolve();
    await pump;
    const r = await c.response();
    expect(r.body.toString()).toBe(String(size));
    c.close();
  });
});

describe('responses', () => {
  it('a final body of any size arrives byte-exact, whichever way it is written (text for small ones, bytes for larger)', async () => {
    const sizes = [1, 13, 32, 33, 255, 1024, 1025, 70_000];
    const bodyOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => 255 - (i % 256));
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: bodyOf(Number(scope.path.slice(1))) });
    };
    const s = await start(app);
    for (const n of sizes) {
      const res = await request(`${s.url}/${n}`);
      expect([n, Buffer.from(await res.body.arrayBuffer()).equals(bodyOf(n))]).toEqual([n, true]);
    }
  });

  it('computes Content-Length for a single body, chunks a streamed one, honors the app Content-Length across chunks', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/one') {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.body', body: Buffer.from('single') });
      } else if (scope.path === '/stream') {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.body', body: Buffer.from('ab'), more_body: true });
        await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: true });
        await send({ type: 'http.response.body', body: Buffer.from('cd') });
      } else {
        await send({ type: 'http.response.start', status: 200, headers: [['content-length', '4']] });
        await send({ type: 'http.response.body', body: Buffer.from('ab'), more_body: true });
        await send({ type: 'http.response.body', body: Buffer.from('cd') });
      }
    };
    const s = await start(app);
    const one = await rawRequest(s.port, 'GET /one HTTP/1.1\r\nHost: x\r\n\r\n');
    expect([one.framing, one.header('content-length'), one.body.toString()]).toEqual(['length', '6', 'single']);
    const stream = await rawRequest(s.port, 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    expect([stream.framing, stream.body.toString()]).toEqual(['chunked', 'abcd']);
    const fixed = await rawRequest(s.port, 'GET /fixed HTTP/1.1\r\nHost: x\r\n\r\n');
    expect([fixed.framing, fixed.headers.filter(([n]) => n === 'content-length').length, fixed.body.toString()]).toEqual(['length', 1, 'abcd']);
  });

  it('a client that does not read makes send() wait: server memory stays bounded, everything arrives once it reads', async () => {
    const total = 96;
    const size = 1024 * 1024;
    let sent = 0;
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      const chunk = new Uint8Array(size);
      for (let i = 0; i < total; i++) {
        chunk.fill(i & 0xff); // the app reuses its buffer once send() resolved
        await send({ type: 'http.response.body', body: chunk, more_body: true });
        sent++;
      }
      await send({ type: 'http.response.body', body: new Uint8Array(0) });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.socket.pause();
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    let last = -1;
    while (sent !== last) {
      last = sent;
      await delay(150);
    }
    // In flight: the kernel's socket buffers (a few MiB on loopback) and about one chunk.
    expect(sent).toBeLessThan(24);
    c.socket.resume();
    const r = await c.response();
    expect(r.body.length).toBe(total * size);
    for (let i = 0; i < total; i++) expect(r.body[i * size + 12345]).toBe(i & 0xff);
    c.close();
  });

  it('small chunks the app reuses after each send() arrive intact (the server copies what it keeps)', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      const chunk = new Uint8Array(1000);
      for (let i = 0; i < 200; i++) {
        chunk.fill(i);
        await send({ type: 'http.response.body', body: chunk, more_body: true });
      }
      chunk.fill(255);
      await send({ type: 'http.response.body', body: chunk });
      chunk.fill(0);
    };
    const s = await start(app);
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r.body.length).toBe(201 * 1000);
    for (let i = 0; i <= 200; i++) expect(r.body[i * 1000 + 999]).toBe(i === 200 ? 255 : i);
  });

  it('keeps order when the app does not await its sends', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      const all: Promise<void>[] = [send({ type: 'http.response.start', status: 200, headers: [] })];
      for (let i = 0; i < 50; i++) all.push(send({ type: 'http.response.body', body: Buffer.alloc(100_000, i), more_body: true }));
      all.push(send({ type: 'http.response.body', body: Buffer.from('end') }));
      await Promise.all(all);
    };
    const s = await start(app);
    const res = await request(`${s.url}/`);
    const body = Buffer.from(await res.body.arrayBuffer());
    expect(body.length).toBe(50 * 100_000 + 3);
    for (let i = 0; i < 50; i++) expect(body[i * 100_000 + 500]).toBe(i);
  });
});

describe('a body the app did not read', () => {
  it('never leaks into the next request on the connection', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from(`${scope.method} ${scope.path}`) });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n');
    expect((await c.response()).body.toString()).toBe('POST /a');
    // The unread body arrives after the response, glued to the next request: it is dropped, not parsed as a request.
    c.write('0123456789GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await c.response()).body.toString()).toBe('GET /b');
    c.close();
  });
});
