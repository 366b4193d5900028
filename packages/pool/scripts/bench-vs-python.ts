/**
 * Requests per second of a sync hello-world on @tsgi/pool next to gunicorn
 * (gthread worker) and waitress from Debian serving the same app in Python,
 * in one run. By default every server gets CPU 0 and wrk CPU 1 (taskset), so
 * the load generator does not steal the server's core and each server has
 * one core; with PIN=0 nothing is pinned and servers and wrk share both
 * cores (where @tsgi/pool's main thread and worker threads run in parallel,
 * and gunicorn runs two worker processes).
 *
 * Needs: `npx tsc -b`, and `apt-get install wrk gunicorn python3-waitress`.
 * Run: `[PIN=0] npx tsx packages/pool/scripts/bench-vs-python.ts [seconds] [connections]`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);
const benchDir = fileURLToPath(new URL('./bench/', import.meta.url));
const pin = process.env.PIN !== '0';
const onCpu = (cpu: string, argv: string[]) => (pin ? ['taskset', '-c', cpu, ...argv] : argv);

interface Contender {
  name: string;
  port: number;
  argv: string[];
  env?: Record<string, string>;
}

const contenders: Contender[] = [
  { name: '@tsgi/pool (threads 2)', port: 18401, argv: [process.execPath, 'serve-hello.mjs'], env: { PORT: '18401', THREADS: '2' } },
  { name: '@tsgi/pool (threads 8)', port: 18402, argv: [process.execPath, 'serve-hello.mjs'], env: { PORT: '18402', THREADS: '8' } },
  {
    name: 'gunicorn gthread (1 worker, 8 threads)',
    port: 18403,
    argv: ['/usr/bin/gunicorn', '--worker-class', 'gthread', '--workers', '1', '--threads', '8', '--bind', '127.0.0.1:18403', '--log-level', 'warning', 'hello_wsgi:app'],
  },
  {
    name: 'gunicorn gthread (2 workers, 4 threads)',
    port: 18404,
    argv: ['/usr/bin/gunicorn', '--worker-class', 'gthread', '--workers', '2', '--threads', '4', '--bind', '127.0.0.1:18404', '--log-level', 'warning', 'hello_wsgi:app'],
  },
  { name: 'waitress (8 threads)', port: 18405, argv: ['/usr/bin/waitress-serve', '--listen=127.0.0.1:18405', '--threads=8', 'hello_wsgi:app'] },
];

function waitForPort(port: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listening on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function wrk(port: number, secs: number): { rps: number; p99: string } {
  const [cmd, ...args] = onCpu('1', ['wrk', '-t', '1', '-c', String(connections), '-d', `${secs}s`, '--latency', `http://127.0.0.1:${port}/`]);
  const out = execFileSync(cmd!, args, { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? '?';
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  if (errors !== undefined) throw new Error(`${errors} non-2xx responses on port ${port}`);
  return { rps, p99 };
}

const results: Array<{ name: string; rps: number; p99: string }> = [];
for (const c of contenders) {
  const [cmd, ...args] = onCpu('0', c.argv);
  // stderr ignored: waitress logs a line per queued task under this load.
  const child: ChildProcess = spawn(cmd!, args, { cwd: benchDir, env: { ...process.env, ...c.env }, stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await waitForPort(c.port);
    wrk(c.port, 2); // warm-up
    const r = wrk(c.port, seconds);
    results.push({ name: c.name, ...r });
    console.log(`${c.name.padEnd(42)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.p99}`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
const python = Math.max(...results.filter((r) => !r.name.startsWith('@tsgi')).map((r) => r.rps));
const ours = Math.max(...results.filter((r) => r.name.startsWith('@tsgi')).map((r) => r.rps));
const where = pin ? 'server on CPU 0, wrk on CPU 1' : 'nothing pinned, 2 cores shared with wrk';
console.log(`\n@tsgi/pool vs the faster Python server: ${(ours / python).toFixed(2)}x (${connections} connections, ${seconds} s, ${where})`);
