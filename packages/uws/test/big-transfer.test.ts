import { describe, expect, it } from 'vitest';
import { runBigTransfer } from '../scripts/big-transfer.js';

describe('big transfers', () => {
  it('streams 256 MiB up and down with the server process under 150 MiB RSS', async () => {
    const r = await runBigTransfer(256 * 1024 * 1024);
    expect(r.maxRssMiB).toBeLessThan(150);
    // Bounded, not merely lucky: the peak stays within a few dozen MiB of the idle server.
    expect(r.maxRssMiB - r.idleRssMiB).toBeLessThan(64);
  }, 60_000);
});
