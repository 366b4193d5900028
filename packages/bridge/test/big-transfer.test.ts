/**
 * 256 MiB each way through the bridge under @tsgi/uws, server in a child
 * process (run from dist/: `npx tsc -b` first, as the test command does),
 * RSS sampled: memory stays bounded whatever the size. What is checked is
 * the growth over the server's idle RSS: a body held whole would add 256 MiB,
 * while the idle footprint (the code the server loads) is not what this test
 * is about. The 1 GiB version is scripts/big-transfer.ts.
 */
import { describe, expect, it } from 'vitest';
import { bigTransfer } from './big-transfer.js';

const MiB = 1024 * 1024;

describe('big transfers through the bridge under @tsgi/uws', () => {
  it('a sync app via wsgiToAsgi: 256 MiB upload read with wsgi.input.read(65536), 256 MiB streamed download, RSS under idle + 96 MiB', async () => {
    const r = await bigTransfer('wsgi', 256 * MiB, { threads: 1 });
    expect(r.peakRssMiB - r.idleRssMiB, `idle ${r.idleRssMiB} MiB, peak ${r.peakRssMiB} MiB`).toBeLessThan(96);
  }, 60_000);

  it('the Hono app via fromFetchHandler: 256 MiB each way, RSS under idle + 96 MiB', async () => {
    const r = await bigTransfer('fetch', 256 * MiB);
    expect(r.peakRssMiB - r.idleRssMiB, `idle ${r.idleRssMiB} MiB, peak ${r.peakRssMiB} MiB`).toBeLessThan(96);
  }, 60_000);
});
