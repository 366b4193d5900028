/**
 * --backlog (uvicorn's flag): the listen backlog, read back from the kernel
 * with `ss` (iproute2), whose Send-Q column of a listening socket is its
 * backlog. 2048 by default, as uvicorn; uWebSockets.js v20.30 always listens
 * with 512, so uws keeps 512 and refuses another value with one line.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needTools } from '../../../scripts/system-tools.js';
import { fixtures, killedAfterEach, runCli, startCli, waitForUrl } from './helpers/spawn-cli.js';

const running = killedAfterEach();
const ss = needTools('packages/cli/test/backlog.test.ts', 'ss');
// The kernel caps a backlog at net.core.somaxconn.
const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

/** The backlog of the socket listening on `port`, as the kernel reports it. */
function backlogOf(port: number): number {
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  return Number(line.split(/\s+/)[2]);
}

async function listening(args: string[]): Promise<number> {
  const run = startCli(['serve', '--port', '0', ...args]);
  running.push(run);
  return Number(new URL(await waitForUrl(run)).port);
}

describe.skipIf(ss.skip)(`tsgi serve --backlog${ss.note}`, () => {
  it.each([
    ['node', 'asgi-app.ts'],
    ['pool', 'wsgi-app.ts'],
  ])('--server %s: 2048 by default, as uvicorn, and the flag sets it', async (server, app) => {
    const flags = ['--server', server, ...(server === 'pool' ? ['--threads', '1'] : []), join(fixtures, app)];
    expect(backlogOf(await listening(flags))).toBe(Math.min(2048, somaxconn));
    expect(backlogOf(await listening(['--backlog', '100', ...flags]))).toBe(100);
  });

  it('--server uws: 512, the only backlog uWebSockets.js has; another is refused with one line, exit 2', async () => {
    expect(backlogOf(await listening(['--server', 'uws', join(fixtures, 'asgi-app.ts')]))).toBe(512);
    const r = await runCli(['serve', '--port', '0', '--backlog', '100', join(fixtures, 'asgi-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tsgi: error: --backlog must be 512 \(uWebSockets\.js v20\.30 listens with a backlog of 512 and takes no other\); got 100$/m);
  });
});
