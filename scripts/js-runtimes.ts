/**
 * Bun and Deno as the tests and scripts run them: the binaries of the
 * repository's pinned `bun` and `deno` npm packages (root devDependencies),
 * and the arguments each runs a script with. The binaries themselves, not the
 * npm bins: deno's is a Node wrapper that would not pass a signal on.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A JavaScript runtime other than Node that the bridge hosts. */
export type JsRuntime = 'bun' | 'deno';

/** What comes before a script's path on each runtime's command line. */
export const RUN_ARGS: Record<JsRuntime, readonly string[]> = { bun: ['run'], deno: ['run', '-A'] };

/** The path of `runtime`'s binary (throws when its npm package is not installed). */
export function runtimeBinary(runtime: JsRuntime): string {
  const dir = dirname(require.resolve(`${runtime}/package.json`));
  return runtime === 'bun' ? join(dir, 'bin', 'bun.exe') : join(dir, 'deno');
}
