/** Spawns the `tsgi` CLI as a child process, from source or from the built bin, and collects what it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterEach } from 'vitest';

export const cliRoot = join(import.meta.dirname, '..', '..');
export const fixtures = join(cliRoot, 'test', 'fixtures');
/** tsx's loader by its location, so a CLI started in any working directory finds it. */
const TSX = import.meta.resolve('tsx');

export interface CliRun {
  child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (a signal counts as -1). */
  exited: Promise<number>;
}

/** A list for the runs a test file starts: after each test, those still running are killed. */
export function killedAfterEach(): CliRun[] {
  const running: CliRun[] = [];
  afterEach(async () => {
    for (const run of running.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGKILL');
        await run.exited;
      }
    }
  });
  return running;
}

/** Starts the CLI from its source; `bin: true` runs bin/tsgi.js (the built dist) as `pnpm exec tsgi` would. */
export function startCli(args: string[], opts: { bin?: boolean; cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const argv = opts.bin
    ? [join(cliRoot, 'bin', 'tsgi.js'), ...args]
    : ['--conditions=source', '--import', TSX, join(cliRoot, 'test', 'helpers', 'run-source.ts'), ...args];
  // WEB_CONCURRENCY changes what serve does: a test sets it itself, never inherits the machine's.
  const env = { ...process.env, WEB_CONCURRENCY: undefined, ...opts.env };
  const child = spawn(process.execPath, argv, { cwd: opts.cwd ?? cliRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit').then(([code]) => (typeof code === 'number' ? code : -1));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], opts: { bin?: boolean; cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const run = startCli(args, opts);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Waits until stderr matches `pattern` and returns the match. */
export async function waitForStderr(run: CliRun, pattern: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const m = pattern.exec(run.stderr());
    if (m) return m;
    const done = await Promise.race([once(run.child.stderr!, 'data').then(() => false), run.exited.then(() => true)]);
    if (done) {
      const m2 = pattern.exec(run.stderr());
      if (m2) return m2;
      throw new Error(`the CLI exited before printing ${pattern}:\n${run.stderr()}`);
    }
  }
}

/** Waits for the "Serving … on http://host:port" line and returns the URL. */
export async function waitForUrl(run: CliRun): Promise<string> {
  return (await waitForStderr(run, /Serving .* on ((?:http:\/\/|unix:)\S+)/))[1]!;
}
