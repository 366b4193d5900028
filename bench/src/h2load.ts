/** Runs h2load (Debian's nghttp2-client) over HTTP/2 and reads its report. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { onCpus } from './process.js';

const run = promisify(execFile);

/** What one h2load run measured. */
export interface H2loadResult {
  requests: number;
  rps: number;
  /** Mean time per request in milliseconds (h2load reports no percentiles). */
  meanMs: number;
  /** Requests that failed or errored. */
  errors: number;
}

/** Milliseconds from one of h2load's durations (`812us`, `1.20ms`, `2.01s`). */
function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const value = Number(m[1]);
  return m[2] === 'us' ? value / 1000 : m[2] === 'ms' ? value : value * 1000;
}

/** Parses h2load's text report; throws when it does not look like one. */
export function parseH2load(out: string): H2loadResult {
  const finished = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out);
  const counts = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const time = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out);
  if (!finished || !counts) throw new Error(`unreadable h2load output:\n${out}`);
  return { requests: Number(counts[2]), rps: Number(finished[1]), meanMs: time ? durationMs(time[1]!) : Number.NaN, errors: Number(counts[3]) + Number(counts[4]) };
}

/** Options of one h2load run. */
export interface H2loadOptions {
  /** An http:// URL is HTTP/2 with prior knowledge (h2c). */
  url: string;
  seconds: number;
  connections: number;
  /** Concurrent streams per connection. */
  streams: number;
  /** CPU list for taskset ('' = not pinned). */
  cpus: string;
}

/** Runs `h2load -cN -mM -D S url` on the given CPUs. */
export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  const [cmd, ...args] = onCpus(o.cpus, ['h2load', `-c${o.connections}`, `-m${o.streams}`, `-D${o.seconds}`, o.url]);
  const { stdout } = await run(cmd!, args, { encoding: 'utf8', timeout: (o.seconds + 30) * 1000 });
  return parseH2load(stdout);
}
