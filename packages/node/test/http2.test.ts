/**
 * HTTP/2 on @tsgi/node, with clients nobody here wrote: curl (ALPN h2 over
 * TLS, HTTP/1.1 on the same port, h2c with prior knowledge on plain TCP) and
 * h2load from nghttp2, plus node:http2's client where a test needs to hold
 * streams open, reset one, or stop reading. The certificates are made at test
 * time with openssl.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as connectTcp, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpScope } from '@tsgi/core';
import { needTools } from '../../../scripts/system-tools.js';
import { RawClient, closeAll, start } from './helpers.js';

const tools = needTools('packages/node/test/http2.test.ts', 'curl', 'h2load', 'openssl');
afterEach(closeAll);

let dir = '';
const f = (name: string) => join(dir, name);

interface Output { code: number | null; out: string; err: string }

function run(command: string, args: string[]): Promise<Output> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return once(child, 'close').then(([code]) => {
    clearTimeout(timer);
    return { code: code as number | null, out, err };
  });
}

/** Answers what its scope says, as JSON. */
const scopeApp: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  const s = scope as HttpScope;
  const body = JSON.stringify({
    http_version: s.http_version,
    method: s.method,
    scheme: s.scheme,
    path: s.path,
    query_string: s.query_string,
    headers: s.headers,
  });
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(body) });
};

interface Seen { http_version: string; method: string; scheme: string; path: string; query_string: string; headers: Array<[string, string]> }

/** curl's answer: what the app saw, and the HTTP version curl spoke (`%{http_version}`). */
async function curl(args: string[]): Promise<{ seen: Seen; spoke: string }> {
  const r = await run('curl', ['-sS', '--max-time', '10', '-w', '\n%{http_version}', ...args]);
  expect(r.err).toBe('');
  const nl = r.out.lastIndexOf('\n');
  return { seen: JSON.parse(r.out.slice(0, nl)) as Seen, spoke: r.out.slice(nl + 1) };
}

/** A request on an open node:http2 client session; resolves with the stream once its response head came. */
async function request(session: ClientHttp2Session, path: string, extra: Record<string, string> = {}): Promise<{ stream: ClientHttp2Stream; status: number }> {
  const stream = session.request({ ':path': path, ...extra });
  // A stream the server resets when the test ends (closing the server cuts what is still open) is no test failure.
  stream.on('error', () => {});
  const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
  return { stream, status: headers[':status'] as number };
}

async function bodyOf(stream: ClientHttp2Stream): Promise<string> {
  let text = '';
  stream.setEncoding('utf8').on('data', (d: string) => (text += d));
  await once(stream, 'end');
  return text;
}

/**
 * A TCP proxy to `port` that forwards the first bytes a client sends in
 * 5-byte pieces 5 ms apart, then everything as it comes: a preface split
 * across the server's reads.
 */
async function slowStartProxy(port: number): Promise<TcpServer> {
  const proxy = createTcpServer((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    upstream.setNoDelay(true);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (!first) {
        upstream.write(chunk);
        return;
      }
      first = false;
      client.pause();
      void (async () => {
        for (let i = 0; i < chunk.length; i += 5) {
          upstream.write(chunk.subarray(i, i + 5));
          await delay(5);
        }
        client.resume();
      })();
    });
    client.on('end', () => upstream.end());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return proxy;
}

describe.skipIf(tools.skip)(`@tsgi/node over HTTP/2${tools.note}`, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-h2-'));
    const openssl = (...args: string[]) => expect(spawnSync('openssl', args, { cwd: dir }).status).toBe(0);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=tsgi test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tls = () => ({ sslCertfile: f('server.pem'), sslKeyfile: f('server.key') });

  it('over TLS, ALPN picks h2 for curl --http2 and HTTP/1.1 for curl --http1.1, on one port', async () => {
    const { port } = await start(scopeApp, tls());
    const url = `https://localhost:${port}/p/q?x=1`;
    const h2 = await curl(['--http2', '--cacert', f('ca.pem'), url]);
    expect(h2.spoke).toBe('2');
    expect(h2.seen).toMatchObject({ http_version: '2', method: 'GET', scheme: 'https', path: '/p/q', query_string: 'x=1' });
    // :authority becomes the host field, the other pseudo-header fields are gone.
    expect(h2.seen.headers[0]).toEqual(['host', `localhost:${port}`]);
    expect(h2.seen.headers.filter(([name]) => name.startsWith(':'))).toEqual([]);
    const h1 = await curl(['--http1.1', '--cacert', f('ca.pem'), url]);
    expect(h1.spoke).toBe('1.1');
    expect(h1.seen).toMatchObject({ http_version: '1.1', scheme: 'https' });
  });

  it('on plain TCP, a connection that opens with the HTTP/2 preface is h2c (curl --http2-prior-knowledge); others are HTTP/1.1', async () => {
    const { url } = await start(scopeApp);
    const h2c = await curl(['--http2-prior-knowledge', '-X', 'PUT', `${url}/a`]);
    expect(h2c.spoke).toBe('2');
    expect(h2c.seen).toMatchObject({ http_version: '2', method: 'PUT', scheme: 'http', path: '/a' });
    const h1 = await curl([`${url}/b`]);
    expect(h1).toMatchObject({ spoke: '1.1', seen: { http_version: '1.1', path: '/b' } });
  });

  it('h2c whose preface comes a few bytes at a time (curl through a proxy that forwards its first bytes in 5-byte pieces)', async () => {
    const { port } = await start(scopeApp);
    const proxy = await slowStartProxy(port);
    try {
      const h2c = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${(proxy.address() as { port: number }).port}/split`]);
      expect(h2c).toMatchObject({ spoke: '2', seen: { http_version: '2', path: '/split' } });
    } finally {
      proxy.close();
    }
  });

  it('a connection that has carried an HTTP/1.1 request cannot switch to HTTP/2: the preface after it gets 400', async () => {
    const { port } = await start(scopeApp);
    const c = new RawClient(port);
    await c.ready;
    c.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await c.response()).status).toBe(200);
    c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect((await c.response()).status).toBe(400);
    await c.waitClosed();
  });

  it.each(['h2c', 'h2'])('h2load -n 2000 -c 10 -m 10 (%s): every request succeeds', async (kind) => {
    const { port } = await start(scopeApp, kind === 'h2' ? { ...tls(), accessLog: false } : { accessLog: false });
    const r = await run('h2load', ['-n', '2000', '-c', '10', '-m', '10', `${kind === 'h2' ? 'https' : 'http'}://127.0.0.1:${port}/`]);
    expect(r.out).toMatch(/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout/);
    expect(r.out).toMatch(/status codes: 2000 2xx/);
  });

  it('streams are multiplexed, and a stream the client resets (RST_STREAM) is http.disconnect for its app while the others go on', async () => {
    const events: string[] = [];
    let held = 0;
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/hold') {
        held++;
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.body', body: new TextEncoder().encode('started'), more_body: true });
        // The request has no body: an empty http.request, then nothing until the stream ends.
        for (;;) {
          const event = await receive();
          events.push(event.type);
          if (event.type === 'http.disconnect') return;
        }
      }
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode(`fast ${scope.path}`) });
    };
    const { url } = await start(app);
    const session = connect(url);
    try {
      const holds = await Promise.all([request(session, '/hold'), request(session, '/hold')]);
      expect(held).toBe(2);
      // Both held streams are open on the one connection while another is answered.
      expect(await bodyOf((await request(session, '/one')).stream)).toBe('fast /one');
      holds[0]!.stream.close(constants.NGHTTP2_CANCEL);
      for (let i = 0; i < 50 && !events.includes('http.disconnect'); i++) await delay(20);
      expect(events.filter((e) => e === 'http.disconnect')).toHaveLength(1);
      expect(await bodyOf((await request(session, '/two')).stream)).toBe('fast /two');
      expect(holds[1]!.stream.closed).toBe(false);
    } finally {
      session.destroy();
    }
  });

  it("a client that stops reading holds the app's send() (flow control), and gets every byte once it reads again", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const total = 256; // 16 MiB: far past HTTP/2's default 64 KiB windows and node's buffers
    let sent = 0;
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      for (let i = 0; i < total; i++) {
        await send({ type: 'http.response.body', body: chunk, more_body: i < total - 1 });
        sent++;
      }
    };
    const { url } = await start(app);
    const session = connect(url);
    try {
      const { stream } = await request(session, '/big');
      stream.pause();
      await delay(500);
      const whilePaused = sent;
      expect(whilePaused).toBeLessThan(total / 4);
      let bytes = 0;
      stream.on('data', (d: Buffer) => (bytes += d.length));
      stream.resume();
      await once(stream, 'end');
      expect(bytes).toBe(total * chunk.length);
      expect(sent).toBe(total);
    } finally {
      session.destroy();
    }
  });

  it('trailers go out as an HTTP/2 trailer block when the client sends te: trailers', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['trailer', 'x-checksum']], trailers: true });
      await send({ type: 'http.response.body', body: new TextEncoder().encode('body') });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']], more_trailers: false });
    };
    const { url } = await start(app);
    const session = connect(url);
    try {
      const { stream } = await request(session, '/', { te: 'trailers' });
      const trailers = once(stream, 'trailers') as Promise<[Record<string, string>]>;
      expect(await bodyOf(stream)).toBe('body');
      expect((await trailers)[0]['x-checksum']).toBe('abc');
    } finally {
      session.destroy();
    }
  });

  it('a request body arrives whole, with or without a content-length (curl --data-binary, and a stream of DATA frames)', async () => {
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      let bytes = 0;
      for (;;) {
        const event = await receive();
        if (event.type !== 'http.request') return;
        bytes += event.body?.byteLength ?? 0;
        if (!event.more_body) break;
      }
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode(String(bytes)) });
    };
    const { url } = await start(app);
    writeFileSync(f('upload.bin'), Buffer.alloc(300_000, 0x62));
    const r = await run('curl', ['-sS', '--http2-prior-knowledge', '--data-binary', `@${f('upload.bin')}`, `${url}/up`]);
    expect(r).toMatchObject({ err: '', out: '300000' });
    const session = connect(url);
    try {
      // node:http2's client sends no content-length of its own: the body is known only by its DATA frames.
      const stream = session.request({ ':path': '/up', ':method': 'POST' });
      stream.on('error', () => {});
      for (let i = 0; i < 10; i++) stream.write(Buffer.alloc(10_000));
      stream.end();
      expect(await bodyOf(stream)).toBe('100000');
    } finally {
      session.destroy();
    }
  });

  it("the server's own answers go out on the stream: 413 for a declared body over limitMaxBodySize, 503 past limitConcurrency", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/hold') await released;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode('ok') });
    };
    const { url } = await start(app, { limitMaxBodySize: 1000, limitConcurrency: 1 });
    const big = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', ' %{http_code} %{http_version}', '--data-binary', 'x'.repeat(2000), `${url}/`]);
    expect(big).toMatchObject({ err: '', out: 'Content Too Large 413 2' });
    const session = connect(url);
    try {
      const hold = session.request({ ':path': '/hold' });
      hold.on('error', () => {});
      await delay(100);
      const second = await request(session, '/');
      expect(second.status).toBe(503);
      release();
      const [head] = (await once(hold, 'response')) as [Record<string, number>];
      expect(head[':status']).toBe(200);
    } finally {
      session.destroy();
    }
  });

  it('an early hint goes out as a 103 before the final response', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.early_hint', links: ['</style.css>; rel=preload; as=style'] });
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode('page') });
    };
    const { url } = await start(app);
    const session = connect(url);
    try {
      const stream = session.request({ ':path': '/' });
      const [hint] = (await once(stream, 'headers')) as [Record<string, string | number>];
      expect(hint).toMatchObject({ ':status': 103, link: '</style.css>; rel=preload; as=style' });
      expect(await bodyOf(stream)).toBe('page');
    } finally {
      session.destroy();
    }
  });

  it('an HTTP/2 connection idle for timeoutKeepAlive gets GOAWAY', async () => {
    const { url } = await start(scopeApp, { timeoutKeepAlive: 1 });
    const session = connect(url);
    try {
      expect((await request(session, '/')).status).toBe(200);
      const started = performance.now();
      const goaway = once(session, 'goaway');
      await Promise.race([goaway, delay(4000).then(() => Promise.reject(new Error('no GOAWAY within 4 s')))]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      session.destroy();
    }
  });

  it('graceful shutdown sends GOAWAY and lets the stream in flight finish', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      // The head goes out with the first body bytes (asgi.http.start.4).
      await send({ type: 'http.response.body', body: new TextEncoder().encode('started, '), more_body: true });
      await released;
      await send({ type: 'http.response.body', body: new TextEncoder().encode('finished') });
    };
    const { url, handle } = await start(app);
    const session = connect(url);
    try {
      const goaway = once(session, 'goaway');
      const { stream } = await request(session, '/');
      const closed = handle.close();
      await goaway;
      release();
      expect(await bodyOf(stream)).toBe('started, finished');
      await closed;
    } finally {
      session.destroy();
    }
  });

  it('h2MaxConcurrentStreams and h2MaxHeaderListSize are the settings a client gets; a bad value is refused naming the option', async () => {
    const { url } = await start(scopeApp, { h2MaxConcurrentStreams: 7, h2MaxHeaderListSize: 4096 });
    const session = connect(url);
    try {
      const [settings] = (await once(session, 'remoteSettings')) as [{ maxConcurrentStreams?: number; maxHeaderListSize?: number }];
      expect(settings).toMatchObject({ maxConcurrentStreams: 7, maxHeaderListSize: 4096 });
    } finally {
      session.destroy();
    }
    await expect(start(scopeApp, { h2MaxConcurrentStreams: 0 })).rejects.toThrow(/option 'h2MaxConcurrentStreams' must be an integer from 1 to 2\^32 - 1; got number 0/);
  });

  it('http2: false serves HTTP/1.x only: the preface is refused as an HTTP/1 request', async () => {
    const { port } = await start(scopeApp, { http2: false });
    const r = await run('curl', ['-sS', '--max-time', '5', '--http2-prior-knowledge', `http://127.0.0.1:${port}/`]);
    expect(r.code).not.toBe(0);
  });
});
