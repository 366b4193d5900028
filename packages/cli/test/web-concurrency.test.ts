/**
 * $WEB_CONCURRENCY, which many hosting platforms set, is only the default of --workers (as in uvicorn
 * and gunicorn): where workers cannot apply the server still starts, with one worker and one warning
 * saying why. An explicit --workers keeps its refusals. Every run gets its environment from the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures, killedAfterEach, runCli, startCli, waitForStderr, waitForUrl } from './helpers/spawn-cli.js';

const running = killedAfterEach();

const asgi = join(fixtures, 'asgi-app.ts');
const wsgi = join(fixtures, 'wsgi-app.ts');
const fetchApp = `${join(fixtures, 'fetch-app.ts')}:default`;
/** Serves with `env`, checks the app answers `path` with `body`, stops it, and returns what it logged. */
async function serveWith(args: string[], env: NodeJS.ProcessEnv, path: string, body: string): Promise<string> {
  const run = startCli(['serve', '--port', '0', ...args], { env });
  running.push(run);
  const url = await waitForUrl(run);
  expect(await (await fetch(`${url}${path}`)).text()).toBe(body);
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  return run.stderr();
}

function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('WARNING:'));
}

describe('WEB_CONCURRENCY that cannot apply: one worker and one warning', () => {
  it('a WSGI-TS app under --server uws (through the bridge)', async () => {
    const stderr = await serveWith(['--server', 'uws', '--threads', '2', wsgi], { WEB_CONCURRENCY: '4' }, '/b', 'wsgi /b');
    expect(warnings(stderr)).toEqual([
      'WARNING:  WEB_CONCURRENCY=4 is ignored: workers need an ASGI-TS app; a WSGI-TS app scales with --threads. Serving with 1 worker.',
    ]);
  }, 60_000);

  it('a fetch handler', async () => {
    const stderr = await serveWith([fetchApp], { WEB_CONCURRENCY: '3' }, '/c', 'fetch /c');
    expect(warnings(stderr)).toEqual([
      'WARNING:  WEB_CONCURRENCY=3 is ignored: workers need an ASGI-TS app; for a fetch handler run one process per core. Serving with 1 worker.',
    ]);
  });

  it('an ASGI-TS app with --limit-max-requests: the workers apply, each replaced once it reaches the limit', async () => {
    const run = startCli(['serve', '--port', '0', '--limit-max-requests', '1', asgi], { env: { WEB_CONCURRENCY: '2' } });
    running.push(run);
    const url = await waitForUrl(run);
    expect((await fetch(url)).status).toBe(200);
    await waitForStderr(run, /Worker thread \d+ reached its request limit; it will be replaced\./);
    expect((await fetch(url)).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(warnings(run.stderr())).toEqual([]);
  });

  it('the warning follows --log-level: none at error', async () => {
    // At error level nothing says where it listens: serve on a unix socket and wait until it answers.
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-cli-'));
    const path = join(dir, 'app.sock');
    try {
      const run = startCli(['serve', '--uds', path, '--log-level', 'error', fetchApp], { env: { WEB_CONCURRENCY: '2' } });
      running.push(run);
      let status = 0;
      while (status !== 200 && run.child.exitCode === null) {
        status = await getStatus(path).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return 0;
        });
      }
      expect(status).toBe(200);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      expect(run.stderr()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The status of GET / over a unix socket. */
function getStatus(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path: '/' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject).end();
  });
}

describe('WEB_CONCURRENCY that applies, or is not used', () => {
  it('an ASGI-TS app on @tsgi/uws runs that many workers, without a warning', async () => {
    const stderr = await serveWith([asgi], { WEB_CONCURRENCY: '2' }, '/f', 'asgi |/f');
    expect(warnings(stderr)).toEqual([]);
    expect(stderr).toMatch(/uWebSockets\.js, 2 workers/);
  });

  it('an ASGI-TS app on @tsgi/node runs that many worker processes, without a warning', async () => {
    const stderr = await serveWith(['--server', 'node', asgi], { WEB_CONCURRENCY: '2' }, '/n', 'asgi |/n');
    expect(warnings(stderr)).toEqual([]);
    expect(stderr).toMatch(/node:http, 2 worker processes/);
    // Each worker process logs its own start, as uvicorn's do.
    expect(stderr.match(/Started server process \[\d+\]/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('a WSGI-TS app on the pool server runs that many processes, each with its --threads, without a warning', async () => {
    const stderr = await serveWith(['--threads', '2', wsgi], { WEB_CONCURRENCY: '2' }, '/a', 'wsgi /a');
    expect(warnings(stderr)).toEqual([]);
    expect(stderr).toMatch(/tsgi \(pool, 2 worker processes\) running on /);
    expect(stderr.match(/tsgi \(pool, 2 worker threads\) running on /g)).toHaveLength(2);
  }, 60_000);

  it('WEB_CONCURRENCY=1, or an explicit --workers, gives no warning', async () => {
    expect(warnings(await serveWith([fetchApp], { WEB_CONCURRENCY: '1' }, '/g', 'fetch /g'))).toEqual([]);
    // --workers wins, as in uvicorn: WEB_CONCURRENCY is not even read, so a bad value does not matter.
    expect(warnings(await serveWith(['--workers', '1', fetchApp], { WEB_CONCURRENCY: 'lots' }, '/h', 'fetch /h'))).toEqual([]);
  });
});

describe('refusals', () => {
  it.each(['0', 'two', '-1', '2.5'])('WEB_CONCURRENCY=%s: one line naming the variable and the value, exit 2', async (value) => {
    const r = await runCli(['serve', '--port', '0', asgi], { env: { WEB_CONCURRENCY: value } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`tsgi: error: WEB_CONCURRENCY must be a positive integer (the default number of --workers); got ${JSON.stringify(value)}`);
  });

  const explicit: [string[], RegExp][] = [
    [[fetchApp], /^tsgi: error: --workers > 1 needs an ASGI-TS app; for a fetch handler run one process per core$/m],
  ];
  it.each(explicit)('an explicit --workers 2 that cannot apply is still refused: %j', async (args, message) => {
    const r = await runCli(['serve', '--port', '0', '--workers', '2', ...args], { env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('tsgi: error:'))).toHaveLength(1);
  });
});
