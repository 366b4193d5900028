/**
 * Clients that vanish mid-headers, mid-upload and mid-download, 100 times
 * each, against `tsgi serve` in a child process: afterwards its open file
 * descriptors (/proc/<pid>/fd) are back to where they were after warm-up,
 * and it still serves.
 */
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ASGI_APP_PATH, WSGI_APP_PATH, simpleGet, startCliServer, type ServerKind, type ServerProcess } from '../src/index.js';

const ROUNDS = 100;

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** Opens a connection, writes `bytes`, waits for `until` (connect, or the first response bytes), then resets it. */
function vanish(port: number, bytes: string, until: 'written' | 'data'): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('connect', () => {
      s.write(bytes, 'latin1', () => {
        if (until === 'written') setImmediate(() => s.resetAndDestroy());
      });
    });
    if (until === 'data') s.once('data', () => s.resetAndDestroy());
  });
}

const SCENARIOS = {
  'mid-headers': (port: number) => vanish(port, 'GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Half: ', 'written'),
  'mid-upload': (port: number) => vanish(port, `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n${'u'.repeat(100_000)}`, 'written'),
  'mid-download': (port: number) => vanish(port, 'GET /download HTTP/1.1\r\nHost: localhost\r\n\r\n', 'data'),
};

describe.each<ServerKind>(['uws', 'pool'])('clients vanishing from tsgi serve --server %s', (kind) => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await startCliServer(kind === 'uws' ? ASGI_APP_PATH : WSGI_APP_PATH, ['--server', kind, ...(kind === 'pool' ? ['--threads', '4'] : [])]);
    // Warm-up: one of each, so lazily opened descriptors (log files, worker pipes) are counted in the baseline.
    for (const run of Object.values(SCENARIOS)) await run(proc.port);
    await simpleGet(proc.port, '/ok');
  }, 60_000);
  afterAll(async () => {
    await proc?.dispose();
  });

  test(`${ROUNDS} of each: no descriptor leaked, still serving`, async () => {
    const pid = proc.child.pid!;
    await expect.poll(() => openFds(pid), { timeout: 15_000, interval: 200 }).toBeLessThan(80);
    const baseline = openFds(pid);
    for (const [name, run] of Object.entries(SCENARIOS)) {
      for (let i = 0; i < ROUNDS; i += 10) await Promise.all(Array.from({ length: 10 }, () => run(proc.port)));
      expect(proc.child.exitCode, `the server died during ${name}`).toBeNull();
    }
    // Sockets the server is still closing take a moment (uWS's idle timeout for an unfinished head).
    await expect.poll(() => openFds(pid), { timeout: 20_000, interval: 250 }).toBeLessThanOrEqual(baseline + 2);
    console.log(`${kind}: ${3 * ROUNDS} vanished clients; descriptors ${baseline} before, ${openFds(pid)} after`);
    expect((await simpleGet(proc.port, '/ok')).status).toBe(200);
  }, 90_000);
});
