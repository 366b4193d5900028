import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { canSharePort, serve } from '@tsgi/uws';
import { closeAll, rawRequest, recordingLogger } from './helpers.js';
import type { ServerHandle } from '@tsgi/core';

const fixture = fileURLToPath(new URL('./fixtures/worker-app.ts', import.meta.url));
const handles: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
  await closeAll();
});

const GET = (path = '/') => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;

/** Thread ids seen over `n` fresh connections. */
async function threadsSeen(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await rawRequest(port, GET())).body.toString());
  return seen;
}

describe('workers', () => {
  it('the binding can share a fixed port between Apps (SO_REUSEPORT), which workers need', async () => {
    expect(await canSharePort()).toBe(true);
  });

  it('serves from N worker threads on one port, and replaces a worker that dies', async () => {
    const log = recordingLogger();
    const handle = await serve({ module: fixture }, { workers: 2, port: 0, logger: log, logLevel: 'warning', lifespan: 'off', accessLog: false });
    handles.push(handle);
    const port = 'port' in handle.address ? handle.address.port : 0;
    const before = await threadsSeen(port, 200);
    expect(before.size).toBe(2);
    expect(before.has('0')).toBe(false); // never the main thread

    // Kill workers until one dies (a connection reaches the one it lands on).
    await rawRequest(port, GET('/die')).catch(() => undefined);
    await expect.poll(() => log.errors().some((r) => /died \(exit code 3\)/.test(r.message)), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(async () => {
        const seen = await threadsSeen(port, 50);
        return seen.size === 2 && [...seen].some((t) => !before.has(t));
      }, { timeout: 15_000, interval: 200 })
      .toBe(true);
  }, 40_000);

  it('refuses a function app or a unix socket with workers, and a module without the app export', async () => {
    await expect(serve(async () => {}, { workers: 2 })).rejects.toThrow(/module reference/);
    await expect(serve({ module: fixture }, { workers: 2, uds: '/tmp/x.sock' })).rejects.toThrow(/unix socket/);
    await expect(serve({ module: fixture, exportName: 'notAnApp' }, { port: 0, logger: recordingLogger() })).rejects.toThrow(
      /no function export "notAnApp" that is a ASGI-TS app/,
    );
  }, 30_000);
});
