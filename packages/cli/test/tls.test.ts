/**
 * TLS on every server through `tsgi serve --ssl-*`, checked with clients
 * nobody here wrote: curl over https against a CA made at test time with
 * openssl, and Python's ssl + websockets over wss. The tools come from the
 * Debian packages of scripts/system-deps.txt (python3-websockets is part of
 * the `uvicorn` tool's packages).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTools } from '../../../scripts/system-tools.js';
import { fixtures, killedAfterEach, runCli, startCli, waitForStderr } from './helpers/spawn-cli.js';

const tools = needTools('packages/cli/test/tls.test.ts', 'openssl', 'curl', 'uvicorn');
const running = killedAfterEach();
const ASGI_APP = `${join(fixtures, 'tls-app.ts')}:app`;
const WSGI_APP = `${join(fixtures, 'tls-wsgi-app.ts')}:app`;

let dir = '';
const f = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A test CA, a server certificate for localhost signed by it (its key encrypted), a client certificate it signed, and one it did not. */
function makeCertificates(): void {
  const subj = (cn: string) => ['-subj', `/CN=${cn}`];
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', ...subj('tsgi test CA'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', ...subj('localhost'));
  writeFileSync(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  openssl('pkey', '-in', 'server.key', '-aes256', '-passout', 'pass:s3cret', '-out', 'server-enc.key');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', ...subj('alice'));
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '2', ...subj('mallory'));
}

/** The server's TLS flags: the encrypted key with its password. */
const tlsFlags = () => ['--ssl-certfile', f('server.pem'), '--ssl-keyfile', f('server-enc.key'), '--ssl-keyfile-password', 's3cret'];

/** Starts `tsgi serve` with `args` and returns its https URL as https://localhost:port (the name the certificate is for). */
async function serveTls(args: string[]): Promise<string> {
  const run = startCli(['serve', '--port', '0', ...args]);
  running.push(run);
  const m = await waitForStderr(run, /Serving .* on https:\/\/127\.0\.0\.1:(\d+)/);
  return `https://localhost:${m[1]}`;
}

interface Output { code: number | null; out: string; err: string }

async function run(command: string, args: string[]): Promise<Output> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, out, err };
}

/** curl trusting only the test CA; `cert`: the client certificate to present (client or rogue). */
function curl(url: string, cert?: 'client' | 'rogue'): Promise<Output> {
  const client = cert === undefined ? [] : ['--cert', f(`${cert}.pem`), '--key', f(`${cert}.key`)];
  return run('curl', ['-sS', '--max-time', '10', '--cacert', f('ca.pem'), ...client, url]);
}

/** Python's websockets over wss, trusting only the test CA: prints each message received (the scheme, then the echo). */
const WSS_CLIENT = `
import asyncio, ssl, sys
import websockets
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    async with websockets.connect(sys.argv[1], ssl=ctx) as ws:
        print(await ws.recv())
        await ws.send("over tls")
        print(await ws.recv())
asyncio.run(main())
`;

describe.skipIf(tools.skip)(`tsgi serve --ssl-*${tools.note}`, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-tls-'));
    makeCertificates();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['node', 'uws'])('--server %s serves https to curl, with scheme https', async (server) => {
    const url = await serveTls(['--server', server, ...tlsFlags(), ASGI_APP]);
    const r = await curl(`${url}/`);
    expect(r.err).toBe('');
    const body = JSON.parse(r.out) as { scheme: string; tls: Record<string, unknown> | null };
    expect(body.scheme).toBe('https');
    // The tls extension is announced only where the transport can fill it: node:tls sees the session, uWebSockets.js v20.30 exposes none.
    if (server === 'uws') expect(body.tls).toBeNull();
    else {
      expect(body.tls).toMatchObject({ client_cert_chain: [], client_cert_name: null, client_cert_error: null, tls_version: 0x0304, cipher_suite: expect.any(Number) });
      expect(body.tls!['server_cert']).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    }
  });

  it.each(['node', 'pool'])('--server %s --workers 2: every worker process serves https, and the URL printed says so', async (server) => {
    const app = server === 'pool' ? ['--threads', '2', WSGI_APP] : [ASGI_APP];
    const url = await serveTls(['--server', server, '--workers', '2', ...tlsFlags(), ...app]);
    for (let i = 0; i < 4; i++) expect((await curl(`${url}/`)).out).toMatch(/https/);
  });

  it.each([
    ['node', '2'],
    ['uws', '1.1'],
  ])('a fetch handler under --server %s over TLS sees an https URL; curl --http2 speaks HTTP/%s', async (server, version) => {
    const url = await serveTls(['--server', server, ...tlsFlags(), `${join(fixtures, 'tls-fetch-app.ts')}:default`]);
    const r = await run('curl', ['-sS', '--max-time', '10', '--http2', '--cacert', f('ca.pem'), '-w', ' %{http_version}', `${url}/x?y=1`]);
    expect(r.err).toBe('');
    expect(r.out).toBe(`${url}/x?y=1 ${version}`);
  });

  it('a WSGI-TS app through the bridge on --server node sees wsgi.url_scheme https over HTTP/2 (curl --http2)', async () => {
    const url = await serveTls(['--server', 'node', '--threads', '2', ...tlsFlags(), WSGI_APP]);
    const r = await run('curl', ['-sS', '--max-time', '10', '--http2', '--cacert', f('ca.pem'), '-w', ' %{http_version}', `${url}/`]);
    expect(r).toMatchObject({ err: '', out: 'https 2' });
  });

  it('--server pool serves https to curl, with wsgi.url_scheme https', async () => {
    const url = await serveTls(['--server', 'pool', '--threads', '2', ...tlsFlags(), WSGI_APP]);
    expect(await curl(`${url}/`)).toMatchObject({ code: 0, out: 'https' });
  });

  it.each(['node', 'uws'])('--server %s serves wss to Python websockets, with scheme wss', async (server) => {
    const url = await serveTls(['--server', server, ...tlsFlags(), ASGI_APP]);
    const r = await run('/usr/bin/python3', ['-c', WSS_CLIENT, `${url.replace('https:', 'wss:')}/echo`, f('ca.pem')]);
    expect(r.err).toBe('');
    expect(r.out).toBe('wss\nover tls\n');
  });

  it('--server node with --ssl-cert-reqs 2: a certificate the CA signed is accepted and named; none, or one it did not sign, is refused', async () => {
    const url = await serveTls(['--server', 'node', ...tlsFlags(), '--ssl-ca-certs', f('ca.pem'), '--ssl-cert-reqs', '2', ASGI_APP]);
    const ok = await curl(`${url}/`, 'client');
    expect(ok.err).toBe('');
    const tls = (JSON.parse(ok.out) as { tls: { client_cert_name: string; client_cert_chain: string[]; client_cert_error: string | null } }).tls;
    expect(tls.client_cert_name).toBe('CN=alice');
    expect(tls.client_cert_chain.length).toBeGreaterThanOrEqual(1);
    expect(tls.client_cert_error).toBeNull();
    expect((await curl(`${url}/`)).code).not.toBe(0);
    expect((await curl(`${url}/`, 'rogue')).code).not.toBe(0);
  });

  it.each(['node', 'uws'])('--server %s with --ssl-cert-reqs 1: a client without a certificate is served, one with a certificate the CA did not sign is refused', async (server) => {
    const url = await serveTls(['--server', server, ...tlsFlags(), '--ssl-ca-certs', f('ca.pem'), '--ssl-cert-reqs', '1', ASGI_APP]);
    expect((await curl(`${url}/`)).code).toBe(0);
    expect((await curl(`${url}/`, 'client')).code).toBe(0);
    expect((await curl(`${url}/`, 'rogue')).code).not.toBe(0);
  });

  it('--server uws refuses --ssl-cert-reqs 2 in one line, exit 2: uWebSockets.js v20.30 admits a client without a certificate', async () => {
    const r = await runCli(['serve', '--server', 'uws', ...tlsFlags(), '--ssl-ca-certs', f('ca.pem'), '--ssl-cert-reqs', '2', ASGI_APP]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--ssl-cert-reqs .*uWebSockets\.js v20\.30/);
  });

  it.each(['node', 'uws', 'pool'])('--server %s: a certificate path that does not exist, or a wrong key password, stops the CLI with one line naming the flag, exit 2', async (server) => {
    const app = server === 'pool' ? WSGI_APP : ASGI_APP;
    const missing = await runCli(['serve', '--server', server, '--ssl-certfile', f('nope.pem'), '--ssl-keyfile', f('server.key'), app]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain(`--ssl-certfile "${f('nope.pem')}" cannot be read (ENOENT)`);
    const wrong = await runCli(['serve', '--server', server, '--ssl-certfile', f('server.pem'), '--ssl-keyfile', f('server-enc.key'), '--ssl-keyfile-password', 'wrong', app]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    expect(wrong.stderr).toMatch(/--ssl-keyfile-password does not decrypt/);
    expect(wrong.stderr).not.toContain('wrong');
  });
});
