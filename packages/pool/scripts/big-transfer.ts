/**
 * A 1 GiB upload (read with wsgi.input.read(65536) in a loop) and a 1 GiB
 * streamed download through the pool server, with the server's RSS sampled:
 * the acceptance check of issue 4, too slow for the test suite (which runs
 * the same code with 256 MiB). Needs a build: `npx tsc -b`, then
 * `npx tsx packages/pool/scripts/big-transfer.ts [MiB] [threads]`. Each worker
 * thread adds about 11 MiB to the idle server; the app needs only one here.
 */
import { measureTransfer } from './transfer.js';

const mib = Number(process.argv[2] ?? 1024);
const threads = Number(process.argv[3] ?? 1);
const r = await measureTransfer(mib * 1024 * 1024, threads);
const rate = (ms: number) => ((r.bytes / 1024 / 1024 / ms) * 1000).toFixed(0);
console.log(`transfer of ${mib} MiB each way through @tsgi/pool (${threads} worker thread${threads === 1 ? '' : 's'})`);
console.log(`  upload:   ${(r.uploadMs / 1000).toFixed(1)} s (${rate(r.uploadMs)} MiB/s)`);
console.log(`  download: ${(r.downloadMs / 1000).toFixed(1)} s (${rate(r.downloadMs)} MiB/s)`);
console.log(`  server RSS: ${r.baselineRssMiB.toFixed(0)} MiB idle, ${r.maxRssMiB.toFixed(0)} MiB at most (limit 150 MiB)`);
process.exitCode = r.maxRssMiB < 150 ? 0 : 1;
