/**
 * Where a server's time went: reads a V8 CPU profile (`node --cpu-prof`, or
 * `pnpm bench <scenario> --cpu-prof`) and prints self time by file and by
 * function, idle time excluded, so the cost of each layer (uWebSockets.js
 * native calls, @tsgi/uws, @tsgi/core, promises, GC) can be read off.
 *
 *   node bench/dist/src/profile-summary.js <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in microseconds per key. */
type Tally = Map<string, number>;

/** A short name for the file a frame belongs to: a package, a tsgi source file, or a V8 pseudo-frame. */
export function fileOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/(packages\/[^/]+|bench)\/(?:dist\/)?(.+)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return url.replace(/^file:\/\//, '');
}

/** Self time per file and per function of a profile, idle excluded. */
export function summarizeProfile(profile: CpuProfile): { totalUs: number; byFile: Tally; byFunction: Tally } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFile: Tally = new Map();
  const byFunction: Tally = new Map();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const us = profile.timeDeltas[i + 1] ?? 0; // a sample's delta is the time until the next one
    if (!node || node.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = fileOf(url, functionName);
    totalUs += us;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  return { totalUs, byFile, byFunction };
}

function print(title: string, tally: Tally, totalUs: number, top: number): void {
  console.log(`\n${title}`);
  for (const [key, us] of [...tally].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`  ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [file, topArg = '25'] = process.argv.slice(2);
  if (!file) throw new TypeError('usage: profile-summary.js <file.cpuprofile> [top]');
  const { totalUs, byFile, byFunction } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms busy (idle excluded)`);
  print('self time by file', byFile, totalUs, Number(topArg));
  print('self time by function', byFunction, totalUs, Number(topArg));
}
