/**
 * What a user of `tsgi serve` sees, on each server, with real clients:
 * uvicorn's start and stop lines, the access lines of requests and
 * WebSockets (with the client's real port where the transport gives it),
 * the response headers of --header/--server-header/--date-header, and the
 * flags that change how the app is found and loaded.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { cliRoot, fixtures, killedAfterEach, runCli, startCli, waitForStderr, waitForUrl, type CliRun } from './helpers/spawn-cli.js';

const running = killedAfterEach();
const scratch = mkdtempSync(join(tmpdir(), 'tsgi-cli-flags-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function serve(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ run: CliRun; url: string }> {
  const run = startCli(['serve', '--port', '0', ...args], opts);
  running.push(run);
  return { run, url: await waitForUrl(run) };
}

async function stop(run: CliRun): Promise<number> {
  run.child.kill('SIGTERM');
  return run.exited;
}

/** A GET whose client port is known: the response's headers and body, and the port it came from. */
function get(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; port: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, port }));
    });
    let port = 0;
    req.on('socket', (s) => s.once('connect', () => (port = s.localPort!)));
    req.on('error', reject).end();
  });
}

/** Opens a WebSocket; resolves with it and its local port once open, or with the refusal's status. */
function openWs(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ ws: WebSocket; port: number; headers: IncomingHttpHeaders } | { status: number }> {
  const ws = new WebSocket(url, undefined, options);
  return new Promise((resolve, reject) => {
    ws.on('upgrade', (res) => {
      ws.once('open', () => resolve({ ws, port: (ws as unknown as { _socket: { localPort: number } })._socket.localPort, headers: res.headers }));
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode! });
      res.resume();
    });
    ws.on('error', reject);
  });
}

/** The INFO lines of `text`, without the prefix. */
function infoOf(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('INFO:     '))
    .map((l) => l.slice(10));
}

/** The INFO lines on stderr; the access lines (stdout). */
const infoLines = (run: CliRun): string[] => infoOf(run.stderr());
const accessLines = (run: CliRun): string[] => infoOf(run.stdout());

async function waitForAccess(run: CliRun, pattern: RegExp): Promise<void> {
  const until = Date.now() + 5000;
  while (!accessLines(run).some((l) => pattern.test(l))) {
    if (Date.now() > until) throw new Error(`no access line ${pattern} in:\n${run.stdout()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** uvicorn's start and stop lines, the same on every server (only the running line names it), after a SIGTERM. */
function expectStartAndStop(run: CliRun, server: string, url: string): void {
  const pid = run.child.pid!;
  const lines = infoLines(run);
  expect(lines.slice(0, 4)).toEqual([
    `Started server process [${pid}]`,
    'Waiting for application startup.',
    'Application startup complete.',
    `tsgi (${server}) running on ${url} (Press CTRL+C to quit)`,
  ]);
  expect(lines.slice(-5)).toEqual([
    'Received SIGTERM: shutting down gracefully.',
    'Shutting down',
    'Waiting for application shutdown.',
    'Application shutdown complete.',
    `Finished server process [${pid}]`,
  ]);
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.each([
  ['uws', 'uWebSockets.js'],
  ['node', 'node:http'],
])('--server %s: the log lines', (server, transport) => {
  it('the start and stop lines, and an access line for each request and each WebSocket (accepted, refused, closed)', async () => {
    const { run, url } = await serve(['--server', server, join(fixtures, 'ws-app.ts')]);
    const ws = url.replace('http:', 'ws:');
    const http = await get(`${url}/page`);
    expect(http.body).toBe('ok');
    const opened = await openWs(`${ws}/chat?room=1`);
    if (!('ws' in opened)) throw new Error(`refused with ${opened.status}`);
    opened.ws.close(1000);
    await once(opened.ws, 'close');
    expect(await openWs(`${ws}/admin`)).toEqual({ status: 403 });
    expect(await openWs(`${ws}/deny`)).toEqual({ status: 401 });
    // A handshake the server refuses before the app (RFC 6455 version 8): logged with its status too.
    expect(await openWs(`${ws}/old`, { protocolVersion: 8 })).toEqual({ status: 426 });
    await waitForAccess(run, /"WebSocket \/chat\?room=1" \[closed 1000\]/);
    await waitForAccess(run, /"WebSocket \/old" 426/);
    expect(await stop(run)).toBe(0);

    // uWebSockets.js v20.30 gives no peer port: the address alone. node:http gives the real one.
    const client = (port: number) => (server === 'uws' ? '127.0.0.1' : `127.0.0.1:${port}`);
    const ms = String.raw` \d+\.\dms`;
    const access = accessLines(run);
    expect(access).toHaveLength(6);
    expect(access[0]).toMatch(new RegExp(`^${esc(client(http.port))} - "GET /page HTTP/1\\.1" 200${ms}$`));
    expect(access[1]).toMatch(new RegExp(`^${esc(client(opened.port))} - "WebSocket /chat\\?room=1" \\[accepted\\]${ms}$`));
    expect(access[2]).toMatch(new RegExp(`^${esc(client(opened.port))} - "WebSocket /chat\\?room=1" \\[closed 1000\\]${ms}$`));
    expect(access[3]).toMatch(new RegExp(`^127\\.0\\.0\\.1(:\\d+)? - "WebSocket /admin" 403${ms}$`));
    expect(access[4]).toMatch(new RegExp(`^127\\.0\\.0\\.1(:\\d+)? - "WebSocket /deny" 401${ms}$`));
    expect(access[5]).toMatch(new RegExp(`^127\\.0\\.0\\.1(:\\d+)? - "WebSocket /old" 426${ms}$`));

    expectStartAndStop(run, transport, url);
  });

  it('--no-access-log: no access line for requests or WebSockets', async () => {
    const { run, url } = await serve(['--server', server, '--no-access-log', join(fixtures, 'ws-app.ts')]);
    await get(url);
    const opened = await openWs(`${url.replace('http:', 'ws:')}/chat`);
    if ('ws' in opened) {
      opened.ws.close(1000);
      await once(opened.ws, 'close');
    }
    expect(await stop(run)).toBe(0);
    expect(accessLines(run)).toEqual([]);
  });
});

describe('the log samples of docs/cli.md', () => {
  /** A sample line as a pattern: numbers (pid, port, time) and the app's path may differ. */
  const pattern = (line: string): RegExp => new RegExp(`^${esc(line).replace(/\d+/g, '\\d+').replace(/app\\\.ts/g, '\\S+')}$`);

  it('examples/docs/cli-log.txt is what --server node prints for the requests it shows, in order', async () => {
    const sample = readFileSync(join(cliRoot, '..', '..', 'examples', 'docs', 'cli-log.txt'), 'utf8').trimEnd().split('\n');
    const { run, url } = await serve(['--server', 'node', join(fixtures, 'ws-app.ts')]);
    await get(url);
    const opened = await openWs(`${url.replace('http:', 'ws:')}/ws`);
    if (!('ws' in opened)) throw new Error('refused');
    opened.ws.close(1000);
    await once(opened.ws, 'close');
    await openWs(`${url.replace('http:', 'ws:')}/admin`);
    await waitForAccess(run, /"WebSocket \/admin" 403/);
    expect(await stop(run)).toBe(0);
    const printed = (text: string) => text.split('\n').filter((l) => l !== '');
    // stderr and stdout interleave as the terminal shows them; each keeps the sample's order.
    const isAccess = (line: string) => line.includes(' - "');
    for (const [lines, sampled] of [
      [printed(run.stderr()), sample.filter((l) => !isAccess(l))],
      [printed(run.stdout()), sample.filter(isAccess)],
    ] as const) {
      expect(lines.length).toBe(sampled.length);
      sampled.forEach((line, i) => expect(lines[i], `sample line ${JSON.stringify(line)}`).toMatch(pattern(line)));
    }
  });
});

describe('--server pool: the log lines', () => {
  it("the same start and stop lines, and access lines with the client's port", async () => {
    const { run, url } = await serve(['--threads', '2', join(fixtures, 'wsgi-app.ts')]);
    const res = await get(`${url}/x`);
    expect(res.body).toBe('wsgi /x');
    await waitForAccess(run, /GET \/x/);
    expect(await stop(run)).toBe(0);
    expect(accessLines(run)).toEqual([expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${res.port} - "GET /x HTTP/1\\.1" 200 \\d+\\.\\dms$`))]);
    expectStartAndStop(run, 'pool, 2 worker threads', url);
  }, 30_000);
});

describe('colors and --log-config', () => {
  it('plain levels when the output is not a terminal; colored with --use-colors', async () => {
    const plain = await serve([join(fixtures, 'asgi-app.ts')]);
    expect(await stop(plain.run)).toBe(0);
    expect(plain.run.stderr()).not.toContain('\x1b[');
    const colored = await serve(['--use-colors', join(fixtures, 'asgi-app.ts')]);
    await get(colored.url);
    expect(await stop(colored.run)).toBe(0);
    expect(colored.run.stderr()).toContain('\x1b[32mINFO\x1b[0m:     Started server process');
    expect(colored.run.stdout()).toMatch(/^\x1b\[32mINFO\x1b\[0m: {5}127\.0\.0\.1 - "GET \/ HTTP\/1\.1" 200/m);
  });

  it('--log-config with format json: every line a JSON object; --log-level wins over its level', async () => {
    const config = join(scratch, 'log.json');
    writeFileSync(config, JSON.stringify({ level: 'warning', format: 'json' }));
    const run = startCli(['serve', '--port', '0', '--log-config', config, '--log-level', 'info', '--server', 'node', join(fixtures, 'asgi-app.ts')]);
    running.push(run);
    const url = (await waitForStderr(run, /"message":"Serving .* on (http:\/\/[\d.]+:\d+)"/))[1]!;
    await get(url);
    expect(await stop(run)).toBe(0);
    const err = run.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(err[0]).toMatchObject({ level: 'info', logger: 'tsgi.error', message: `Started server process [${run.child.pid}]` });
    expect(err.at(-1)).toMatchObject({ message: `Finished server process [${run.child.pid}]` });
    const out = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(out).toEqual([expect.objectContaining({ level: 'info', logger: 'tsgi.access', message: expect.stringMatching(/"GET \/ HTTP\/1\.1" 200/) })]);
  });
});

describe('--workers and the log settings', () => {
  it('the worker threads log in the --log-config format too (they cannot be handed the logger)', async () => {
    const config = join(scratch, 'log-workers.json');
    writeFileSync(config, JSON.stringify({ format: 'json' }));
    const run = startCli(['serve', '--port', '0', '--workers', '2', '--log-config', config, join(fixtures, 'asgi-app.ts')]);
    running.push(run);
    const url = (await waitForStderr(run, /"message":"Serving .* on (http:\/\/[\d.]+:\d+)"/))[1]!;
    await get(url);
    expect(await stop(run)).toBe(0);
    const err = run.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    // Each worker's own lines, tagged with its name, are JSON as well.
    expect(err.filter((r) => /^\[worker \d+\] Started server process/.test(r.message!))).toHaveLength(2);
    const out = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(out).toEqual([expect.objectContaining({ logger: 'tsgi.access', message: expect.stringMatching(/\[worker \d+\] 127\.0\.0\.1 - "GET \/ HTTP\/1\.1" 200/) })]);
  }, 30_000);
});

describe('response headers', () => {
  it.each(['uws', 'node'])("--server %s: server: tsgi and a date by default, on responses and on the WebSocket's 101", async (server) => {
    const { run, url } = await serve(['--server', server, join(fixtures, 'ws-app.ts')]);
    const res = await get(url);
    expect(res.headers.server).toBe('tsgi');
    expect(Date.parse(res.headers.date!)).not.toBeNaN();
    const opened = await openWs(url.replace('http:', 'ws:'));
    if (!('ws' in opened)) throw new Error('refused');
    expect(opened.headers.server).toBe('tsgi');
    opened.ws.close();
    expect(await stop(run)).toBe(0);
  });

  it.each(['uws', 'node', 'pool'])('--server %s: --header adds headers in order; a server one replaces the default', async (server) => {
    const app = server === 'pool' ? join(fixtures, 'wsgi-app.ts') : join(fixtures, 'asgi-app.ts');
    const { run, url } = await serve(['--server', server, '--threads', '1', '--header', 'X-Frame-Options: DENY', '--header', 'server:edge', app]);
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers.server).toBe('edge');
    expect(await stop(run)).toBe(0);
  }, 30_000);

  it.each(['node', 'pool'])('--server %s: --no-server-header and --no-date-header leave both out', async (server) => {
    const app = server === 'pool' ? join(fixtures, 'wsgi-app.ts') : join(fixtures, 'asgi-app.ts');
    const { run, url } = await serve(['--server', server, '--threads', '1', '--no-server-header', '--no-date-header', app]);
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.headers.server).toBeUndefined();
    expect(res.headers.date).toBeUndefined();
    expect(await stop(run)).toBe(0);
  }, 30_000);

  it('--server uws: --no-date-header is refused (uWebSockets.js writes Date itself), exit 2', async () => {
    const r = await runCli(['serve', '--port', '0', '--no-date-header', join(fixtures, 'asgi-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tsgi: error: --no-date-header cannot apply to --server uws: uWebSockets\.js v20\.30 writes the Date header of every response itself; use --server node or --server pool$/m);
  });

  it('a header the server would refuse is a usage error naming --header, exit 2', async () => {
    const r = await runCli(['serve', '--port', '0', '--header', 'bad name: x', join(fixtures, 'asgi-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tsgi: error: --header must be header names that are tokens \(RFC 9110 section 5\.1\); got bad name$/m);
  });
});

describe('finding and loading the app', () => {
  it('--app-dir: the module path is resolved from it', async () => {
    const { run, url } = await serve(['--app-dir', 'test/fixtures', 'asgi-app.ts']);
    expect((await get(`${url}/a`)).body).toBe('asgi |/a');
    expect(await stop(run)).toBe(0);
  });

  it.each([
    ['uws', 'createApp', /^asgi from factory, made at \d+$/],
    ['node', 'createApp', /^asgi from factory/],
    ['pool', 'createSync', /^wsgi from factory$/],
  ])('--factory on --server %s: the export is called (on the pool, by every thread) and its app served', async (server, name, body) => {
    const { run, url } = await serve(['--server', server, '--threads', '2', '--factory', `${join(fixtures, 'factory-app.ts')}:${name}`]);
    expect((await get(url)).body).toMatch(body);
    expect(await stop(run)).toBe(0);
  }, 30_000);

  it('without --factory a factory is not an app: the message says so', async () => {
    const r = await runCli(['serve', '--port', '0', `${join(fixtures, 'factory-app.ts')}:createApp`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--interface/);
  });

  it('--factory with an export that is not a function: one line naming it, exit 2', async () => {
    const r = await runCli(['serve', '--port', '0', '--factory', join(fixtures, 'not-an-app.ts')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tsgi: error: export "app" of .*not-an-app\.ts must be a function that returns the app \(factory\); got number$/m);
  });

  it.each([
    ['uws', 'app'],
    ['pool', 'sync'],
  ])('--env-file on --server %s: its variables reach the app (on the pool, its threads); one already set wins', async (server, name) => {
    const env = join(scratch, '.env');
    writeFileSync(env, 'GREETING="hello from .env"\nOTHER=1\n');
    const app = `${join(fixtures, 'env-app.ts')}:${name}`;
    const a = await serve(['--server', server, '--threads', '1', '--env-file', env, app]);
    expect((await get(a.url)).body).toBe('hello from .env');
    expect(await stop(a.run)).toBe(0);
    const b = await serve(['--server', server, '--threads', '1', '--env-file', env, app], { env: { GREETING: 'from the shell' } });
    expect((await get(b.url)).body).toBe('from the shell');
    expect(await stop(b.run)).toBe(0);
  }, 30_000);

  it('tsgi serve --version prints the version, exit 0', async () => {
    const r = await runCli(['serve', '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tsgi \d+\.\d+\.\d+ \(Node\.js v\d+/);
  });
});
