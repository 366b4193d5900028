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
