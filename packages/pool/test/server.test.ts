import { mkdtempSync, writeFileSync } from 'node:fs';
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ServerHandle } from '@tsgi/core';
import { serve } from '@tsgi/pool';
import { BEHAVIORS, captureLogger } from './helpers.js';

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  error?: Error;
}

/** One HTTP request with node:http (no keep-alive unless an agent is given); never rejects: a cut response has `error`. */
function http(url: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | Buffer[]; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(url + path, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), error }));
      res.on('aborted', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), error: new Error('aborted') }));
    });
    req.on('error', (error) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error }));
    const body = opts.body;
    if (Array.isArray(body)) for (const b of body) req.write(b);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('pool server over HTTP', () => {
  let server: ServerHandle;
  const { logger, lines } = captureLogger();
  beforeAll(async () => {
    server = await serve(BEHAVIORS, { port: 0, threads: 4, logger, limitMaxBodySize: 1_000_000, timeout: 2 });
  });
  afterAll(() => server.close());

  it('builds the environ from the request', async () => {
    const r = await http(server.url, '/environ?a=1&b=%20', { headers: { 'X-Custom': 'v1', Cookie: 'a=1' } });
    const env = JSON.parse(r.body.toString());
    const port = 'port' in server.address ? String(server.address.port) : '';
    expect(env).toMatchObject({
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '',
      PATH_INFO: '/environ',
      QUERY_STRING: 'a=1&b=%20',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: port,
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '127.0.0.1',
      HTTP_X_CUSTOM: 'v1',
      HTTP_COOKIE: 'a=1',
      HTTP_HOST: `127.0.0.1:${port}`,
      'wsgi.url_scheme': 'http',
      'wsgi.multithread': true,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
    });
    expect(Number(env.REMOTE_PORT)).toBeGreaterThan(0);
  });

  it('keeps header bytes exact (latin-1) and decodes the path byte for byte', async () => {
    const r = await http(server.url, '/environ', { headers: { 'X-Bytes': Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9]).toString('latin1') } });
    expect(JSON.parse(r.body.toString()).HTTP_X_BYTES).toBe('caf\u00c3\u00a9');
  });

  it('serves many requests on one keep-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await http(server.url, '/environ', { agent });
      ports.add(JSON.parse(r.body.toString()).REMOTE_PORT);
    }
    agent.destroy();
    expect(ports.size).toBe(1);
  });

  it('streams a chunked upload into wsgi.input', async () => {
    const parts = [Buffer.alloc(70_000, 1), Buffer.alloc(70_000, 2), Buffer.alloc(5, 3)];
    const r = await http(server.url, '/upload', { method: 'POST', body: parts, headers: { 'Transfer-Encoding': 'chunked' } });
    expect(r.body.toString().split(' ')[0]).toBe('140005');
  });

  it('drops a small unread body so the keep-alive connection stays usable', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await http(server.url, '/read-some?n=5', { method: 'POST', body: Buffer.alloc(200_000, 0x41), agent });
      expect(first.body.toString()).toBe('AAAAA');
      const second = await http(server.url, '/environ', { agent });
      const third = await http(server.url, '/environ', { agent });
      expect(JSON.parse(second.body.toString()).REMOTE_PORT).toBe(JSON.parse(third.body.toString()).REMOTE_PORT);
    } finally {
      agent.destroy();
    }
  });

  it('closes the connection after the response when a large body was left unread', async () => {
    const big = await serve(BEHAVIORS, { port: 0, threads: 1, accessLog: false, logger: captureLogger().logger });
    onTestFinished(() => big.close());
    const port = 'port' in big.address ? big.address.port : 0;
    const raw = await new Promise<string>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write('POST /read-some?n=5 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n');
        sock.write(Buffer.alloc(300_000, 0x42));
      });
      let data = '';
      sock.on('data', (d) => (data += d.toString('latin1')));
      sock.on('error', () => {});
      sock.on('close', () => resolve(data));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(raw.endsWith('BBBBB')).toBe(true);
    expect((await http(big.url, '/hello')).status).toBe(200);
  });

  it('reads lines with readlines()', async () => {
    const r = await http(server.url, '/lines', { method: 'POST', body: Buffer.from('a\nbb\nccc') });
    expect(JSON.parse(r.body.toString())).toEqual(['a\n', 'bb\n', 'ccc']);
  });

  it('answers 413 for a declared body over the limit without running the app', async () => {
    const r = await http(server.url, '/upload', { method: 'POST', headers: { 'Content-Length': '2000000' } });
    expect(r.status).toBe(413);
  });

  it('answers 413 when a chunked body grows past the limit', async () => {
    const parts = Array.from({ length: 20 }, () => Buffer.alloc(100_000));
    const r = await http(server.url, '/upload', { method: 'POST', body: parts, headers: { 'Transfer-Encoding': 'chunked' } });
    expect(r.status === 413 || r.error !== undefined).toBe(true);
    if (r.status !== 0) expect(r.status).toBe(413);
  });

  it('uses chunked encoding when the app sets no length, Content-Length for a list', async () => {
    const streamed = await http(server.url, '/stream?n=3&size=5');
    expect(streamed.headers['transfer-encoding']).toBe('chunked');
    expect(streamed.body.byteLength).toBe(15);
    const listed = await http(server.url, '/hello');
    expect(listed.headers['content-length']).toBe('13');
    expect(listed.headers['transfer-encoding']).toBeUndefined();
  });

  it('sends headers and no body for HEAD', async () => {
    const r = await http(server.url, '/hello', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('13');
    expect(r.body.byteLength).toBe(0);
  });

  it('supports the write() callable before the iterable', async () => {
    expect((await http(server.url, '/write')).body.toString()).toBe('written;returned');
  });

  it('streams a file through wsgi.file_wrapper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-pool-'));
    const path = join(dir, 'data.bin');
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    writeFileSync(path, data);
    const r = await http(server.url, `/file?path=${encodeURIComponent(path)}`);
    expect(r.body.equals(data)).toBe(true);
  });

  it('refuses a hop-by-hop header from the app with a 500 and a log line naming the clause', async () => {
    const r = await http(server.url, '/hop');
    expect(r.status).toBe(500);
    expect(r.body.toString()).toBe('Internal Server Error\n');
    expect(lines.some((l) => l.includes('wsgi.start_response.headers.5'))).toBe(true);
  });

  it('enforces the app Content-Length: too short or too long cuts the connection, the server keeps serving', async () => {
    const short = await http(server.url, '/length?declared=10&actual=4');
    expect(short.error).toBeDefined();
    const long = await http(server.url, '/length?declared=4&actual=10');
    expect(long.body.byteLength).toBeLessThanOrEqual(4);
    expect(lines.some((l) => l.includes('wsgi.response.content_length.1'))).toBe(true);
    expect((await http(server.url, '/hello')).status).toBe(200);
  });

  it('answers 500 for an app exception, without leaking it', async () => {
    const r = await http(server.url, '/throw');
    expect(r.status).toBe(500);
    expect(r.body.toString()).not.toContain('secret');
  });

  it('replaces a hung worker after the timeout (504) and keeps serving', async () => {
    const r = await http(server.url, '/hang');
    expect(r.status).toBe(504);
    expect((await http(server.url, '/hello')).status).toBe(200);
  });

  it('calls close() exactly once when the client disconnects mid-stream', async () => {
    const tag = `dc${Date.now()}`;
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/stream?n=1000000&size=4096&tag=${tag}`, { agent: false }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.byteLength;
          if (got > 100_000) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => {});
      req.end();
    });
    for (let i = 0; i < 200 && !lines.some((l) => l.endsWith(`close ${tag}`)); i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines.filter((l) => l.endsWith(`close ${tag}`))).toHaveLength(1);
    expect((await http(server.url, '/hello')).status).toBe(200);
  });

  it('answers 400 to garbage and closes the connection', async () => {
    const port = 'port' in server.address ? server.address.port : 0;
    const reply = await new Promise<string>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => sock.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('close', () => resolve(data));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });

  it('refuses what node parses but HTTP/1.1 forbids: other versions (505), two Hosts (400), unknown transfer codings (501)', async () => {
    const port = 'port' in server.address ? server.address.port : 0;
    const send = (bytes: string) =>
      new Promise<string>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => sock.write(bytes));
        let data = '';
        sock.on('data', (d) => (data += d.toString('latin1')));
        sock.on('error', () => {});
        sock.on('close', () => resolve(data));
      });
    expect(await send('GET /hello HTTP/2.0\r\nHost: x\r\n\r\n')).toMatch(/^HTTP\/1\.1 505 /);
    expect(await send('GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await send('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')).toMatch(/^HTTP\/1\.1 501 /);
  });

  it('writes an access-log line per request', async () => {
    await http(server.url, '/hello?access=1');
    expect(lines.some((l) => /^ACCESS 127\.0\.0\.1:\d+ - "GET \/hello\?access=1 HTTP\/1\.1" 200 /.test(l))).toBe(true);
  });
});

describe('pool server: proxy headers and root path', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await serve(BEHAVIORS, { port: 0, threads: 1, rootPath: '/api', forwardedAllowIps: '127.0.0.1', accessLog: false, logger: captureLogger().logger });
  });
  afterAll(() => server.close());

  it('puts root_path in SCRIPT_NAME and the rest in PATH_INFO', async () => {
    const env = JSON.parse((await http(server.url, '/environ')).body.toString());
    expect([env.SCRIPT_NAME, env.PATH_INFO]).toEqual(['/api', '/environ']);
  });

  it('takes REMOTE_ADDR and the scheme from a trusted proxy', async () => {
    const env = JSON.parse((await http(server.url, '/environ', { headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https' } })).body.toString());
    expect(env.REMOTE_ADDR).toBe('203.0.113.7');
    expect(env['wsgi.url_scheme']).toBe('https');
  });
});

describe('pool server: blocking handlers and limits', () => {
  it('runs 16 blocking 400 ms requests on 16 threads in well under 2x one request', { timeout: 90_000 }, async () => {
    const server = await serve(BEHAVIORS, { port: 0, threads: 16, accessLog: false, logger: captureLogger().logger });
    // 16 warm keep-alive connections: the measurement is the threads, not TCP set-up on a loaded machine.
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    try {
      // Wait until all 16 threads have booted and served, so the measurement is not thread start-up.
      const seen = new Set<string>();
      while (seen.size < 16) {
        const replies = await Promise.all(Array.from({ length: 16 }, () => http(server.url, '/thread?ms=100', { agent })));
        for (const r of replies) seen.add(r.body.toString());
      }
      let t0 = performance.now();
      await http(server.url, '/sleep?ms=400', { agent });
      const single = performance.now() - t0;
      t0 = performance.now();
      const replies = await Promise.all(Array.from({ length: 16 }, () => http(server.url, '/sleep?ms=400', { agent })));
      const all = performance.now() - t0;
      expect(replies.every((r) => r.status === 200)).toBe(true);
      // Serially they would take 16x; the bound leaves room for a loaded CI machine.
      expect(all, `one request ${single.toFixed(0)} ms, 16 at once ${all.toFixed(0)} ms`).toBeLessThan(1.75 * single);
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  it('answers 503 when every thread is busy and the queue is full', async () => {
    const server = await serve(BEHAVIORS, { port: 0, threads: 1, maxQueue: 1, accessLog: false, logger: captureLogger().logger });
    try {
      const replies = await Promise.all(Array.from({ length: 5 }, () => http(server.url, '/sleep?ms=200')));
      const statuses = replies.map((r) => r.status);
      expect(statuses).toContain(503);
      expect(statuses).toContain(200);
    } finally {
      await server.close();
    }
  });

  it('lets in-flight requests finish on close, then stops listening', async () => {
    const server = await serve(BEHAVIORS, { port: 0, threads: 2, accessLog: false, logger: captureLogger().logger, timeoutGracefulShutdown: 10 });
    const slow = http(server.url, '/sleep?ms=300');
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    expect((await slow).status).toBe(200);
    expect((await http(server.url, '/hello')).error).toBeDefined();
  });

  it('listens on a unix socket', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tsgi-uds-')), 's.sock');
    const server = await serve(BEHAVIORS, { uds: path, threads: 1, accessLog: false, logger: captureLogger().logger });
    try {
      expect(server.url).toBe(`unix:${path}`);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ socketPath: path, path: '/environ', headers: { Host: 'sock.example:8080' } }, (res) => {
          let data = '';
          res.on('data', (d) => (data += String(d)));
          res.on('end', () => resolve(data));
        });
        req.on('error', reject);
        req.end();
      });
      const env = JSON.parse(body);
      expect([env.SERVER_NAME, env.SERVER_PORT]).toEqual(['sock.example', '8080']);
      expect('REMOTE_ADDR' in env).toBe(false);
    } finally {
      await server.close();
    }
  });

  it('fails to start with the import error when the app cannot load', async () => {
    await expect(serve({ module: new URL('./apps/missing-export.ts', import.meta.url).href, exportName: 'nope' }, { port: 0, threads: 1, logger: captureLogger().logger })).rejects.toThrow(
      /no function export "nope"/,
    );
  });

  it('validates options with errors that name them', async () => {
    await expect(serve(BEHAVIORS, { threads: -1 })).rejects.toThrow(/option 'threads'/);
    await expect(serve(BEHAVIORS, { rootPath: 'api' })).rejects.toThrow(/option 'rootPath'/);
    await expect(serve(BEHAVIORS, { bogus: 1 } as never)).rejects.toThrow(/unknown option "bogus"/);
  });
});
