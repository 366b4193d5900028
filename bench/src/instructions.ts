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
 * Each server runs under callgrind with collection on; after a warm-up the
 * counters are zeroed (callgrind_control -z), a timed wrk run goes through,
 * and the counters are dumped (-d) and divided by the requests wrk made.
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
  instructionsPerRequest: number;
}

/** The `summary:` total of a callgrind output file. */
export function callgrindTotal(text: string): number {
  const m = /^summary:\s+(\d+)/m.exec(text) ?? /^totals:\s+(\d+)/m.exec(text);
  if (!m) throw new Error('not a callgrind output file: no "summary:" or "totals:" line');
  return Number(m[1]);
}

/** Counts the instructions per hello-world request of one Node server of bench/servers. */
async function count(id: string, warmupS: number, seconds: number): Promise<InstructionCount> {
  const dir = mkdtempSync(join(tmpdir(), `tsgi-callgrind-${id}-`));
  const port = await freePort();
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${dir}/callgrind.%p.out`, process.execPath, `${SERVERS_DIR}${id}.js`], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitForPort(port, 120_000);
    const url = `http://127.0.0.1:${port}/`;
    await wrk({ url, seconds: warmupS, connections: 10, cpus: '' });
    await run('callgrind_control', ['-z', String(child.pid)]);
    const { requests } = await wrk({ url, seconds, connections: 10, cpus: '' });
    await run('callgrind_control', ['-d', String(child.pid)]);
    const dump = readdirSync(dir).find((f) => /\.out\.\d+$/.test(f));
    if (dump === undefined) throw new Error(`callgrind wrote no dump for ${id}`);
    return { id, requests, instructionsPerRequest: Math.round(callgrindTotal(readFileSync(join(dir, dump), 'utf8')) / requests) };
  } catch (e) {
    throw new Error(`${id}: ${(e as Error).message}\n${stderr}`);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const ids = args.filter((a) => !a.startsWith('--'));
  const contenders = ids.length > 0 ? ids : ['raw-uws', 'raw-uws-reads', 'asgi-uws'];
  ensureSystemPackages(false, true, VALGRIND);
  const results: InstructionCount[] = [];
  for (const id of contenders) {
    const r = await count(id, smoke ? 2 : 6, smoke ? 2 : 8);
    results.push(r);
    console.log(`${id.padEnd(16)} ${String(r.instructionsPerRequest).padStart(7)} instructions/request (${r.requests} requests)`);
  }
  const base = results.find((r) => r.id === 'raw-uws');
  if (base !== undefined) {
    for (const r of results) if (r !== base) console.log(`${r.id} / raw-uws: ${(r.instructionsPerRequest / base.instructionsPerRequest).toFixed(2)}x the instructions`);
  }
  if (!smoke) {
    const file = join(RESULTS_DIR, `${new Date().toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}-instructions.json`);
    writeFileSync(file, `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, results }, null, 2)}\n`);
    console.log(`bench: wrote ${file}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
