/**
 * wsgiToAsgi and mount() under the real async server, @tsgi/uws, over
 * sockets: a sync app and an async app side by side, SCRIPT_NAME under a
 * mount and a server root path, a client leaving mid-download (the app's
 * iterable closed), and WebSocket upgrades refused with 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { ServerHandle } from '@tsgi/core';
import type { Logger } from '@tsgi/pool';
import { serve } from '@tsgi/uws';
import { mount, wsgiToAsgi } from '../src/index.js';

const APP = { module: new URL('./fixtures/wsgi-app.ts', import.meta.url).href };

describe('a sync app and an async app side by side on @tsgi/uws', () => {
  const lines: string[] = [];
  const logger = {
    error: (m: string) => void lines.push(m),
    warning: () => {},
    warn: () => {},
    info: () => {},
    debug: () => {},
    access: () => {},
  } as Logger;
  let server: ServerHandle;
  beforeAll(async () => {
    const app = mount([
      ['/legacy', wsgiToAsgi(APP, { threads: 2, logger })],
      [
        '/async',
        async (scope, _receive, send) => {
          if (scope.type !== 'http') return;
          await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
          await send({ type: 'http.response.body', body: new TextEncoder().encode(`async ${scope.root_path}`) });
        },
      ],
    ]);
    // rootPath: the proxy in front strips /site; mount prefixes add to it.
    server = await serve(app, { host: '127.0.0.1', port: 0, rootPath: '/site', logLevel: 'warning', accessLog: false });
  });
  afterAll(() => server.close()); // lifespan shutdown ends the worker threads

  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    return { status: res.status, text: await res.text(), cookies: res.headers.getSetCookie() };
  };

  it('serves both, routing by prefix', async () => {
    expect(await get('/async/x')).toMatchObject({ status: 200, text: 'async /site/async' });
    expect(await get('/legacy/hello')).toMatchObject({ status: 200, text: 'Hello, WSGI', cookies: ['a=1', 'b=2'] });
    expect((await get('/other')).status).toBe(404);
  });

  it('gives the sync app SCRIPT_NAME = root path + mount prefix', async () => {
    const env = JSON.parse((await get('/legacy/environ?k=v')).text);
    expect(env).toMatchObject({ SCRIPT_NAME: '/site/legacy', PATH_INFO: '/environ', QUERY_STRING: 'k=v' });
  });

  it("closes the sync app's iterable when the client leaves mid-download", async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}/legacy/stream?chunks=1000000&size=65536&tag=uws-dc`, (res) => {
        let got = 0;
        res.on('data', (d: Buffer) => {
          got += d.byteLength;
          if (got > 1 << 20) {
            req.destroy(); // the client goes away after 1 MiB of a 64 GiB response
            resolve();
          }
        });
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      setTimeout(() => reject(new Error('no data')), 10_000).unref();
      req.end();
    });
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('close uws-dc')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const line = lines.find((l) => l.includes('close uws-dc'));
    expect(line).toBeDefined();
    // Backpressure held the app back: it produced little more than the client took.
    expect(Number(/after (\d+)/.exec(line!)![1])).toBeLessThan(200);
  });

  // A raw upgrade request; resolves with the HTTP status the server answered instead of upgrading.
  const upgradeStatus = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}${path}`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new Error(`the upgrade to ${path} was accepted`));
      });
      req.on('error', reject);
      req.end();
    });

  it('refuses a WebSocket upgrade to the sync app, and to an unmounted path, with 403', async () => {
    expect(await upgradeStatus('/legacy/ws')).toBe(403);
    expect(await upgradeStatus('/nowhere')).toBe(403);
  });
});
