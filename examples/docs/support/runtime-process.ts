/**
 * Runs a docs command on Bun or Deno for the docs tests (`bun run …`,
 * `deno run -A …`), with the binaries of the repository's pinned `bun` and
 * `deno` npm packages (deno's npm bin is a Node wrapper that would not pass a
 * signal on), and stops it as a process manager does (SIGTERM).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { runtimeBinary } from '../../../scripts/js-runtimes.js';
import { repoRoot } from './tsgi-process.js';

/** A runtime process serving HTTP. */
export interface RuntimeProcess {
  /** `http://host:port`, from the host's "Listening on" line. */
  url: string;
  /** What the process printed so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `words` (a `bun …` or `deno …` command) in `cwd` and waits until it logs where it listens. */
export async function startOnRuntime(words: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot): Promise<RuntimeProcess> {
  const runtime = words[0];
  if (runtime !== 'bun' && runtime !== 'deno') throw new TypeError(`startOnRuntime runs bun or deno commands; got ${JSON.stringify(words.join(' '))}`);
  const child = spawn(runtimeBinary(runtime), words.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let ended = false;
  void exited.then(() => (ended = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /Listening on (http:\/\/\S+)/.exec(out);
    if (m !== null) {
      return {
        url: m[1]!,
        output: () => out,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      };
    }
    if (ended || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${words.join(' ')} did not start listening:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
