/**
 * Runs `tsgi serve` (the built CLI, as a user runs it) in a child process on
 * an ephemeral port, with the test app's request record in a temporary file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RECORD_ENV, readRecord, type SeenRequest } from './record.js';

const TSGI_BIN = fileURLToPath(new URL('../../packages/cli/bin/tsgi.js', import.meta.url));

/** A server running in a child process. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Everything the CLI printed on stderr so far. */
  stderr(): string;
  /** Exit code (-1 for a signal). */
  exited: Promise<number>;
  seen(): SeenRequest[];
  /** Kills the child if still running and removes the record. */
  dispose(): Promise<void>;
}

/** Starts `tsgi serve <appPath>:app <args>` (with `env` added to this process's) and resolves once it printed the URL it serves on. */
export async function startCliServer(appPath: string, args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-reliability-cli-'));
  const file = join(dir, 'record.jsonl');
  const child = spawn(process.execPath, [TSGI_BIN, 'serve', `${appPath}:app`, '--host', '127.0.0.1', '--port', '0', '--no-access-log', ...args], {
    env: { ...process.env, ...env, [RECORD_ENV]: file },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit').then(([code]) => (typeof code === 'number' ? code : -1));
  let port = 0;
  for (;;) {
    const m = /Serving .* on http:\/\/[^:]+:(\d+)/.exec(err);
    if (m) {
      port = Number(m[1]);
      break;
    }
    const done = await Promise.race([once(child.stderr!, 'data').then(() => false), exited.then(() => true)]);
    if (done && !/Serving .* on http/.test(err)) throw new Error(`tsgi serve exited before serving:\n${err}`);
  }
  return {
    child,
    port,
    stderr: () => err,
    exited,
    seen: () => readRecord(file),
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
