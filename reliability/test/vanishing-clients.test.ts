/**
 * Clients that vanish mid-headers, mid-upload and mid-download, 100 times
 * each per pass, against `tsgi serve` in a child process: afterwards its open
 * file descriptors (/proc/<pid>/fd) are back to where they were after
 * warm-up, its resident memory comes back to within a bound of where it was
 * after a first pass, and it still serves.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SERVER_KINDS, appPathOf, simpleGet, startCliServer, type ServerKind, type ServerProcess } from '../src/index.js';
import { openFds, rssMiB } from '../src/proc-stats.js';
import { HTTP_VANISH_SCENARIOS } from '../src/vanish.js';

const ROUNDS = 100;
const MEASURED_PASSES = 2;
/**
 * RSS growth allowed over the measured passes (600 clients), per server,
 * counted from after a first pass: V8 sizes its heaps up over the first few
 * hundred requests (uws grows 5-16 MiB over its first 300 vanished clients,
 * then levels off) and collects the worker threads' garbage lazily (the pool
 * rises 10 MiB per 300 clients while busy and gives it back within 20 s
 * idle), so the test waits up to 30 s for memory to come back. A leak does not
 * come back: kept whole, the 8 MiB downloads would add 1,600 MiB, and the
 * bounds catch a leak of about 27 KiB (uws) or 110 KiB (pool) per client.
 */
const RSS_BOUND_MiB: Record<ServerKind, number> = { uws: 16, node: 16, pool: 64 };

const SCENARIOS = HTTP_VANISH_SCENARIOS;

describe.each(SERVER_KINDS)('clients vanishing from tsgi serve --server %s', (kind) => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await startCliServer(appPathOf(kind), ['--server', kind, ...(kind === 'pool' ? ['--threads', '4'] : [])]);
    // Warm-up: one of each, so lazily opened descriptors (log files, worker pipes) are counted in the baseline.
    for (const run of Object.values(SCENARIOS)) await run(proc.port);
    await simpleGet(proc.port, '/ok');
  }, 60_000);
  afterAll(async () => {
    await proc?.dispose();
  });

  /** One pass: 100 clients vanishing at each point, ten at a time, then their sockets closed on the server. */
  async function pass(pid: number, baselineFds: number): Promise<void> {
    for (const [name, run] of Object.entries(SCENARIOS)) {
      for (let i = 0; i < ROUNDS; i += 10) await Promise.all(Array.from({ length: 10 }, () => run(proc.port)));
      expect(proc.child.exitCode, `the server died during ${name}`).toBeNull();
    }
    // Sockets the server is still closing take a moment (uWS's idle timeout for an unfinished head).
    await expect.poll(() => openFds(pid), { timeout: 20_000, interval: 250 }).toBeLessThanOrEqual(baselineFds + 2);
  }

  test(`${ROUNDS} of each, ${MEASURED_PASSES + 1} times: no descriptor leaked, memory comes back, still serving`, async () => {
    const pid = proc.child.pid!;
    await expect.poll(() => openFds(pid), { timeout: 15_000, interval: 200 }).toBeLessThan(80);
    const baseline = openFds(pid);
    const rssStart = rssMiB(pid);
    await pass(pid, baseline);
    const rssBefore = rssMiB(pid);
    for (let p = 0; p < MEASURED_PASSES; p++) await pass(pid, baseline);
    const rssAfterLoad = rssMiB(pid);
    await expect
      .poll(() => rssMiB(pid) - rssBefore, { timeout: 30_000, interval: 500, message: `RSS ${rssBefore.toFixed(1)} MiB after the first pass, not back within ${RSS_BOUND_MiB[kind]} MiB of it after 30 s` })
      .toBeLessThan(RSS_BOUND_MiB[kind]);
    console.log(
      `${kind}: ${3 * ROUNDS * (MEASURED_PASSES + 1)} vanished clients; descriptors ${baseline} before, ${openFds(pid)} after; RSS ` +
        `${rssStart.toFixed(1)} MiB after warm-up, ${rssBefore.toFixed(1)} after the first pass, ${rssAfterLoad.toFixed(1)} after the last, ${rssMiB(pid).toFixed(1)} now`,
    );
    expect((await simpleGet(proc.port, '/ok')).status).toBe(200);
  }, 150_000);
});
