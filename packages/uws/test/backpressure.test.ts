import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpReceiveEvent } from '@tsgi/core';
import { closeAll, RawClient, start } from './helpers.js';

afterEach(closeAll);

const MiB = 1024 * 1024;

describe('backpressure', () => {
  it('response: send() stops resolving while the client does not read, and resumes when it does', async () => {
    const total = 64 * MiB;
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let sent = 0;
    for (const withLength of [false, true]) {
      sent = 0;
      const app: AsgiApplication = async (_s, _r, send) => {
        await send({ type: 'http.response.start', status: 200, headers: withLength ? [['content-length', String(total)]] : [] });
        while (sent < total) {
          await send({ type: 'http.response.body', body: chunk, more_body: sent + chunk.byteLength < total });
          sent += chunk.byteLength;
        }
      };
      const { port } = await start(app);
      const c = new RawClient(port);
      await c.ready;
      c.socket.pause();
      c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
      // Let the app run until it is blocked: sent stops growing.
      let last = -1;
      while (sent !== last) {
        last = sent;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(sent).toBeLessThan(16 * MiB); // socket buffers and one chunk, not the 64 MiB body
      c.socket.resume();
      const res = await c.response();
      expect(res.body.length).toBe(total);
      expect(sent).toBe(total);
      c.close();
      await closeAll();
    }
  }, 30_000);

  it('request: the socket is paused while the app does not call receive(), and nothing is lost', async () => {
    const total = 64 * MiB;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app: AsgiApplication = async (_s, receive, send) => {
      const first = (await receive()) as HttpReceiveEvent;
      let n = first.type === 'http.request' ? first.body.byteLength : 0;
      await gate; // stop reading for a while
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        if (e.type !== 'http.request') throw new Error('disconnected');
        n += e.body.byteLength;
        if (!e.more_body) break;
      }
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from(String(n)) });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${total}\r\n\r\n`);
    const block = Buffer.alloc(MiB, 0x62);
    let written = 0;
    // Write until the socket reports it is full and stays full.
    for (;;) {
      if (written >= total) break;
      const ok = c.socket.write(block);
      written += block.length;
      if (!ok) {
        const drained = await Promise.race([
          new Promise<boolean>((r) => c.socket.once('drain', () => r(true))),
          new Promise<boolean>((r) => setTimeout(r, 500, false)),
        ]);
        if (!drained) break;
      }
    }
    expect(written).toBeLessThan(32 * MiB); // the server stopped reading long before the end
    release();
    for (; written < total; written += block.length) {
      if (!c.socket.write(block)) await new Promise((r) => c.socket.once('drain', r));
    }
    const res = await c.response();
    expect(res.body.toString()).toBe(String(total));
    c.close();
  }, 30_000);
});

describe('sends without await', () => {
  it('keeps order and resolves every send() when the app does not wait between them', async () => {
    const chunk = (c: number) => new Uint8Array(1024 * 1024).fill(c);
    const settled: number[] = [];
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      const sends = [0x61, 0x62, 0x63, 0x64].map((c, i) =>
        send({ type: 'http.response.body', body: chunk(c), more_body: i < 3 }).then(() => settled.push(i)),
      );
      await Promise.all(sends);
    };
    const { port, log } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.socket.pause();
    c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    c.socket.resume();
    const res = await c.response();
    expect(res.body.length).toBe(4 * 1024 * 1024);
    expect([0, 1, 2, 3].map((i) => res.body[i * 1024 * 1024])).toEqual([0x61, 0x62, 0x63, 0x64]);
    await expect.poll(() => settled).toEqual([0, 1, 2, 3]);
    expect(log.errors()).toEqual([]);
    c.close();
  });
});
