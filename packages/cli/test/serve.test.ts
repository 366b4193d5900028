import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { cliRoot, fixtures, killedAfterEach, runCli, startCli, waitForStderr, waitForUrl, type CliRun } from './helpers/spawn-cli.js';

const running = killedAfterEach();

/** Starts `tsgi serve` on an ephemeral port and waits until it listens. */
async function serve(args: string[], opts: { bin?: boolean } = {}): Promise<{ run: CliRun; url: string }> {
  const run = startCli(['serve', '--port', '0', ...args], opts);
  running.push(run);
  const url = await waitForUrl(run);
  return { run, url };
}

async function stop(run: CliRun, signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
  run.child.kill(signal);
  return run.exited;
}

describe('tsgi serve', () => {
  it('serves a .ts ASGI-TS app (detected: async function) and exits 0 on SIGTERM', async () => {
    const { run, url } = await serve([join(fixtures, 'asgi-app.ts')]);
    expect(run.stderr()).toMatch(/Serving ASGI-TS app .*asgi-app\.ts with uws on http:\/\/127\.0\.0\.1:\d+/);
    const res = await fetch(`${url}/hello`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('asgi |/hello');
    expect(await stop(run)).toBe(0);
    expect(run.stderr()).toMatch(/Received SIGTERM/);
  });

  it('serves WebSocket connections of the app on the same port, with the --ws-* flags applied', async () => {
    const { run, url } = await serve(['--ws-max-size', '64', join(cliRoot, '..', '..', 'examples', 'hello', 'app.ts')]);
    const ws = new WebSocket(`${url.replace('http:', 'ws:')}/echo`);
    const messages: string[] = [];
    ws.on('message', (d: Buffer) => messages.push(d.toString()));
    await once(ws, 'open');
    ws.send('hello over ws');
    while (messages.length === 0) await once(ws, 'message');
    expect(messages).toEqual(['hello over ws']);
    ws.send('x'.repeat(65)); // over --ws-max-size
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1009);
    expect(await stop(run)).toBe(0);
  });

  it('serves a .js app declared with three parameters, and exits 0 on SIGINT', async () => {
    const { run, url } = await serve([`${join(fixtures, 'plain-app.js')}:app`]);
    expect(await (await fetch(url)).text()).toBe('js app');
    expect(await stop(run, 'SIGINT')).toBe(0);
  });

  it('serves a fetch handler (default export with a fetch method) through the bridge', async () => {
    const { run, url } = await serve([`${join(fixtures, 'fetch-app.ts')}:default`]);
    expect(run.stderr()).toMatch(/Serving fetch handler/);
    expect(await (await fetch(`${url}/a/b`)).text()).toBe('fetch /a/b');
    expect(await stop(run)).toBe(0);
  });

  it('serves a WSGI-TS app (detected: two parameters) on --server uws through the bridge\'s wsgiToAsgi', async () => {
    const { run, url } = await serve(['--server', 'uws', '--threads', '2', join(fixtures, 'wsgi-app.ts')]);
    expect(run.stderr()).toMatch(/Serving WSGI-TS app .* with uws/);
    expect(await (await fetch(`${url}/abc`)).text()).toBe('wsgi /abc');
    expect(await stop(run)).toBe(0);
  }, 60_000);

  it('--server node serves an ASGI-TS app, a fetch handler and a WSGI-TS app (through the bridge) over HTTP/1.0 too', async () => {
    const cases: Array<[string[], RegExp, string, string]> = [
      [[join(fixtures, 'asgi-app.ts')], /Serving ASGI-TS app .* with node on/, '/hello', 'asgi |/hello'],
      [[`${join(fixtures, 'fetch-app.ts')}:default`], /Serving fetch handler .* with node on/, '/a/b', 'fetch /a/b'],
      [['--threads', '2', join(fixtures, 'wsgi-app.ts')], /Serving WSGI-TS app .* with node on/, '/abc', 'wsgi /abc'],
    ];
    for (const [args, line, path, body] of cases) {
      const { run, url } = await serve(['--server', 'node', ...args]);
      expect(run.stderr()).toMatch(line);
      expect(await (await fetch(`${url}${path}`)).text()).toBe(body);
      // An HTTP/1.0 request, which uWebSockets.js would leave unanswered: answered, and the server closes the connection
      // after it. (The client does not half-close first: node:http, like uvicorn, takes that as the client leaving.)
      const socket = connect(Number(new URL(url).port), '127.0.0.1');
      socket.write(`GET ${path} HTTP/1.0\r\n\r\n`);
      let raw = '';
      socket.setEncoding('latin1').on('data', (d: string) => (raw += d));
      await once(socket, 'close');
      expect(raw.startsWith('HTTP/1.1 200 OK\r\n'), raw).toBe(true);
      expect(raw.endsWith(`\r\n\r\n${body}`), raw).toBe(true);
      expect(await stop(run)).toBe(0);
    }
  }, 90_000);

  it('serves a WSGI-TS app on the pool server by default', async () => {
    const { run, url } = await serve(['--threads', '2', join(fixtures, 'wsgi-app.ts')]);
    expect(run.stderr()).toMatch(/Serving WSGI-TS app .* with pool/);
    expect(await (await fetch(`${url}/x/y`)).text()).toBe('wsgi /x/y');
    expect(await stop(run)).toBe(0);
  }, 60_000);

  it('a signal that arrives while the server starts stops it once started, exit 0', async () => {
    const run = startCli(['serve', '--port', '0', join(fixtures, 'asgi-app.ts')]);
    running.push(run);
    await waitForStderr(run, /Started server process/);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('passes --root-path to the scope (path includes root_path)', async () => {
    const { run, url } = await serve(['--root-path', '/api', join(fixtures, 'asgi-app.ts')]);
    expect(await (await fetch(`${url}/items`)).text()).toBe('asgi /api|/api/items');
    expect(await stop(run)).toBe(0);
  });

  it('graceful shutdown: a request in flight when SIGTERM arrives still completes', async () => {
    const { run, url } = await serve([join(fixtures, 'asgi-app.ts')]);
    const pending = fetch(`${url}/slow`);
    await waitForStderr(run, /slow request started/);
    run.child.kill('SIGTERM');
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('asgi |/slow');
    expect(await run.exited).toBe(0);
  });

  it('a failed lifespan startup prints the app\'s message and exits 3', async () => {
    const r = await runCli(['serve', '--port', '0', join(fixtures, 'failing-startup.ts')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/database unreachable/);
  });

  it('--lifespan off skips the lifespan protocol entirely', async () => {
    const { run, url } = await serve(['--lifespan', 'off', join(fixtures, 'failing-startup.ts')]);
    // The app answers nothing for http: the server's 500, but it is serving.
    expect((await fetch(url)).status).toBe(500);
    expect(await stop(run)).toBe(0);
  });

  it('--limit-max-requests: after N requests the server shuts down gracefully and exits 0', async () => {
    const { run, url } = await serve(['--limit-max-requests', '2', join(fixtures, 'asgi-app.ts')]);
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url)).status).toBe(200);
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toMatch(/Maximum request limit of 2 exceeded/);
  });

  it.each([
    [['--timeout-keep-alive', '3'], /^tsgi: error: --timeout-keep-alive must be 10 \(.*\) or 0 \(no keep-alive\); got 3$/m],
    [['--ws-ping-interval', '1e9'], /^tsgi: error: --ws-ping-interval must be .*; got 1000000000$/m],
  ])('an option the server refuses is a usage error naming the flag typed, exit 2: %j', async (flags, message) => {
    const r = await runCli(['serve', '--port', '0', ...flags, join(fixtures, 'asgi-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/timeoutKeepAlive|wsPingInterval|option '/);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('tsgi: error:'))).toHaveLength(1);
  });

  it('--uds serves on a unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-cli-'));
    const path = join(dir, 'app.sock');
    try {
      const { run, url } = await serve(['--uds', path, join(fixtures, 'asgi-app.ts')]);
      expect(url).toBe(`unix:${path}`);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ socketPath: path, path: '/sock' }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text));
        });
        req.on('error', reject).end();
      });
      expect(body).toBe('asgi |/sock');
      expect(await stop(run)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port already in use: a one-line error, exit 1', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--port', String(port), join(fixtures, 'asgi-app.ts')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/tsgi: error: cannot start the server: could not listen/);
    } finally {
      blocker.close();
    }
  });

  it('the built bin (what pnpm exec tsgi runs) serves too', async () => {
    const { run, url } = await serve([join(fixtures, 'asgi-app.ts')], { bin: true });
    expect(await (await fetch(url)).text()).toBe('asgi |/');
    expect(await stop(run)).toBe(0);
  });
});
