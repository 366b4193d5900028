/**
 * `pnpm bench:instructions [contender ...]`: user-space instructions per
 * request of the hello-world route, counted by valgrind's callgrind.
 *
 * Requests per second on this shared VM drift by a third from one minute to
 * the next; instruction counts do not (the same figure to within 1% run after
 * run), so this is how a change to the per-request path is judged, and how
 * the price of each layer is read: raw uWebSockets.js, the same plus the
 * reads any ASGI adapter must make (raw-uws-reads), and @tsgi/uws. Kernel
 * time (the socket calls, the same for every contender) is not counted.
 *
 * Each server runs under callgrind with collection on and one count per
 * thread; after a warm-up the counters are zeroed (callgrind_control -z), a
 * timed wrk run goes through, and the counters are dumped (-d) and divided by
 * the requests wrk made. The main thread's count is the request path; the
 * other threads are V8's (its optimizing compiler and GC helpers). Under
 * callgrind's slowdown the compiler can still be at work minutes into the
 * load, and while it is, the main thread runs code not yet compiled: a
 * window in which V8's threads did more than a twentieth of the main
 * thread's work is thrown away and another one counted, up to MAX_WARMUP_S,
 * and a count that never got a quiet window says so. Judge a change by the
 * main thread's count.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './process.js';
import { ensureSystemPackages, VALGRIND } from './system.js';
import { wrk } from './wrk.js';

const run = promisify(execFile);
const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../../results/', import.meta.url));

/** What one contender costs per request. */
export interface InstructionCount {
  id: string;
  requests: number;
  /** The main thread's instructions per request: the request path. */
  instructionsPerRequest: number;
  /** Every thread's, V8's compiler and GC helpers included. */
  allThreadsPerRequest: number;
  /** Seconds of load before the window counted. */
  warmupSeconds: number;
  /** V8's compiler was done in the window counted (compilerQuiet); false: it never was before MAX_WARMUP_S. */
  warm: boolean;
}

/** Seconds of load after which a window may be counted, and after which the last one is, quiet or not. */
const MIN_WARMUP_S = 30;
const MAX_WARMUP_S = 300;

/**
 * True when V8's threads did at most a twentieth of the main thread's
 * instructions: its optimizing compiler is done with the path (its GC
 * helpers alone take well under 1%), so the main thread runs the code that
 * will serve from now on.
 */
export function compilerQuiet(totals: { main: number; all: number }): boolean {
  return totals.all - totals.main <= totals.main / 20;
}

/** One counted window: the requests wrk made and the dump's instruction totals. */
export interface CountedWindow {
  requests: number;
  main: number;
  all: number;
}

/**
 * Counts windows (`countWindow`, each `seconds` long) after `loadS` seconds
 * of load until one is compilerQuiet, or the load has reached `maxS`; returns
 * that window, the load before it, and whether it was quiet.
 */
export async function firstQuietWindow(
  countWindow: () => Promise<CountedWindow>,
  loadS: number,
  seconds: number,
  maxS: number,
): Promise<{ window: CountedWindow; loadS: number; warm: boolean }> {
  for (;;) {
    const window = await countWindow();
    const warm = compilerQuiet(window);
    if (warm || loadS >= maxS) return { window, loadS, warm };
    loadS += seconds;
  }
}

/** The totals of one callgrind dump taken with --separate-threads=yes: its files are `<name>-<thread>`, thread 01 the main one. */
export function threadTotals(files: ReadonlyArray<{ name: string; text: string }>): { main: number; all: number } {
  let main: number | null = null;
  let all = 0;
  for (const f of files) {
    const total = callgrindTotal(f.text);
    all += total;
    if (/-0*1$/.test(f.name)) main = total;
  }
  if (main === null) throw new Error(`no dump of the main thread (a file ending in -01) among ${files.map((f) => f.name).join(', ')}`);
  return { main, all };
}

/** The `summary:` total of a callgrind output file. */
export function callgrindTotal(text: string): number {
  const m = /^summary:\s+(\d+)/m.exec(text) ?? /^totals:\s+(\d+)/m.exec(text);
  if (!m) throw new Error('not a callgrind output file: no "summary:" or "totals:" line');
  return Number(m[1]);
}

/** Counts the instructions per hello-world request of one Node server of bench/servers; `warmupS` is the load before the first window counted. */
async function count(id: string, warmupS: { min: number; max: number }, seconds: number): Promise<InstructionCount> {
  const dir = mkdtempSync(join(tmpdir(), `tsgi-callgrind-${id}-`));
  const port = await freePort();
  const child = spawn('valgrind', ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${dir}/callgrind.%p.out`, process.execPath, `${SERVERS_DIR}${id}.js`], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitForPort(port, 120_000);
    const url = `http://127.0.0.1:${port}/`;
    await wrk({ url, seconds: warmupS.min, connections: 10, cpus: '' });
    const countWindow = async (): Promise<CountedWindow> => {
      await run('callgrind_control', ['-z', String(child.pid)]);
      const { requests } = await wrk({ url, seconds, connections: 10, cpus: '' });
      await run('callgrind_control', ['-d', String(child.pid)]);
      return { requests, ...threadTotals(takeDump(dir, id)) };
    };
    const { window, loadS, warm } = await firstQuietWindow(countWindow, warmupS.min, seconds, warmupS.max);
    const { requests, main, all } = window;
    return { id, requests, instructionsPerRequest: Math.round(main / requests), allThreadsPerRequest: Math.round(all / requests), warmupSeconds: loadS, warm };
  } catch (e) {
    throw new Error(`${id}: ${(e as Error).message}\n${stderr}`);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the newest dump in `dir` (after -z, one file per thread: callgrind.<pid>.out.<dump>-<thread>) and deletes every dump file. */
function takeDump(dir: string, id: string): Array<{ name: string; text: string }> {
  const files = readdirSync(dir).filter((f) => /\.out\.\d+-\d+$/.test(f));
  if (files.length === 0) throw new Error(`callgrind wrote no dump for ${id}`);
  const last = Math.max(...files.map((f) => Number(/\.out\.(\d+)-/.exec(f)![1])));
  const dump = files.filter((f) => f.includes(`.out.${last}-`)).map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }));
  for (const f of files) rmSync(join(dir, f));
  return dump;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const ids = args.filter((a) => !a.startsWith('--'));
  const contenders = ids.length > 0 ? ids : ['raw-uws', 'raw-uws-reads', 'asgi-uws'];
  ensureSystemPackages(false, true, VALGRIND);
  const results: InstructionCount[] = [];
  for (const id of contenders) {
    // A smoke run checks the tool, not the count: one short window, compiled or not.
    const r = await count(id, smoke ? { min: 2, max: 2 } : { min: MIN_WARMUP_S, max: MAX_WARMUP_S }, smoke ? 2 : 8);
    results.push(r);
    const cold = r.warm || smoke ? '' : `; NOT WARM: V8 was still compiling after ${MAX_WARMUP_S} s`;
    console.log(
      `${id.padEnd(16)} ${String(r.instructionsPerRequest).padStart(7)} instructions/request on the main thread, ${r.allThreadsPerRequest} with V8's threads (${r.requests} requests, after ${r.warmupSeconds} s of load${cold})`,
    );
  }
  // Ratios against the first contender named (raw uWebSockets.js by default).
  const base = results[0]!;
  for (const r of results.slice(1)) {
    console.log(`${r.id} / ${base.id}: ${(r.instructionsPerRequest / base.instructionsPerRequest).toFixed(2)}x the instructions on the main thread`);
  }
  if (!smoke) {
    const file = join(RESULTS_DIR, `${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-instructions.json`);
    writeFileSync(file, `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
    console.log(`bench: wrote ${file}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
