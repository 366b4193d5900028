/** Runs wrk (Debian's package) and reads its report. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { onCpus } from './process.js';

const run = promisify(execFile);

/** What one wrk run measured. */
export interface WrkResult {
  requests: number;
  rps: number;
  /** Latency percentiles in milliseconds (from `--latency`). */
  p50Ms: number;
  p99Ms: number;
  /** Socket errors plus non-2xx/3xx answers. */
  errors: number;
}

/** Milliseconds from one of wrk's durations (`812.00us`, `1.20ms`, `2.01s`, `1.00m`). */
export function wrkDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const value = Number(m[1]);
  return m[2] === 'us' ? value / 1000 : m[2] === 'ms' ? value : m[2] === 's' ? value * 1000 : value * 60_000;
}

/** Parses wrk's text report; throws when it does not look like one. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const requests = /(\d+) requests in/.exec(out);
  if (!rps || !requests) throw new Error(`unreadable wrk output:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors = (socket ? socket.slice(1, 5).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m ? wrkDurationMs(m[1]!) : Number.NaN;
  };
  return { requests: Number(requests[1]), rps: Number(rps[1]), p50Ms: pct('50'), p99Ms: pct('99'), errors };
}

/** Options of one wrk run. */
export interface WrkOptions {
  url: string;
  seconds: number;
  connections: number;
  /** CPU list for taskset ('' = not pinned). */
  cpus: string;
  /** Send `Connection: close`: one connection per request. */
  close?: boolean;
}

/** Runs `wrk -t1 -cN -dS --latency url` on the given CPUs. */
export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const close = o.close === true ? ['-H', 'Connection: close'] : [];
  const [cmd, ...args] = onCpus(o.cpus, ['wrk', '-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '5s', '--latency', ...close, o.url]);
  const { stdout } = await run(cmd!, args, { encoding: 'utf8', timeout: (o.seconds + 30) * 1000 });
  return parseWrk(stdout);
}
