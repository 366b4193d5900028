/**
 * Real clients and proxies that nobody here wrote, at their default settings,
 * in front of `tsgi serve --server node` and `tsgi serve --server uws`
 * (docs/deploying.md, "Which server behind nginx or HAProxy"):
 *
 * - nginx with a plain `proxy_pass` (it speaks HTTP/1.0 to the upstream);
 * - HAProxy with a plain `option httpchk` (its check is `OPTIONS / HTTP/1.0`);
 * - ApacheBench (HTTP/1.0), curl --http1.0, curl -X PROPFIND;
 * - h2load --h1 (pipelined HTTP/1.1).
 *
 * @tsgi/node must serve every one of them. What @tsgi/uws does is recorded as
 * it is today (uWebSockets.js v20.30 refuses HTTP/1.0 and unknown methods,
 * docs/choosing-a-server.md), so a reader choosing a server can read the
 * failure mode from the test names. Where a client would wait for minutes on
 * uws, only its own timeout option bounds it. The tools come from the Debian
 * packages of scripts/system-deps.txt; without them (where the test command
 * could not install them) the suite is skipped, naming the packages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTools } from '../../scripts/system-tools.js';
import { freePort, repoRoot, startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';

const APP = 'examples/test/fixtures/echo-request.ts:app';
/** The documented HAProxy backend for @tsgi/uws (docs/deploying.md mirrors this file). */
const haproxyUwsSample = readFileSync(join(repoRoot, 'examples', 'docs', 'haproxy-uws.cfg'), 'utf8');

const tools = needTools('examples/test/real-clients.test.ts', 'nginx', 'haproxy', 'ab', 'curl', 'h2load');

/** Every child this file started and has not seen exit: afterAll ends them, whatever failed. */
const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

interface RunResult { code: number | null; out: string; err: string; ms: number }

/** Runs a client to its end (killed after `limitMs` as a last resort) and collects its output. */
async function run(command: string, args: readonly string[], limitMs = 30_000): Promise<RunResult> {
  const started = performance.now();
  const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, out, err, ms: performance.now() - started };
}

interface Reply { status: number; text: string; ms: number }

/** One request with node's own client (HTTP/1.1, no keep-alive), for what passes through a proxy. */
function httpRequest(port: number, method: string, path: string, body = ''): Promise<Reply> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, text, ms: performance.now() - started }));
    });
    req.on('error', reject).end(body);
  });
}

/** The state of HAProxy's `backend/server`, polled until it is `expected` (a check may time out once on a loaded machine, and the next one passes). */
async function expectServerState(socketPath: string, name: string, expected: Record<string, string>): Promise<void> {
  await expect
    .poll(async () => {
      const server = (await haproxyStats(socketPath)).get(name)!;
      return Object.fromEntries(Object.keys(expected).map((k) => [k, server[k]]));
    }, { timeout: 15_000, interval: 200 })
    .toEqual(expected);
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (nginx and HAProxy give no readiness signal). */
async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode}):\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true))).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${child.spawnfile} did not listen on ${port}:\n${log()}`);
}

/**
 * HAProxy's `show stat` over its stats socket, one record per `backend/server`, keyed by the CSV's
 * column names. `check_status` loses the `* ` HAProxy puts before it while a check is under way.
 */
async function haproxyStats(socketPath: string): Promise<Map<string, Record<string, string>>> {
  const csv = await new Promise<string>((resolve, reject) => {
    let text = '';
    const s = connect(socketPath, () => s.write('show stat\n'));
    s.setEncoding('utf8').on('data', (d: string) => (text += d));
    s.on('end', () => resolve(text)).on('error', reject);
  });
  const [header, ...rows] = csv.trim().split('\n');
  const names = header!.replace(/^# /, '').split(',');
  const stats = new Map<string, Record<string, string>>();
  for (const row of rows) {
    const fields = row.split(',');
    const record = Object.fromEntries(names.map((n, i) => [n, fields[i] ?? '']));
    record.check_status = record.check_status!.replace(/^\* /, '');
    stats.set(`${record.pxname}/${record.svname}`, record);
  }
  return stats;
}

/** Replaces `from` in `text`, failing when the docs' file no longer has it exactly once. */
function replaceOnce(text: string, from: string, to: string): string {
  if (text.split(from).length !== 2) throw new Error(`expected ${JSON.stringify(from)} once in the docs' file`);
  return text.replace(from, to);
}

interface Seen { method: string; path: string; http_version: string; body_length: number }

/** The app's answer (fixtures/echo-request.ts): what the server handed it. */
const seen = (text: string): Seen => JSON.parse(text) as Seen;

describe.skipIf(tools.skip)(`real clients and proxies at their defaults, in front of tsgi serve --server node and --server uws${tools.note}`, () => {
  let dir: string;
  let node: TsgiProcess;
  let uws: TsgiProcess;
  let nodePort: number;
  let uwsPort: number;
  let nodeAccessLog = '';
  let nginxLog = '';
  let haproxyLog = '';
  /** nginx: plain proxy_pass to node, plain proxy_pass to uws, and proxy_http_version 1.1 to uws. */
  const nginxPorts = { node: 0, uws: 0, uws11: 0 };
  /** HAProxy: plain option httpchk to node and to uws, the documented HTTP/1.1 check to uws, its older form to uws. */
  const haproxyPorts = { node: 0, uws: 0, uwsDocumented: 0, uwsOldForm: 0 };
  let statsSocket: string;
  // The two requests that wait for uWebSockets.js's idle timeout, started together once HAProxy's checks
  // settled, so the file waits for that timeout once. Their tests await them.
  let uwsViaNginx: Promise<Reply>;
  let uwsViaHaproxyHttp10: Promise<RunResult>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-real-clients-'));
    const servers = await Promise.allSettled((['node', 'uws'] as const).map((s) => startTsgi(['serve', APP, '--server', s, '--port', '0'])));
    for (const s of servers) if (s.status === 'fulfilled') track(s.value.child);
    for (const s of servers) if (s.status === 'rejected') throw s.reason;
    [node, uws] = servers.map((s) => (s as PromiseFulfilledResult<TsgiProcess>).value) as [TsgiProcess, TsgiProcess];
    node.child.stdout!.setEncoding('utf8').on('data', (d: string) => (nodeAccessLog += d)); // uvicorn's access lines go to stdout
    nodePort = Number(new URL(node.url).port);
    uwsPort = Number(new URL(uws.url).port);
    for (const k of Object.keys(nginxPorts) as (keyof typeof nginxPorts)[]) nginxPorts[k] = await freePort();
    for (const k of Object.keys(haproxyPorts) as (keyof typeof haproxyPorts)[]) haproxyPorts[k] = await freePort();

    // nginx: nothing but proxy_pass in each location, so nginx's defaults apply (HTTP/1.0 upstream,
    // proxy_read_timeout 60s). The lines around them only keep nginx in this temp prefix, in the
    // foreground, one process, logging errors to stderr.
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`);
    writeFileSync(join(dir, 'nginx.conf'), [
      'daemon off;', 'master_process off;', `pid ${join(dir, 'nginx.pid')};`, 'error_log stderr warn;',
      'events { worker_connections 64; }',
      'http {', '    access_log off;', ...temp,
      `    server { listen 127.0.0.1:${nginxPorts.node}; location / { proxy_pass http://127.0.0.1:${nodePort}; } }`,
      `    server { listen 127.0.0.1:${nginxPorts.uws}; location / { proxy_pass http://127.0.0.1:${uwsPort}; } }`,
      `    server { listen 127.0.0.1:${nginxPorts.uws11}; location / { proxy_pass http://127.0.0.1:${uwsPort}; proxy_http_version 1.1; } }`,
      '}', '',
    ].join('\n'));
    const nginx = track(spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] }));
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxLog += d));

    // HAProxy: `option httpchk` as written in most configs. `mode http` makes it an HTTP proxy (the
    // 503 page); the timeouts only silence HAProxy's warning about having none. `inter 200ms` (default
    // 2s) makes the checks settle in about a second; without `timeout check`, HAProxy also waits
    // `inter` for a check's answer, so a check that gets none fails after 200 ms instead of 2 s.
    statsSocket = join(dir, 'haproxy.sock');
    const documented = replaceOnce(haproxyUwsSample, 'server app1 127.0.0.1:8000 check', `server app1 127.0.0.1:${uwsPort} check inter 200ms`);
    writeFileSync(join(dir, 'haproxy.cfg'), [
      'global', `    stats socket ${statsSocket}`,
      'defaults', '    mode http', '    timeout connect 5s', '    timeout client 30s', '    timeout server 30s',
      'frontend to_node', `    bind 127.0.0.1:${haproxyPorts.node}`, '    default_backend node_plain',
      'frontend to_uws', `    bind 127.0.0.1:${haproxyPorts.uws}`, '    default_backend uws_plain',
      'frontend to_uws_documented', `    bind 127.0.0.1:${haproxyPorts.uwsDocumented}`, '    default_backend tsgi_uws',
      'frontend to_uws_old_form', `    bind 127.0.0.1:${haproxyPorts.uwsOldForm}`, '    default_backend uws_old_form',
      'backend node_plain', '    option httpchk', `    server app 127.0.0.1:${nodePort} check inter 200ms`,
      'backend uws_plain', '    option httpchk', `    server app 127.0.0.1:${uwsPort} check inter 200ms`,
      // The form of HAProxy before 2.2 (2.6 takes it with a deprecation warning), named in docs/deploying.md.
      'backend uws_old_form', '    option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost', `    server app 127.0.0.1:${uwsPort} check inter 200ms`,
      documented, '',
    ].join('\n'));
    const haproxy = track(spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    haproxy.stdout!.setEncoding('utf8').on('data', (d: string) => (haproxyLog += d));
    haproxy.stderr!.setEncoding('utf8').on('data', (d: string) => (haproxyLog += d));

    await waitForPort(nginxPorts.node, nginx, () => nginxLog);
    await waitForPort(haproxyPorts.node, haproxy, () => haproxyLog);
    // The checks settle: wait until every server has a check result and the plain uws one fell (3 failed
    // checks), or 10 s. The tests then read the state as it is; they do not wait for what they assert.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const stats = await haproxyStats(statsSocket);
      const servers = ['node_plain/app', 'uws_plain/app', 'tsgi_uws/app1', 'uws_old_form/app'].map((k) => stats.get(k));
      const settled = servers.every((s) => s !== undefined && s.check_status !== '' && (s.status === 'UP' || s.status === 'DOWN'));
      if ((settled && stats.get('uws_plain/app')!.status === 'DOWN') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    uwsViaNginx = httpRequest(nginxPorts.uws, 'POST', '/via-nginx', 'abc');
    uwsViaNginx.catch(() => {}); // its test reports a failure
    uwsViaHaproxyHttp10 = run('curl', ['-sS', '--http1.0', '-w', '%{http_code}', `http://127.0.0.1:${haproxyPorts.uwsDocumented}/ten`]);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM'); // tsgi: graceful shutdown; nginx and HAProxy: fast shutdown
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  describe('nginx with a plain proxy_pass (nginx speaks HTTP/1.0 to the upstream)', () => {
    it('node: 200 with the app\'s body; the app saw HTTP/1.0 and the whole request body', async () => {
      const reply = await httpRequest(nginxPorts.node, 'POST', '/via-nginx', 'abc');
      expect(reply.status).toBe(200);
      expect(seen(reply.text)).toEqual({ method: 'POST', path: '/via-nginx', http_version: '1.0', body_length: 3 });
    });

    it('uws: no answer; the request hangs until uWebSockets.js drops the idle connection (8 to 12 s), then nginx answers 502', async () => {
      const reply = await uwsViaNginx;
      expect(reply.status).toBe(502);
      expect(reply.text).toContain('502 Bad Gateway');
      // Not nginx's own proxy_read_timeout (60 s): uWebSockets.js closes the connection it never
      // answered after its fixed idle timeout (10 s, counted in ticks of 4 s).
      expect(reply.ms).toBeGreaterThan(5_000);
      expect(reply.ms).toBeLessThan(30_000);
      expect(nginxLog).toContain('upstream prematurely closed connection while reading response header from upstream');
    }, 40_000);

    it('uws with proxy_http_version 1.1 (docs/deploying.md): 200 with the app\'s body, also for an HTTP/1.0 client', async () => {
      const reply = await httpRequest(nginxPorts.uws11, 'POST', '/via-nginx', 'abc');
      expect(reply.status).toBe(200);
      expect(seen(reply.text)).toEqual({ method: 'POST', path: '/via-nginx', http_version: '1.1', body_length: 3 });
      const { code, out, err } = await run('curl', ['-sS', '--http1.0', '--max-time', '5', '-d', 'hello', '-w', '%{http_code}', `http://127.0.0.1:${nginxPorts.uws11}/ten`]);
      expect(code, err).toBe(0);
      expect(out.slice(-3)).toBe('200');
      expect(seen(out.slice(0, -3))).toEqual({ method: 'POST', path: '/ten', http_version: '1.1', body_length: 5 });
    });
  });

  describe('HAProxy with a plain option httpchk (its check is OPTIONS / HTTP/1.0)', () => {
    it('node: the server is UP (the check got 200 from the app) and a request through HAProxy gets 200', async () => {
      await expectServerState(statsSocket, 'node_plain/app', { status: 'UP', check_status: 'L7OK', check_code: '200' });
      expect(nodeAccessLog).toMatch(/"OPTIONS \/ HTTP\/1\.0" 200/); // the default check, answered by the app
      const reply = await httpRequest(haproxyPorts.node, 'GET', '/via-haproxy');
      expect(reply.status).toBe(200);
      expect(seen(reply.text)).toMatchObject({ method: 'GET', path: '/via-haproxy' });
    });

    it('uws: the check gets no answer (Layer7 timeout), the server is marked DOWN and HAProxy answers 503', async () => {
      const server = (await haproxyStats(statsSocket)).get('uws_plain/app')!;
      expect({ status: server.status, check: server.check_status }).toEqual({ status: 'DOWN', check: 'L7TOUT' });
      expect(haproxyLog).toMatch(/Server uws_plain\/app is DOWN, reason: Layer7 timeout/);
      const reply = await httpRequest(haproxyPorts.uws, 'GET', '/via-haproxy');
      expect(reply.status).toBe(503);
      expect(reply.text).toContain('No server is available to handle this request.');
    });

    it('uws with the HTTP/1.1 check of docs/deploying.md (http-check send ... ver HTTP/1.1): UP and 200', async () => {
      await expectServerState(statsSocket, 'tsgi_uws/app1', { status: 'UP', check_status: 'L7OK', check_code: '200' });
      const reply = await httpRequest(haproxyPorts.uwsDocumented, 'GET', '/via-haproxy');
      expect(reply.status).toBe(200);
      expect(seen(reply.text)).toMatchObject({ method: 'GET', path: '/via-haproxy', http_version: '1.1' });
    });

    it('uws with the documented check: an HTTP/1.0 client through HAProxy still gets no answer (HAProxy forwards its version), then 502 once uWebSockets.js drops the connection', async () => {
      const { code, out, err, ms } = await uwsViaHaproxyHttp10;
      expect(code, err).toBe(0);
      expect(out.slice(-3)).toBe('502');
      expect(out).toContain('The server returned an invalid or incomplete response.');
      expect(ms).toBeGreaterThan(5_000);
      expect(ms).toBeLessThan(30_000); // HAProxy's timeout server is 30 s: this is uWebSockets.js closing
    }, 40_000);

    it('uws with the older one-line form (option httpchk GET /health HTTP/1.1\\r\\nHost:\\ localhost): UP and 200', async () => {
      await expectServerState(statsSocket, 'uws_old_form/app', { status: 'UP', check_status: 'L7OK', check_code: '200' });
      expect((await httpRequest(haproxyPorts.uwsOldForm, 'GET', '/via-haproxy')).status).toBe(200);
    });
  });

  describe('ApacheBench: ab -n 500 -c 10 (HTTP/1.0)', () => {
    it('node: 500 complete, 0 failed, 0 non-2xx', async () => {
      const { code, out, err } = await run('ab', ['-n', '500', '-c', '10', `http://127.0.0.1:${nodePort}/`]);
      expect(code, err).toBe(0);
      expect(out).toMatch(/^Complete requests:\s+500$/m);
      expect(out).toMatch(/^Failed requests:\s+0$/m);
      expect(out).not.toMatch(/^Non-2xx responses:/m); // ab prints the line only when some were
      expect(out).toMatch(/^Document Length:\s+\d+ bytes$/m);
    });

    it('uws: not one request completes; ab gives up when its -s 2 timeout expires', async () => {
      const { code, out, err } = await run('ab', ['-n', '500', '-c', '10', '-s', '2', `http://127.0.0.1:${uwsPort}/`]);
      expect(code).not.toBe(0);
      expect(err).toContain('apr_pollset_poll: The timeout specified has expired (70007)');
      expect(out).not.toMatch(/Complete requests|Total of \d+ requests completed/);
    });
  });

  describe('curl --http1.0', () => {
    it('node: 200 with the app\'s body (HTTP/1.0, the request body read)', async () => {
      const { code, out, err } = await run('curl', ['-sS', '--http1.0', '-d', 'hello', '-w', '%{http_code}', `http://127.0.0.1:${nodePort}/ten`]);
      expect(code, err).toBe(0);
      expect(out.slice(-3)).toBe('200');
      expect(seen(out.slice(0, -3))).toEqual({ method: 'POST', path: '/ten', http_version: '1.0', body_length: 5 });
    });

    it('uws: no answer; curl times out (--max-time 3) with 0 bytes received', async () => {
      const { code, out, err } = await run('curl', ['-sS', '--http1.0', '--max-time', '3', '-d', 'hello', '-w', '%{http_code}', `http://127.0.0.1:${uwsPort}/ten`]);
      expect(code).toBe(28); // CURLE_OPERATION_TIMEDOUT
      expect(out).toBe('000');
      expect(err).toMatch(/Operation timed out after \d+ milliseconds with 0 bytes received/);
    });
  });

  describe('curl -X PROPFIND', () => {
    it('node: 200, the app saw method PROPFIND', async () => {
      const { code, out, err } = await run('curl', ['-sS', '-X', 'PROPFIND', '-w', '%{http_code}', `http://127.0.0.1:${nodePort}/dav/`]);
      expect(code, err).toBe(0);
      expect(out.slice(-3)).toBe('200');
      expect(seen(out.slice(0, -3))).toEqual({ method: 'PROPFIND', path: '/dav/', http_version: '1.1', body_length: 0 });
    });

    it('uws: the connection is closed at once without a response (curl: empty reply from server)', async () => {
      const { code, out, err, ms } = await run('curl', ['-sS', '-X', 'PROPFIND', '--max-time', '5', '-w', '%{http_code}', `http://127.0.0.1:${uwsPort}/dav/`]);
      expect(code).toBe(52); // CURLE_GOT_NOTHING
      expect(out).toBe('000');
      expect(err).toContain('Empty reply from server');
      expect(ms).toBeLessThan(4_000); // closed, not timed out
    });
  });

  describe('h2load --h1 -n 200 -c 2 -m 8 (8 requests pipelined per connection)', () => {
    const h2load = (port: number) => run('h2load', ['--h1', '-n', '200', '-c', '2', '-m', '8', `http://127.0.0.1:${port}/`]);

    it('node: all 200 succeed', async () => {
      const { code, out, err } = await h2load(nodePort);
      expect(code, err).toBe(0);
      expect(out).toMatch(/^requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored, 0 timeout$/m);
      expect(out).toMatch(/^status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx$/m);
    });

    it('uws: all 200 succeed too, because this app answers without awaiting I/O (docs/choosing-a-server.md, Pipelining)', async () => {
      const { code, out, err } = await h2load(uwsPort);
      expect(code, err).toBe(0);
      expect(out).toMatch(/^requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed, 0 errored, 0 timeout$/m);
      expect(out).toMatch(/^status codes: 200 2xx, 0 3xx, 0 4xx, 0 5xx$/m);
    });
  });
});
