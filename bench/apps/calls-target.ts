/**
 * The functions bench/src/calls.ts sends across threads: no work of their
 * own, so what is measured is the round trip. Built to bench/dist (plain
 * JavaScript), so no thread needs a TypeScript loader.
 */
import { asyncToSync } from '@tsgi/bridge';

/** The async function asyncToSync runs on the event loop: answers at once. */
export async function echoAsync(n: number, s: string): Promise<[number, string]> {
  return [n, s];
}

/** The sync function syncToAsync runs on a worker thread: answers at once. */
export function echoSync(n: number, s: string): [number, string] {
  return [n, s];
}

/** What one measured series is: µs of process CPU per round trip, one value per batch, and µs of wall time, one per round trip. */
export interface Series {
  cpuPerCall: number[];
  wall: number[];
}

const echoOnLoop = asyncToSync<typeof echoAsync>(new URL('./calls-target.js', import.meta.url), 'echoAsync');

/** Runs on a worker thread (through syncToAsync): `batches` batches of `perBatch` asyncToSync round trips to the event loop, after `warmup` unmeasured ones. */
export function measureAsyncToSync(warmup: number, batches: number, perBatch: number): Series {
  for (let i = 0; i < warmup; i++) echoOnLoop(i, 'x');
  const series: Series = { cpuPerCall: [], wall: [] };
  for (let b = 0; b < batches; b++) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < perBatch; i++) {
      const t = performance.now();
      echoOnLoop(i, 'x');
      series.wall.push((performance.now() - t) * 1000);
    }
    const used = process.cpuUsage(cpu);
    series.cpuPerCall.push((used.user + used.system) / perBatch);
  }
  return series;
}
