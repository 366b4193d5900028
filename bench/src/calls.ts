/**
 * The cost of one asyncToSync and one syncToAsync round trip (@tsgi/bridge,
 * on the pool's runner), next to a plain worker_threads postMessage round
 * trip measured in the same run: µs of CPU per round trip (the whole
 * process, both threads: what a call costs the machine), median and p99
 * over batches, and µs of wall time per round trip, median and p99.
 *
 *   npx tsc -b bench && node bench/dist/src/calls.js [batches]
 *
 * Each round trip carries the same small arguments ([1, 'x']) and answers
 * them back, so the three differ only in the way across.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { closeSyncToAsync, configureSyncToAsync, syncToAsync } from '@tsgi/bridge';
import type * as Target from '../apps/calls-target.js';
import { percentile } from './stats.js';

const BATCHES = Number(process.argv[2] ?? '500');
const PER_BATCH = 20;
const WARMUP = 2000;
const TARGET = new URL('../apps/calls-target.js', import.meta.url);

interface Series {
  cpuPerCall: number[];
  wall: number[];
}

/** Times `call` in batches on this thread: CPU per batch over the process, wall time per call. */
async function measure(call: () => Promise<unknown>): Promise<Series> {
  for (let i = 0; i < WARMUP; i++) await call();
  const series: Series = { cpuPerCall: [], wall: [] };
  for (let b = 0; b < BATCHES; b++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < PER_BATCH; i++) {
      const t = performance.now();
      await call();
      series.wall.push((performance.now() - t) * 1000);
    }
    const used = process.cpuUsage(cpu);
    series.cpuPerCall.push((used.user + used.system) / PER_BATCH);
  }
  return series;
}

/** A worker that echoes every message: the plain round trip everything else is compared with. */
async function postMessageSeries(): Promise<Series> {
  const worker = new Worker('import { parentPort } from "node:worker_threads"; parentPort.on("message", (m) => parentPort.postMessage(m));', { eval: true });
  let answer: ((value: unknown) => void) | null = null;
  worker.on('message', (m) => answer?.(m));
  const series = await measure(
    () =>
      new Promise((resolve) => {
        answer = resolve;
        worker.postMessage([1, 'x']);
      }),
  );
  await worker.terminate();
  return series;
}

function row(name: string, s: Series): string {
  const cpu = [...s.cpuPerCall].sort((a, b) => a - b);
  const wall = [...s.wall].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1);
  return `| ${name} | ${f(percentile(cpu, 50))} | ${f(percentile(cpu, 99))} | ${f(percentile(wall, 50))} | ${f(percentile(wall, 99))} |`;
}

async function main(): Promise<void> {
  // One worker thread: every syncToAsync call lands on the same warm thread, as postMessage's does.
  configureSyncToAsync({ threads: 1 });
  const echoSync = syncToAsync<typeof Target.echoSync>(TARGET, 'echoSync');
  const measureAsyncToSync = syncToAsync<typeof Target.measureAsyncToSync>(TARGET, 'measureAsyncToSync', { timeout: 0 });

  const postMessage = await postMessageSeries();
  const toAsync = await measure(() => echoSync(1, 'x'));
  // Measured on the worker thread: it blocks in asyncToSync while this thread's loop runs the async function.
  const toSync = await measureAsyncToSync(WARMUP, BATCHES, PER_BATCH);
  await closeSyncToAsync();

  console.log(`node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}; ${BATCHES} batches of ${PER_BATCH} round trips each`);
  console.log('| round trip | CPU µs median | CPU µs p99 | wall µs median | wall µs p99 |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(row('worker_threads postMessage (event loop to event loop)', postMessage));
  console.log(row('syncToAsync (event loop to a worker thread and back)', toAsync));
  console.log(row('asyncToSync (blocked worker thread to the event loop and back)', toSync));
}

await main();
