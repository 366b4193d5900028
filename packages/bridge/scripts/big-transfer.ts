/**
 * 1 GiB upload and download through the bridge under @tsgi/uws, server RSS
 * sampled (the suite runs 256 MiB). From the repo root:
 *   npx tsc -b && npx -y pnpm@10 --filter @tsgi/bridge big-transfer [MiB] [wsgi|fetch]
 * (or: node --conditions=source --import tsx packages/bridge/scripts/big-transfer.ts [MiB] [wsgi|fetch])
 * THREADS=n sets the sync app's worker threads (default 2).
 */
import { bigTransfer } from '../test/big-transfer.js';

const mib = Number(process.argv[2] ?? '1024');
const vias = process.argv[3] === undefined ? (['wsgi', 'fetch'] as const) : ([process.argv[3]] as Array<'wsgi' | 'fetch'>);
for (const via of vias) {
  const report = await bigTransfer(via, mib * 1024 * 1024, { threads: Number(process.env.THREADS ?? 2) });
  console.log(JSON.stringify(report));
}
