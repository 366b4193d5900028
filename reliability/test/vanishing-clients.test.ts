/**
 * Clients that vanish mid-headers, mid-upload and mid-download, 100 times
 * each, against `tsgi serve` in a child process: afterwards its open file
 * descriptors (/proc/<pid>/fd) are back to where they were after warm-up,
 * its resident memory has not grown past a bound, and it still serves.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ASGI_APP_PATH, WSGI_APP_PATH, simpleGet, startCliServer, type ServerKind, type ServerProcess } from '../src/index.js';
import { openFds, rssMiB } from '../src/proc-stats.js';
import { HTTP_VANISH_SCENARIOS } from '../src/vanish.js';

const ROUNDS = 100;
/**
 * RSS growth allowed from after warm-up to after the rounds, per server. A
 * leak shows as growth proportional to the 300 clients: kept whole, the 8 MiB
 * download would add 800 MiB. Measured here, uws grows 5-10 MiB and the pool
 * 15-33 MiB (five V8 heaps, the main thread and four workers, and the slow
 * growth under clients leaving mid-download that is an open finding in
 * docs/reliability.md; `src/rss-trend.ts` runs thousands of clients). So the
 * bounds catch a leak of about 50 KiB (uws) or 210 KiB (pool) per client
 * (a response kept whole, a buffer per request), not smaller ones.
 */
const RSS_BOUND_MiB: Record<ServerKind, number> = { uws: 16, pool: 64 };

const SCENARIOS = HTTP_VANISH_SCENARIOS;

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
    const rssBefore = rssMiB(pid);
    for (const [name, run] of Object.entries(SCENARIOS)) {
      for (let i = 0; i < ROUNDS; i += 10) await Promise.all(Array.from({ length: 10 }, () => run(proc.port)));
      expect(proc.child.exitCode, `the server died during ${name}`).toBeNull();
    }
    // Sockets the server is still closing take a moment (uWS's idle timeout for an unfinished head).
    await expect.poll(() => openFds(pid), { timeout: 20_000, interval: 250 }).toBeLessThanOrEqual(baseline + 2);
    const rssAfter = rssMiB(pid);
    console.log(
      `${kind}: ${3 * ROUNDS} vanished clients; descriptors ${baseline} before, ${openFds(pid)} after; ` +
        `RSS ${rssBefore.toFixed(1)} MiB before, ${rssAfter.toFixed(1)} MiB after (${rssAfter >= rssBefore ? '+' : ''}${(rssAfter - rssBefore).toFixed(1)})`,
    );
    expect(rssAfter - rssBefore, `RSS grew from ${rssBefore.toFixed(1)} to ${rssAfter.toFixed(1)} MiB`).toBeLessThan(RSS_BOUND_MiB[kind]);
    expect((await simpleGet(proc.port, '/ok')).status).toBe(200);
  }, 90_000);
});
