/**
 * A short fuzz run against every server, each run by `tsgi serve` in a
 * child process so a crash shows as a dead process (the long run is
 * `pnpm fuzz`, which can name the servers: $TSGI_FUZZ_SERVERS, comma-separated,
 * default all): the server must still be running and serving afterwards,
 * no mutated request may get a 5xx other than 501/505, and nothing may be
 * logged as an internal error or an unhandled rejection.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SERVER_KINDS, appPathOf, fuzz, simpleGet, startCliServer, type ServerKind, type ServerProcess } from '../src/index.js';

const SECONDS = Number(process.env.TSGI_FUZZ_SECONDS ?? 4);
const SEED = Number(process.env.TSGI_FUZZ_SEED ?? 20261125);
const SERVERS = process.env.TSGI_FUZZ_SERVERS ? (process.env.TSGI_FUZZ_SERVERS.split(',') as ServerKind[]) : SERVER_KINDS;
for (const s of SERVERS) if (!SERVER_KINDS.includes(s)) throw new Error(`TSGI_FUZZ_SERVERS: ${JSON.stringify(s)} is not one of ${SERVER_KINDS.join(', ')}`);

describe.each(SERVERS)('fuzzing %s', (kind) => {
  let proc: ServerProcess;
  beforeAll(async () => {
    proc = await startCliServer(appPathOf(kind), ['--server', kind, ...(kind === 'pool' ? ['--threads', '2'] : [])]);
  }, 60_000);
  afterAll(async () => {
    await proc?.dispose();
  });

  test(`${SECONDS} s of mutated requests: still running, no 5xx, no internal error`, async () => {
    const report = await fuzz({ port: proc.port, seconds: SECONDS, seed: SEED, concurrency: 32 });
    console.log(`${kind}: ${report.sent} mutated requests (seed ${SEED}): ${JSON.stringify(report.outcomes)}`);
    const died = proc.child.exitCode !== null || proc.child.signalCode !== null;
    expect(died, `the server process died (exit ${proc.child.exitCode}, signal ${proc.child.signalCode}):\n${proc.stderr().slice(-3000)}`).toBe(false);
    expect(report.sent).toBeGreaterThan(20);
    expect(report.serverErrors).toEqual([]);
    expect(proc.stderr()).not.toMatch(/Internal error|Unhandled|unhandled/);
    expect((await simpleGet(proc.port, '/ok')).status).toBe(200);
  }, SECONDS * 1000 + 30_000);
});
