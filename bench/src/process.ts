/**
 * Server processes under test: started pinned to their CPUs (taskset), ready
 * once their port accepts, measured from /proc (CPU time and peak RSS of the
 * whole process tree, so gunicorn's workers count), stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Prefixes argv with `taskset -c cpus` unless cpus is ''. */
export function onCpus(cpus: string, argv: string[]): string[] {
  return cpus === '' ? argv : ['taskset', '-c', cpus, ...argv];
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** How to start one server. */
export interface ServerSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
}

function readStat(pid: number): string[] | null {
  try {
    // Fields after the command name, which may contain spaces: state is [0], ppid [1], utime [11], stime [12].
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The pid and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const ppid = Number(stat[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

/** A field of /proc/pid/status in KiB (VmHWM, VmRSS), 0 when gone. */
function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** A running server under test. */
export class ServerProcess {
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  /** Starts the server and resolves once its port accepts connections (rejects if it exits first). */
  static async start(spec: ServerSpec, port: number, cpus: string, timeoutMs = 30_000): Promise<ServerProcess> {
    const [cmd, ...args] = onCpus(cpus, spec.argv);
    const child = spawn(cmd!, args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    const server = new ServerProcess(child, port);
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`exited with code ${String(code)} before listening: ${server.reason()}`);
    });
    try {
      await Promise.race([waitForPort(port, timeoutMs), exited]);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    exited.catch(() => {});
    return server;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** utime + stime of the process tree, in clock ticks (1/100 s). */
  cpuTicks(): number {
    let ticks = 0;
    for (const pid of processTree(this.pid)) {
      const stat = readStat(pid);
      if (stat) ticks += Number(stat[11]) + Number(stat[12]);
    }
    return ticks;
  }

  /** Peak resident set size of the process tree so far (sum of each process's VmHWM), in MiB. */
  peakRssMiB(): number {
    return processTree(this.pid).reduce((sum, pid) => sum + statusKiB(pid, 'VmHWM'), 0) / 1024;
  }

  /** The error line of the server's stderr (Node prints the stack first), else its last line. */
  private reason(): string {
    const lines = this.stderr.trim().split('\n');
    return (lines.find((l) => /^\w*Error\b/.test(l)) ?? lines[lines.length - 1] ?? '').trim();
  }

  /** The last lines the server wrote to stderr. */
  get log(): string {
    return this.stderr;
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Resolves once 127.0.0.1:port accepts a connection. */
export function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listening on port ${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}
