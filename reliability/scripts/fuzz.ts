/**
 * The long fuzz run (`pnpm fuzz [seconds] [seed] [--server uws|node|pool ...]`,
 * default 300 s against every server): the same test as
 * reliability/test/fuzz.test.ts, for longer, against the servers named
 * (all of them by default).
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SERVER_KINDS, type ServerKind } from '../src/servers.js';

const { values, positionals } = parseArgs({ options: { server: { type: 'string', multiple: true }, help: { type: 'boolean', default: false } }, allowPositionals: true });
if (values.help) {
  console.log(`usage: pnpm fuzz [seconds (300)] [seed] [--server ${SERVER_KINDS.join('|')} ...]`);
  process.exit(0);
}
const servers = (values.server ?? [...SERVER_KINDS]) as ServerKind[];
for (const s of servers) if (!SERVER_KINDS.includes(s)) throw new Error(`--server: expected one of ${SERVER_KINDS.join(', ')}, got ${JSON.stringify(s)}`);
const seconds = positionals[0] ?? '300';
const seed = positionals[1] ?? String(Date.now() % 2 ** 31);
console.log(`fuzzing ${servers.join(', ')} for ${seconds} s each, seed ${seed}`);
const r = spawnSync('npx', ['vitest', 'run', 'reliability/test/fuzz.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, TSGI_FUZZ_SECONDS: seconds, TSGI_FUZZ_SEED: seed, TSGI_FUZZ_SERVERS: servers.join(',') },
});
process.exit(r.status ?? 1);
