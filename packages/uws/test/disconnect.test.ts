import { afterEach, describe, expect, it } from 'vitest';
import { isClientDisconnected, type AsgiApplication, type HttpReceiveEvent } from '@tsgi/core';
import { closeAll, RawClient, start } from './helpers.js';

afterEach(closeAll);

/** A promise with its resolve function, to let the test wait on app progress. */
function signal<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('client disconnects', () => {
  it('mid-upload: receive() gives http.disconnect, send() then rejects with ClientDisconnected, nothing logged', async () => {
    const events: string[] = [];
    const sendError = signal<unknown>();
    const app: AsgiApplication = async (_s, receive, send) => {
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        events.push(e.type === 'http.request' ? `request:${e.body.byteLength}:${e.more_body}` : e.type);
        if (e.type === 'http.disconnect') break;
      }
      try {
        await send({ type: 'http.response.start', status: 200 });
      } catch (e) {
        sendError.resolve(e);
        throw e; // escapes the app: must end quietly
      }
    };
    const { port, log } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    const err = await sendError.promise;
    expect(isClientDisconnected(err)).toBe(true);
    expect(events.at(-1)).toBe('http.disconnect');
    expect(events[0]).toMatch(/^request:\d+:true$/);
    await new Promise((r) => setImmediate(r));
    expect(log.errors()).toEqual([]);
  });

  it('mid-download: a pending send() rejects with ClientDisconnected and the server keeps serving', async () => {
    const failed = signal<unknown>();
    let sentChunks = 0;
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type === 'http' && scope.path === '/ok') {
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: Buffer.from('ok') });
        return;
      }
      await send({ type: 'http.response.start', status: 200 });
      const chunk = new Uint8Array(64 * 1024);
      try {
        for (;;) {
          await send({ type: 'http.response.body', body: chunk, more_body: true });
          sentChunks++;
        }
      } catch (e) {
        failed.resolve(e);
        throw e;
      }
    };
    const { port, log } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.socket.pause(); // a client that stops reading, then goes away
    c.write('GET /stream HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise((r) => setTimeout(r, 200));
    c.close();
    expect(isClientDisconnected(await failed.promise)).toBe(true);
    expect(sentChunks).toBeLessThan(2000); // bounded by backpressure, not 128 MiB of buffering
    const c2 = new RawClient(port);
    await c2.ready;
    c2.write('GET /ok HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await c2.response()).body.toString()).toBe('ok');
    c2.close();
    expect(log.errors()).toEqual([]);
  });

  it('after the response, receive() gives http.disconnect', async () => {
    const second = signal<string>();
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('done') });
      second.resolve(((await receive()) as HttpReceiveEvent).type);
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    await c.response();
    expect(await second.promise).toBe('http.disconnect');
    c.close();
  });
});

describe('disconnects in the middle of flow control', () => {
  it('a client that leaves during a pathsend ends it quietly (the file is closed, the server keeps serving)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-disc-'));
    const path = join(dir, 'big.bin');
    writeFileSync(path, Buffer.alloc(32 * 1024 * 1024, 1));
    const failed = signal<unknown>();
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type === 'http' && scope.path === '/ok') {
        await send({ type: 'http.response.start', status: 204 });
        await send({ type: 'http.response.body' });
        return;
      }
      await send({ type: 'http.response.start', status: 200 });
      try {
        await send({ type: 'http.response.pathsend', path });
      } catch (e) {
        failed.resolve(e);
        throw e;
      }
    };
    const { port, log } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.socket.pause();
    c.write('GET /file HTTP/1.1\r\nHost: h\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    c.close();
    expect(isClientDisconnected(await failed.promise)).toBe(true);
    const c2 = new RawClient(port);
    await c2.ready;
    c2.write('GET /ok HTTP/1.1\r\nHost: h\r\n\r\n');
    expect((await c2.response()).status).toBe(204);
    c2.close();
    expect(log.errors()).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a client that leaves while its upload is paused gives the app http.disconnect', async () => {
    const got = signal<string[]>();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app: AsgiApplication = async (_s, receive) => {
      const types: string[] = [];
      await gate; // not reading: the queue fills and the socket is paused
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        types.push(e.type);
        if (e.type === 'http.disconnect' || !e.more_body) break;
      }
      got.resolve(types);
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    const block = Buffer.alloc(1024 * 1024, 0x63);
    for (let i = 0; i < 8; i++) c.socket.write(block);
    await new Promise((r) => setTimeout(r, 200));
    c.close();
    await new Promise((r) => setTimeout(r, 50));
    release();
    const types = await got.promise;
    expect(types.at(-1)).toBe('http.disconnect');
  });
});
