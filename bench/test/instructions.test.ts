/**
 * `bench:instructions`: the callgrind total is read right, and a short run
 * on raw uWebSockets.js counts a plausible number of instructions per
 * request (a raw hello-world answer takes about 10,000 in user space).
 * Needs valgrind and wrk (scripts/system-deps.txt).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { needTools } from '../../scripts/system-tools.js';
import { callgrindTotal, compilerQuiet, firstQuietWindow, threadTotals, type CountedWindow } from '../src/instructions.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('bench:instructions', () => {
  it('reads the summary line of a callgrind dump, and refuses a file without one', () => {
    expect(callgrindTotal('version: 1\nevents: Ir\nsummary: 699461818\ntotals: 702336315\n')).toBe(699461818);
    expect(callgrindTotal('events: Ir\ntotals: 12\n')).toBe(12);
    expect(() => callgrindTotal('events: Ir\n')).toThrow(/no "summary:" or "totals:" line/);
  });

  it('tells the main thread of a dump from V8\'s threads, and refuses a dump without it', () => {
    const dump = [
      { name: 'callgrind.7.out.1-02', text: 'summary: 300\n' },
      { name: 'callgrind.7.out.1-01', text: 'summary: 1000\n' },
      { name: 'callgrind.7.out.1-11', text: 'summary: 5\n' },
    ];
    expect(threadTotals(dump)).toEqual({ main: 1000, all: 1305 });
    expect(() => threadTotals(dump.filter((f) => !f.name.endsWith('-01')))).toThrow(/no dump of the main thread/);
  });

  it('counts a window only once V8 has stopped compiling, judged by its threads\' share', () => {
    // A cold count of @tsgi/node after 30 s on a slow host: V8's threads did 2.8 times the main thread's work.
    expect(compilerQuiet({ main: 147_891, all: 555_073 })).toBe(false);
    // Done compiling: the GC helpers alone, a fraction of a percent.
    expect(compilerQuiet({ main: 61_000, all: 61_147 })).toBe(true);
    expect(compilerQuiet({ main: 1000, all: 1050 })).toBe(true);
    expect(compilerQuiet({ main: 1000, all: 1051 })).toBe(false);
  });

  it('skips the windows in which V8 still compiles, and says so when none was quiet before the limit', async () => {
    const compiling = { requests: 600, main: 88_000_000, all: 330_000_000 };
    const quiet = { requests: 4000, main: 244_000_000, all: 244_500_000 };
    const windows = (...list: CountedWindow[]) => {
      let i = 0;
      return async () => list[i++]!;
    };
    // Two compiling windows, then a quiet one: the quiet one is counted, after 30 + 2 x 8 s of load.
    expect(await firstQuietWindow(windows(compiling, compiling, quiet), 30, 8, 300)).toEqual({ window: quiet, loadS: 46, warm: true });
    // Never quiet: the window at the limit is counted and marked not warm.
    expect(await firstQuietWindow(windows(compiling, compiling, compiling, compiling), 30, 8, 46)).toEqual({ window: compiling, loadS: 46, warm: false });
  });

  const tools = needTools('bench/test/instructions.test.ts', 'valgrind', 'wrk');
  it.skipIf(tools.skip)(`counts the instructions per request of raw uWebSockets.js under callgrind${tools.note}`, () => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'bench'], { cwd: ROOT, stdio: 'inherit' });
    const out = execFileSync(process.execPath, ['bench/dist/src/instructions.js', '--smoke', 'raw-uws'], { cwd: ROOT, encoding: 'utf8', timeout: 170_000 });
    const m = /raw-uws\s+(\d+) instructions\/request on the main thread, (\d+) with V8's threads \((\d+) requests, after 2 s of load\)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![3])).toBeGreaterThan(100);
    expect(Number(m![2])).toBeGreaterThanOrEqual(Number(m![1]));
    expect(Number(m![1])).toBeGreaterThan(2_000);
    expect(Number(m![1])).toBeLessThan(100_000);
  }, 180_000);
});
