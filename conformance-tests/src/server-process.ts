/**
 * Starting and stopping the server under test from a command template: pick a
 * free port, fill in `{app}`, `{app_path}`, `{app_export}`, `{port}`,
 * `{host}` and `{python_dir}`, run it in its own process group, wait until
 * it accepts connections, and kill the whole group afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interface } from './check.js';

/** The conformance app of an interface: absolute file path and export name. */
export function conformanceApp(iface: Interface): { path: string; exportName: string; spec: string } {
  const path = fileURLToPath(new URL(`../apps/${iface}-app.ts`, import.meta.url));
  return { path, exportName: 'app', spec: `${path}:app` };
}

/** The folder of the Python ports (asgi_app.py, wsgi_app.py). */
export function pythonAppDir(): string {
  return fileURLToPath(new URL('../python', import.meta.url));
}

/** Asks the OS for a free TCP port on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Fills the placeholders of a server command template. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(app|app_path|app_export|port|host|python_dir)\}/g, (m, k: string) => values[k] ?? m);
}

/** A server the suite started. */
export interface StartedServer {
  host: string;
  port: number;
  /** The folder the conformance app writes its reports to (TSGI_CONFORMANCE_STATE_DIR). */
  stateDir: string;
  /** Token under which the app records lifespan shutdown. */
  shutdownToken: string;
  /** The filled-in command. */
  command: string;
  /** Last lines the server printed (for error messages). */
  output(): string;
  /** Stops the whole process group: SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

/** Options of `startServer`. */
export interface StartOptions {
  iface: Interface;
  command: string;
  host?: string;
  port?: number;
  /** How long the server may take to accept connections. */
  startTimeoutMs?: number;
  env?: Record<string, string>;
}

/** Starts the server command and resolves once its port accepts connections. */
export async function startServer(opts: StartOptions): Promise<StartedServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const app = conformanceApp(opts.iface);
  const command = fillTemplate(opts.command, { app: app.spec, app_path: app.path, app_export: app.exportName, port: String(port), host, python_dir: pythonAppDir() });
  const stateDir = mkdtempSync(join(tmpdir(), 'tsgi-conformance-'));
  const shutdownToken = `shutdown${process.pid}${Date.now().toString(36)}`;
  const child = spawn(command, {
    shell: true,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env, TSGI_CONFORMANCE_STATE_DIR: stateDir, TSGI_CONFORMANCE_SHUTDOWN_TOKEN: shutdownToken },
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const server: StartedServer = {
    host,
    port,
    stateDir,
    shutdownToken,
    command,
    output: () => out,
    stop: (graceMs = 5000) => stopGroup(child, exited, graceMs),
  };
  try {
    await waitForPort(host, port, opts.startTimeoutMs ?? 30_000, exited);
  } catch (e) {
    await server.stop(1000);
    throw new Error(`${(e as Error).message}\ncommand: ${command}\noutput:\n${out.trim().split('\n').slice(-20).join('\n')}`);
  }
  return server;
}

async function stopGroup(child: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<number | null> {
  const signal = (s: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-child.pid!, s);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  if (!signal(0)) return child.exitCode;
  signal('SIGTERM');
  // The shell may exit at once while the server in the same group is still
  // shutting down (lifespan shutdown, draining): wait for the whole group.
  const deadline = Date.now() + graceMs;
  while (signal(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  signal('SIGKILL');
  return exited;
}

/** Polls until host:port accepts a TCP connection; fails early when the process exits. */
async function waitForPort(host: string, port: number, timeoutMs: number, exited: Promise<number | null>): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the server exited (code ${exitCode}) before accepting connections on ${host}:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the server did not accept connections on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
