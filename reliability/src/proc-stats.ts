/**
 * What a server process holds, read from Linux's /proc: open file
 * descriptors (sockets included) and resident memory. The leak tests sample
 * them before and after rounds of misbehaving clients.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Number of open file descriptors of process `pid`. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Resident set size of process `pid` in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/**
 * Whether samples of a server's memory (MiB, one after each batch of
 * misbehaving clients) show a leak: null when not, else what is wrong,
 * naming the measure (`what`). A leak grows memory in every batch, so the
 * smallest growth must stay under `perBatch`; a one-time step of V8's heap
 * or the allocator shows in one batch only, so the total has the looser
 * `total`.
 */
export function memoryLeak(what: string, samples: readonly number[], bounds: { perBatch: number; total: number }): string | null {
  const growth = samples.slice(1).map((r, i) => r - samples[i]!);
  const mib = (n: number) => n.toFixed(1);
  if (Math.min(...growth) >= bounds.perBatch) return `${what} grew in every batch (${growth.map((g) => `+${mib(g)}`).join(', ')} MiB), each time by ${bounds.perBatch} MiB or more`;
  const total = samples[samples.length - 1]! - samples[0]!;
  if (total >= bounds.total) return `${what} grew from ${mib(samples[0]!)} to ${mib(samples[samples.length - 1]!)} MiB, by ${bounds.total} MiB or more`;
  return null;
}
