/** Runs a `tsgi` command that the docs say is refused, for the docs tests: its exit code and what it printed. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot } from '../docs/support/tsgi-process.js';

const RUNNER = join(repoRoot, 'examples', 'docs', 'support', 'run-tsgi.ts');

/** Runs `tsgi <args>` from the repository root; kills it (and fails) if it is still running after `timeoutMs`, since a refused command must exit. */
export async function runRefused(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', RUNNER, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code === null) throw new Error(`tsgi ${args.join(' ')} was still running after ${timeoutMs} ms; it should have been refused:\n${stderr}`);
  return { code, stderr };
}
