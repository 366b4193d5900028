/**
 * Request rate of an ASGI-TS hello world on @tsgi/uws against a raw
 * uWebSockets.js hello world, measured in the same run with wrk (Debian
 * package `wrk`), server and load generator pinned to different cores.
 * On a shared machine the req/s figures swing with the neighbours' load, so
 * it also reports the server's CPU time per request (from /proc), whose
 * ratio is what the req/s ratio would be on an idle core.
 *
 *   node --import tsx packages/uws/scripts/hello-ratio.ts [seconds] [rounds]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 3);
const script = fileURLToPath(new URL('./hello-servers.ts', import.meta.url));

/** utime + stime of a process, in clock ticks (1/100 s on Linux). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

interface Measured {
  rps: number;
  /** Server CPU microseconds per request. */
  cpuUs: number;
}

async function measure(kind: 'raw' | 'raw-async' | 'tsgi'): Promise<Measured> {
  const child = spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', script, kind], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { port: number }).port);
      });
      child.once('exit', (c) => reject(new Error(`${kind} server exited with ${c}`)));
    });
    const url = `http://127.0.0.1:${port}/`;
    execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c50', '-d1s', url]); // warm-up (JIT)
    const before = cpuTicks(child.pid!);
    const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', '-c50', `-d${seconds}s`, url], { encoding: 'utf8' });
    const ticks = cpuTicks(child.pid!) - before;
    const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const total = /(\d+) requests in/.exec(out);
    if (!m || !total || /Non-2xx/.test(out)) throw new Error(`wrk output for ${kind}:\n${out}`);
    return { rps: Number(m[1]), cpuUs: (ticks * 10_000) / Number(total[1]) };
  } finally {
    child.kill();
  }
}

const rpsRatios: number[] = [];
const cpuRatios: number[] = [];
for (let i = 0; i < rounds; i++) {
  const raw = await measure('raw');
  const rawAsync = await measure('raw-async');
  const tsgi = await measure('tsgi');
  rpsRatios.push(tsgi.rps / raw.rps);
  cpuRatios.push(raw.cpuUs / tsgi.cpuUs);
  console.log(
    `round ${i + 1}: raw uWS ${raw.rps.toFixed(0)} req/s (${raw.cpuUs.toFixed(1)} us CPU/req), ` +
      `raw uWS answering a tick later ${rawAsync.rps.toFixed(0)} req/s (${rawAsync.cpuUs.toFixed(1)} us CPU/req), ` +
      `tsgi ASGI ${tsgi.rps.toFixed(0)} req/s (${tsgi.cpuUs.toFixed(1)} us CPU/req)`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`median req/s ratio ${(100 * median(rpsRatios)).toFixed(1)}%, median CPU-per-request ratio ${(100 * median(cpuRatios)).toFixed(1)}% (target >= 85%)`);
