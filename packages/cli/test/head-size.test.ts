/**
 * --h11-max-incomplete-event-size (uvicorn's flag): the largest request head
 * every server takes, 16384 bytes by default; past it the answer is 431, on
 * each server the same. uWebSockets.js itself drops a head of about 100 KiB
 * without an answer, so uws takes at most 65536 and refuses more with one line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawRequest } from '../../core/test/support/server-tests.js';
import { fixtures, killedAfterEach, runCli, startCli, waitForUrl } from './helpers/spawn-cli.js';

const running = killedAfterEach();

/** The status of a GET whose head carries one field of `bytes` bytes. */
async function statusWithField(port: number, bytes: number): Promise<number> {
  const res = await rawRequest(port, `GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(bytes)}\r\nconnection: close\r\n\r\n`);
  return res.status;
}

async function serve(args: string[]): Promise<number> {
  const run = startCli(['serve', '--port', '0', '--no-access-log', ...args]);
  running.push(run);
  return Number(new URL(await waitForUrl(run)).port);
}

describe('tsgi serve --h11-max-incomplete-event-size', () => {
  it.each([
    ['uws', 'asgi-app.ts'],
    ['node', 'asgi-app.ts'],
    ['pool', 'wsgi-app.ts'],
  ])('--server %s: 16384 bytes by default, and the flag raises it (431 past it)', async (server, app) => {
    // One thread: the pool starts faster, and the head is judged before any thread sees the request.
    const flags = ['--server', server, ...(server === 'pool' ? ['--threads', '1'] : [])];
    const byDefault = await serve([...flags, join(fixtures, app)]);
    expect(await statusWithField(byDefault, 10_000)).toBe(200);
    expect(await statusWithField(byDefault, 20_000)).toBe(431);
    const raised = await serve([...flags, '--h11-max-incomplete-event-size', '49152', join(fixtures, app)]);
    expect(await statusWithField(raised, 40_000)).toBe(200);
    expect(await statusWithField(raised, 50_000)).toBe(431);
  });

  it('--server uws: more than 65536 is refused with one line naming the flag, exit 2', async () => {
    const r = await runCli(['serve', '--port', '0', '--h11-max-incomplete-event-size', '100000', join(fixtures, 'asgi-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tsgi: error: --h11-max-incomplete-event-size must be an integer from 1024 to 65536 \(bytes; uWebSockets\.js v20\.30 drops a request head of about 100 KiB or more without an answer\); got 100000$/m);
  });
});
