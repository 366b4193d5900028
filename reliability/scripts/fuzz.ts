/**
 * The long fuzz run (`pnpm fuzz [seconds] [seed]`, default 300 s): the same
 * test as reliability/test/fuzz.test.ts, for longer, against both servers.
 */
import { spawnSync } from 'node:child_process';

const seconds = process.argv[2] ?? '300';
const seed = process.argv[3] ?? String(Date.now() % 2 ** 31);
console.log(`fuzzing both servers for ${seconds} s each, seed ${seed}`);
const r = spawnSync('npx', ['vitest', 'run', 'reliability/test/fuzz.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, TSGI_FUZZ_SECONDS: seconds, TSGI_FUZZ_SEED: seed },
});
process.exit(r.status ?? 1);
