/**
 * The hostile corpus against `tsgi serve` in a child process: after every
 * entry was sent, the server process is still running and serving, and
 * logged no unhandled rejection. In-process tests cannot show this: an
 * unhandled rejection ends a Node 20 process, but not a vitest worker.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HOSTILE_REQUESTS, SERVER_KINDS, appPathOf, bytesOf, rawExchange, simpleGet, startCliServer, type ServerProcess } from '../src/index.js';

describe.each(SERVER_KINDS)('the hostile corpus against tsgi serve --server %s', (kind) => {
  let proc: ServerProcess;
  const start = () => startCliServer(appPathOf(kind), ['--server', kind, ...(kind === 'pool' ? ['--threads', '2'] : [])]);
  beforeAll(async () => {
    proc = await start();
  }, 60_000);
  // An entry that killed the server fails alone: the next one gets a fresh process.
  beforeEach(async () => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      await proc.dispose();
      proc = await start();
    }
  }, 60_000);
  afterAll(async () => {
    await proc?.dispose();
  });

  test.each(HOSTILE_REQUESTS.map((e) => [e.id, e] as const))('the process survives %s', async (_id, entry) => {
    await rawExchange(proc.port, bytesOf(entry), { timeoutMs: 1000, waitForClose: true });
    // Give a rejection left unhandled by that exchange the turn it needs to end the process.
    const alive = await simpleGet(proc.port, `/ok?after=${entry.id}`).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    const died = proc.child.exitCode !== null || proc.child.signalCode !== null;
    expect(died, `the server process died after ${entry.id} (exit ${proc.child.exitCode}):\n${proc.stderr().slice(-2000)}`).toBe(false);
    expect(alive).toBe(200);
  });
});
