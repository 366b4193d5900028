/**
 * docs/deploying.md's nginx configuration, run for real: Debian's nginx (a
 * non-daemon child with a temp prefix, loopback only) in front of two tsgi
 * processes on unix sockets (started with the systemd unit's ExecStart) and
 * one @tsgi/pool process on TCP (started with the guide's command). The
 * client connects from 127.0.0.3, so the address the app sees proves the
 * proxy headers were honoured.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeArgs } from '@tsgi/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTools } from '../../scripts/system-tools.js';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { freePort, repoRoot, startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';
import { openWss } from '../docs/support/ws-client.js';

const CLIENT = '127.0.0.3';
const docsDir = join(repoRoot, 'examples', 'docs');
const nginxConf = readFileSync(join(docsDir, 'nginx.conf'), 'utf8');
const unit = readFileSync(join(docsDir, 'tsgi@.service'), 'utf8');
const guide = readFileSync(join(repoRoot, 'docs', 'deploying.md'), 'utf8');

/** Replaces every `from` in `text` by `to`, failing when the docs' file no longer has `from` (count times). */
function replaceExactly(text: string, from: string, to: string, count: number): string {
  const found = text.split(from).length - 1;
  if (found !== count) throw new Error(`expected ${count} × ${JSON.stringify(from)} in the docs' file, found ${found}`);
  return text.split(from).join(to);
}

/** The argv after `tsgi` of the unit's ExecStart line, for instance `i`, with the socket folder moved to `dir`. */
function execStartArgs(i: number, dir: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)![1]!;
  const words = shellWords(line.replaceAll('%i', String(i)).replaceAll('/run/tsgi/', `${dir}/`));
  expect(words[0]).toMatch(/\/tsgi$/);
  return words.slice(1);
}

/** The guide's command that serves the sync app (the one behind /sync/), as argv after `tsgi`. */
function syncCommand(): string[] {
  const commands = fencedBlocks(guide)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.code))
    .filter((c) => c.includes('proxied-sync.ts'));
  expect(commands).toHaveLength(1);
  const words = shellWords(commands[0]!);
  return words.slice(words.findIndex((w) => /(^|\/)tsgi$/.test(w)) + 1);
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (nginx gives no readiness signal). */
async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}):\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true))).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nginx did not listen on ${port}:\n${log()}`);
}

/** An HTTPS GET through nginx from the client address; returns status and parsed JSON. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: CLIENT, rejectUnauthorized: false, servername: 'example.com', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text === '' ? null : JSON.parse(text) }));
    });
    req.on('error', reject).end();
  });
}

const tools = needTools('examples/test/nginx-proxy.test.ts', 'nginx', 'openssl');

describe.skipIf(tools.skip)(`docs/deploying.md: tsgi behind real nginx${tools.note}`, () => {
  let dir: string;
  let nginxPort: number;
  let nginx: ChildProcess;
  let nginxLog = '';
  const servers: TsgiProcess[] = [];
  let syncPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-nginx-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=example.com',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });

    for (const i of [1, 2]) servers.push(await startTsgi(execStartArgs(i, dir)));
    const sync = await startTsgi([...syncCommand(), '--port', '0', '--threads', '2']);
    servers.push(sync);
    syncPort = Number(new URL(sync.url).port);

    nginxPort = await freePort();
    let conf = nginxConf;
    conf = replaceExactly(conf, 'unix:/run/tsgi/', `unix:${dir}/`, 2);
    conf = replaceExactly(conf, 'server 127.0.0.1:8001;', `server 127.0.0.1:${syncPort};`, 1);
    conf = replaceExactly(conf, 'listen 443 ssl;', `listen 127.0.0.1:${nginxPort} ssl;`, 1);
    conf = replaceExactly(conf, '/etc/ssl/certs/example.com.pem', join(dir, 'cert.pem'), 1);
    conf = replaceExactly(conf, '/etc/ssl/private/example.com.key', join(dir, 'key.pem'), 1);
    writeFileSync(join(dir, 'tsgi.conf'), conf);
    // The main file a distribution would provide, reduced to a private prefix: one process, no user switch.
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`).join('\n');
    writeFileSync(join(dir, 'nginx.conf'), [
      'daemon off;', 'master_process off;', `pid ${join(dir, 'nginx.pid')};`, 'error_log stderr warn;',
      'events { worker_connections 64; }',
      'http {', '    access_log off;', temp, `    include ${join(dir, 'tsgi.conf')};`, '}', '',
    ].join('\n'));
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxLog += d));
    await waitForPort(nginxPort, nginx, () => nginxLog);
  }, 60_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGQUIT');
      await once(nginx, 'exit');
    }
    await Promise.all(servers.map((s) => s.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('the commands it runs are valid tsgi flags', () => {
    for (const args of [execStartArgs(1, '/run/tsgi'), syncCommand()]) {
      expect(args[0]).toBe('serve');
      const parsed = parseServeArgs(args.slice(1), {});
      expect(parsed.help).toBe(false);
    }
  });

  it('the async app sees the real client address and https, served over both unix sockets', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { status, body } = await get(nginxPort, '/hello');
      expect(status).toBe(200);
      expect(body.client[0]).toBe(CLIENT); // X-Forwarded-For from nginx, honoured
      expect(body.scheme).toBe('https'); // X-Forwarded-Proto
      expect(body.path).toBe('/hello');
      seen.add(body.server[0]);
    }
    expect([...seen].sort()).toEqual([join(dir, 'app-1.sock'), join(dir, 'app-2.sock')]);
  });

  it('a client cannot spoof its address: nginx replaces X-Forwarded-For', async () => {
    const { body } = await get(nginxPort, '/', { 'X-Forwarded-For': '203.0.113.9' });
    // The app trusts every peer of its socket ('*'), so it takes the leftmost hop: nginx must replace the header.
    expect(body.client[0]).toBe(CLIENT);
  });

  it('the sync app under /sync/ sees the client, https and its mount point', async () => {
    const { status, body } = await get(nginxPort, '/sync/users/1');
    expect(status).toBe(200);
    expect(body).toEqual({ REMOTE_ADDR: CLIENT, 'wsgi.url_scheme': 'https', SCRIPT_NAME: '/sync', PATH_INFO: '/users/1' });
  });

  it('the sync app ignores proxy headers from a peer it does not trust', async () => {
    const body = await new Promise<any>((resolve, reject) => {
      const headers = { 'X-Forwarded-For': '203.0.113.9', 'X-Forwarded-Proto': 'https' };
      const req = httpRequest({ host: '127.0.0.1', port: syncPort, path: '/x', localAddress: CLIENT, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve(JSON.parse(text)));
      });
      req.on('error', reject).end();
    });
    expect(body.REMOTE_ADDR).toBe(CLIENT);
    expect(body['wsgi.url_scheme']).toBe('http');
  });

  it('a WebSocket upgrade goes through nginx and echoes', async () => {
    const ws = await openWss({ host: '127.0.0.1', port: nginxPort, path: '/chat', localAddress: CLIENT });
    try {
      const who = JSON.parse(await ws.receive());
      expect(who.client[0]).toBe(CLIENT);
      expect(who.scheme).toBe('wss');
      expect(who.path).toBe('/chat');
      ws.send('ping through nginx');
      expect(await ws.receive()).toBe('ping through nginx');
    } finally {
      ws.close();
    }
  });
});
