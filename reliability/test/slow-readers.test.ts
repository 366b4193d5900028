/**
 * Clients that read responses very slowly (here: not at all) against
 * `tsgi serve` in a child process: the server does not buffer their
 * responses whole (its RSS stays far below what they asked for) and
 * normal clients are still served. The pool server holds one worker thread
 * per slow reader (the app's write blocks, as in gunicorn), so it gets
 * fewer slow readers than threads; docs/reliability.md gives the figures.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SERVER_KINDS, appPathOf, simpleGet, startCliServer, type ServerKind, type ServerProcess } from '../src/index.js';

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

// The pool's readers ask for 32 MiB each: 4 whole responses (128 MiB) then stand well clear of the few
// MiB each worker thread adds when it first runs (up to +35 MiB seen on a loaded CI machine with 8 MiB each).
const SETUPS: Record<ServerKind, { readers: number; mib: number; threads: string[] }> = {
  uws: { readers: 50, mib: 8, threads: [] },
  node: { readers: 50, mib: 8, threads: [] },
  pool: { readers: 4, mib: 32, threads: ['--threads', '8'] },
};

describe.each(SERVER_KINDS)('slow readers against tsgi serve --server %s', (kind) => {
  let proc: ServerProcess;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    proc = await startCliServer(appPathOf(kind), ['--server', kind, ...SETUPS[kind].threads]);
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await proc?.dispose();
  });

  test('their 8 MiB responses are not buffered whole, and normal clients are served', async () => {
    const pid = proc.child.pid!;
    expect((await simpleGet(proc.port, '/ok')).status).toBe(200);
    const before = rssMiB(pid);
    const { readers, mib } = SETUPS[kind];
    await Promise.all(
      Array.from({ length: readers }, () => {
        const s = connect(proc.port, '127.0.0.1');
        sockets.push(s);
        s.on('error', () => {});
        // Read the first bytes, then stop reading: the kernel buffers fill and the server must hold back.
        return new Promise<void>((resolve) => {
          s.on('connect', () => s.write(`GET /download?mib=${mib} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
          s.once('data', () => {
            s.pause();
            resolve();
          });
        });
      }),
    );
    // Let the server push what it will.
    await new Promise((r) => setTimeout(r, 1000));
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      expect((await simpleGet(proc.port, `/ok?during-slow-readers=${i}`)).status).toBe(200);
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    const grown = rssMiB(pid) - before;
    console.log(`${kind}: ${readers} readers not reading ${mib} MiB each: server RSS +${grown.toFixed(0)} MiB; normal requests median ${latencies[10]!.toFixed(1)} ms`);
    // Buffering the responses whole would take readers × mib MiB.
    expect(grown).toBeLessThan((readers * mib) / 2);
    expect(latencies[10]!).toBeLessThan(500);
  }, 60_000);
});
