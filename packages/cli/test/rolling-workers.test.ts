/**
 * Process management with --workers, as gunicorn's and uvicorn's users run it, through the CLI
 * under steady keep-alive load: SIGHUP replaces every worker one at a time with freshly imported
 * code, --limit-max-requests replaces each worker that reaches it, and neither loses a request;
 * a worker whose event loop blocks past --timeout-worker-healthcheck is replaced, and the log says
 * which and why. The app is written to a temporary directory so the test can change its code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killedAfterEach, startCli, waitForStderr, waitForUrl, type CliRun } from './helpers/spawn-cli.js';
import { startSteadyLoad } from './helpers/steady-load.js';

const running = killedAfterEach();
const dir = mkdtempSync(join(tmpdir(), 'tsgi-rolling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Kind = 'uws' | 'node' | 'pool';

/** The app answers `<version> <pid>:<threadId>`, so the test sees which code and which worker answered. */
function writeApp(kind: Kind, version: string): string {
  const path = join(dir, `${kind}-app.ts`);
  const asgi = `
import { threadId } from 'node:worker_threads';
const VERSION = ${JSON.stringify(version)};
export async function app(scope: any, receive: any, send: any) {
  if (scope.path === '/block') {
    // Blocks this worker's event loop (what a CPU-bound view does), for longer than the healthcheck timeout.
    const until = Date.now() + 6000;
    while (Date.now() < until);
  }
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(VERSION + ' ' + process.pid + ':' + threadId) });
}
`;
  const wsgi = `
const VERSION = ${JSON.stringify(version)};
export function app(environ: any, startResponse: any) {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [new TextEncoder().encode(VERSION + ' ' + process.pid + ':0')];
}
`;
  writeFileSync(path, kind === 'pool' ? wsgi : asgi);
  return path;
}

function serve(kind: Kind, app: string, extra: string[]): CliRun {
  const args = ['serve', '--port', '0', '--server', kind, '--workers', '2', '--no-access-log', ...extra];
  args.push(...(kind === 'pool' ? ['--threads', '2'] : ['--lifespan', 'off']), `${app}:app`);
  const run = startCli(args);
  running.push(run);
  return run;
}

const portOf = (url: string) => Number(new URL(url).port);

/** One GET / on a connection of its own (closed after it): the kernel or the primary hands each new connection to a worker. */
function getOnNewConnection(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
const versionOf = (body: string) => body.split(' ')[0]!;
const workerOf = (body: string) => body.split(' ')[1]!;

describe.each<Kind>(['uws', 'node', 'pool'])('--workers 2 on %s', (kind) => {
  it('SIGHUP replaces the workers one at a time with the new code, under load, losing no request', async () => {
    const app = writeApp(kind, 'v1');
    const run = serve(kind, app, []);
    const port = portOf(await waitForUrl(run));
    const load = startSteadyLoad(port, 8);
    await expect.poll(() => load.ok.length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(200);
    const before = new Set(load.ok.map(workerOf));

    writeApp(kind, 'v2');
    const answeredBefore = load.ok.length;
    run.child.kill('SIGHUP');
    await waitForStderr(run, /Restarted 2 worker\(s\)\./);
    // Some load after the roll, on the new workers only.
    const rolledAt = load.ok.length;
    await expect.poll(() => load.ok.length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(rolledAt + 200);
    await load.stop();

    expect(load.failures, run.stderr()).toEqual([]);
    const after = load.ok.slice(rolledAt);
    expect(new Set(after.map(versionOf))).toEqual(new Set(['v2']));
    for (const w of new Set(after.map(workerOf))) expect(before.has(w)).toBe(false);
    // Both new workers serve. The load's keep-alive connections may all have landed on one of them when they
    // reconnected during the roll, so new connections ask: 24 of them all going to one of two workers is a 1 in 8
    // million chance.
    const fresh = [];
    for (let i = 0; i < 24; i++) fresh.push(await getOnNewConnection(port));
    expect(new Set(fresh.map(versionOf))).toEqual(new Set(['v2']));
    const newWorkers = new Set(fresh.map(workerOf));
    expect(newWorkers.size).toBe(2);
    for (const w of newWorkers) expect(before.has(w)).toBe(false);
    // Each new worker listened before the old one was told to drain.
    expect(run.stderr().match(/Worker (process|thread) \d+ is listening; Worker (process|thread) \d+ drains and stops \(restart \d of 2\)\./g)).toHaveLength(2);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    console.log(`SIGHUP on ${kind}: ${load.ok.length} requests answered 200 (${rolledAt - answeredBefore} during the roll), 0 failed; sent again after a keep-alive close: ${load.retried.reused} (reused connection), ${load.retried.fresh} (new connection)`);
  }, 90_000);

  it('--limit-max-requests replaces each worker that reaches it, one at a time, losing no request', async () => {
    const app = writeApp(kind, 'v1');
    const run = serve(kind, app, ['--limit-max-requests', '100']);
    const port = portOf(await waitForUrl(run));
    const load = startSteadyLoad(port, 8);
    // Until three workers have been replaced (a new one listening first, then the old one drained).
    const replaced = () => (run.stderr().match(/Worker (process|thread) \d+ is listening; Worker (process|thread) \d+ drains and stops \(request limit\)\./g) ?? []).length;
    await expect.poll(replaced, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    const replacedAt = load.ok.length;
    await expect.poll(() => load.ok.length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(replacedAt + 50);
    await load.stop();
    expect(load.failures, run.stderr()).toEqual([]);
    expect(new Set(load.ok.map(workerOf)).size).toBeGreaterThanOrEqual(4);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    console.log(`--limit-max-requests 100 on ${kind}: ${load.ok.length} requests answered 200 by ${new Set(load.ok.map(workerOf)).size} workers, 0 failed; sent again: ${load.retried.reused} + ${load.retried.fresh}`);
  }, 90_000);
});

describe.each<Kind>(['uws', 'node'])('--timeout-worker-healthcheck on %s', (kind) => {
  it('a worker whose event loop stays blocked is replaced, and the log says which and why', async () => {
    const app = writeApp(kind, 'v1');
    const run = serve(kind, app, ['--timeout-worker-healthcheck', '1']);
    const url = await waitForUrl(run);
    // The request that blocks one worker gets no answer from it (a killed process) or a late one (a thread).
    const blocked = fetch(`${url}/block`).then(
      (r) => r.text(),
      () => 'no answer',
    );
    const line = await waitForStderr(run, /ERROR: +Worker (process|thread) (\d+) timed out: no heartbeat for [\d.]+ s \(limit 1 s\), its event loop is blocked\. ([^\n]*)/);
    expect(line[3]).toMatch(kind === 'node' ? /^Killed it; starting a replacement\.$/ : /cannot be terminated .*; starting a replacement\.$/);
    await waitForStderr(run, /started \(replacement\)\./);
    // The server answers new connections (the other worker, the replacement). On uws the blocked
    // thread still holds its listening socket until its loop runs again, so a connection the kernel
    // gives it waits: each try is bounded.
    const status = () => fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(1500) }).then((r) => r.status, () => 0);
    await expect.poll(status, { timeout: 20_000, interval: 100 }).toBe(200);
    if (kind === 'node') expect(await blocked).toBe('no answer');
    // The blocked thread, told to stop, does so once its loop runs again (the app blocks it 6 s).
    else await waitForStderr(run, new RegExp(`Worker thread ${line[2]}, which had timed out, has ended \\(exit code 0\\)\\.`));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 60_000);
});

describe('SIGHUP with 1 worker', () => {
  it('is logged as not applicable and ignored: the server keeps serving, and stops on SIGTERM with exit 0', async () => {
    const run = startCli(['serve', '--port', '0', '--server', 'node', '--lifespan', 'off', '--no-access-log', `${writeApp('node', 'v1')}:app`]);
    running.push(run);
    const url = await waitForUrl(run);
    run.child.kill('SIGHUP');
    await waitForStderr(run, /WARNING: +Received SIGHUP: ignored; with 1 worker there is nothing to replace without dropping connections\./);
    expect((await fetch(url)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 30_000);
});
