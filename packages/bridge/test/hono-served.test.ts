/**
 * The Hono example over real sockets: on @tsgi/uws through fromFetchHandler,
 * and on @hono/node-server through toFetchHandler(fromFetchHandler(...)) (a
 * round trip through both directions of the fetch bridge).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve as serveNode } from '@hono/node-server';
import { consoleLogger } from '@tsgi/core/server';
import { serve as serveUws } from '@tsgi/uws';
import { fromFetchHandler, toFetchHandler } from '../src/index.js';
import { app as hono } from '../../../examples/hono/app.js';

interface Host {
  url: string;
  close(): Promise<void>;
}

const hosts: Record<string, () => Promise<Host>> = {
  '@tsgi/uws + fromFetchHandler': async () => {
    // The servers' logger (the server layer's) is the bridge's logger option.
    const handle = await serveUws(fromFetchHandler(hono, { logger: consoleLogger('warning') }), { host: '127.0.0.1', port: 0, logLevel: 'warning', accessLog: false });
    return { url: handle.url, close: () => handle.close() };
  },
  'node:http + toFetchHandler(fromFetchHandler)': async () => {
    const server = await new Promise<ReturnType<typeof serveNode>>((resolve) => {
      const s = serveNode({ fetch: toFetchHandler(fromFetchHandler(hono)), hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  },
};

// A streamed upload of `total` bytes in 1 MiB chunks (byte i of the upload is i mod 251).
function upload(total: number): ReadableStream<Uint8Array> {
  const pattern = new Uint8Array(1 << 20).map((_, i) => i % 251);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(pattern.byteLength, total - sent);
      c.enqueue(pattern.slice(0, n));
      sent += n;
    },
  });
}

// The sum of every 4096th byte upload(total) sends (what the example's /upload answers).
function checksum(total: number): number {
  let sum = 0;
  for (let pos = 0; pos < total; pos += 4096) sum = (sum + ((pos % (1 << 20)) % 251)) >>> 0;
  return sum;
}

for (const [name, start] of Object.entries(hosts)) {
  describe(`the Hono example on ${name}`, () => {
    let host: Host;
    beforeAll(async () => {
      host = await start();
    });
    afterAll(() => host.close());

    it('answers a plain GET', async () => {
      const res = await fetch(`${host.url}/`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Hello from Hono on tsgi\n');
    });

    it('delivers several Set-Cookie headers', async () => {
      const res = await fetch(`${host.url}/cookies`);
      expect(res.headers.getSetCookie()).toEqual(['session=abc123; Path=/; HttpOnly', 'theme=dark; Max-Age=3600; Path=/', 'lang=en; Path=/; SameSite=Lax']);
    });

    it('streams a response of many chunks intact and in order', async () => {
      const res = await fetch(`${host.url}/stream?chunks=2000&size=1024`);
      const body = new Uint8Array(await res.arrayBuffer());
      expect(body.byteLength).toBe(2000 * 1024);
      for (let i = 0; i < 2000; i += 97) expect(body[i * 1024 + 5]).toBe(i & 0xff);
    });

    it('takes a 64 MiB streamed upload', async () => {
      const total = 64 * 1024 * 1024;
      const res = await fetch(`${host.url}/upload`, { method: 'POST', body: upload(total), duplex: 'half' } as RequestInit);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ bytes: total, sum: checksum(total) });
    }, 60_000);
  });
}

describe('the Hono example on @tsgi/uws: WebSocket', () => {
  let host: Host;
  beforeAll(async () => {
    host = await hosts['@tsgi/uws + fromFetchHandler']!();
  });
  afterAll(() => host.close());

  it('refuses a WebSocket upgrade with 403 (a fetch handler has no WebSocket API)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${host.url}/`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new Error('the upgrade was accepted'));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
