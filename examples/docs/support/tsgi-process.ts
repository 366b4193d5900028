/** Starts `tsgi` in a child process for the docs tests, and stops it the way a process manager does (SIGTERM). */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

const RUNNER = join(import.meta.dirname, 'run-tsgi.ts');
/** The repository root: the docs' commands are written to run from there. */
export const repoRoot = join(import.meta.dirname, '..', '..', '..');

export interface TsgiProcess {
  child: ChildProcess;
  /** Everything the process printed on stderr so far (tsgi logs there). */
  stderr(): string;
  /** `http://host:port` or `unix:/path`, from the "… on <url>" line. */
  url: string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
  /** Sends SIGTERM (graceful shutdown) and waits for the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `tsgi <args>` from the repository root and waits until it serves. */
export async function startTsgi(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<TsgiProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', RUNNER, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout!.resume();
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  const pattern = /Serving .* on ((?:http:\/\/|unix:)\S+)/;
  for (;;) {
    const m = pattern.exec(err);
    if (m) return { child, stderr: () => err, url: m[1]!, exited, stop };
    const ended = await Promise.race([once(child.stderr!, 'data').then(() => false), exited.then(() => true)]);
    if (ended && !pattern.test(err)) throw new Error(`tsgi ${args.join(' ')} exited before serving:\n${err}`);
  }
}

/** A TCP port free on 127.0.0.1 right now, for a server or proxy that takes a fixed port. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
