import { describe, expect, it } from 'vitest';
import { measureTransfer } from '../scripts/transfer.js';

// The server runs in a child process from dist/ (built by `npx tsc -b`, as `pnpm test` does first),
// so its RSS is its own: main thread and worker threads together.
describe('bounded memory', () => {
  // One worker thread: the app is trivial, and each idle thread adds ~11 MiB that says nothing about buffering.
  it('streams a 256 MiB upload (read(65536) loop) and a 256 MiB download with the server under 150 MiB RSS', { timeout: 120_000 }, async () => {
    const r = await measureTransfer(256 * 1024 * 1024, 1);
    expect(r.maxRssMiB, `idle ${r.baselineRssMiB.toFixed(0)} MiB, peak ${r.maxRssMiB.toFixed(0)} MiB`).toBeLessThan(150);
  });
});
