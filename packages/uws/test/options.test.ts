import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpReceiveEvent } from '@tsgi/core';
import { serve, type ServeOptions } from '@tsgi/uws';
import { resolveOptions } from '../src/options.js';
import { closeAll, RawClient, rawRequest, recordingLogger, start, textApp } from './helpers.js';

afterEach(closeAll);
const dir = mkdtempSync(join(tmpdir(), 'tsgi-uds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GET = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';

describe('option validation', () => {
  const bad: Array<[ServeOptions, RegExp]> = [
    [{ port: 70000 }, /'port' must be an integer from 0 to 65535; got number 70000/],
    [{ port: 1.5 }, /'port'/],
    [{ host: '' }, /'host'/],
    [{ rootPath: 'api' }, /'rootPath' must be '' or a path starting \(and not ending\) with '\/'.*\(root_path, asgi\.http\.scope\.9; SCRIPT_NAME, wsgi\.environ\.path\.1\); got "api"/],
    [{ limitMaxBodySize: -1 }, /'limitMaxBodySize'/],
    [{ limitConcurrency: 0 }, /'limitConcurrency'/],
    [{ timeoutKeepAlive: 5 }, /'timeoutKeepAlive' must be 10 .*fixed 10 s.* or 0/],
    [{ timeoutGracefulShutdown: -1 }, /'timeoutGracefulShutdown'/],
    [{ lifespan: 'yes' as never }, /'lifespan' must be 'auto', 'on' or 'off'/],
    [{ wsMaxSize: 0 }, /'wsMaxSize'/],
    [{ wsPingInterval: 3e6 }, /'wsPingInterval' must be null, 0, or a positive number of seconds up to 2147483/],
    [{ wsPingTimeout: -3 }, /'wsPingTimeout'/],
    [{ workers: 0 }, /'workers'/],
    [{ logLevel: 'loud' as never }, /'logLevel'/],
    [{ accessLog: 'no' as never }, /'accessLog' must be a boolean/],
    [{ forwardedAllowIps: '10.0.0.0/40' }, /forwardedAllowIps/],
    [{ prot: 80 } as never, /unknown option "prot"/],
  ];
  for (const [options, message] of bad) {
    it(`refuses ${JSON.stringify(options)}`, async () => {
      expect(() => resolveOptions(options)).toThrow(message);
      await expect(serve(textApp('x'), { ...options, logger: recordingLogger() })).rejects.toThrow(message);
    });
  }

  it('fills uvicorn-like defaults', () => {
    const o = resolveOptions({});
    expect(o).toMatchObject({
      host: '127.0.0.1', port: 8000, uds: null, rootPath: '', proxyHeaders: true, limitMaxBodySize: null, limitConcurrency: null,
      timeoutKeepAlive: 10, timeoutGracefulShutdown: null, accessLog: true, lifespan: 'auto', wsMaxSize: 16777216,
      wsPingInterval: 20, wsPingTimeout: 20, workers: 1, logLevel: 'info',
    });
    expect(resolveOptions({ wsPingInterval: 0, wsPingTimeout: null })).toMatchObject({ wsPingInterval: null, wsPingTimeout: null });
  });
});

describe('rootPath ending with a slash', () => {
  // '/app/' would give ASGI apps root_path '/app/' (asgi.http.scope.9: "" or starting and not ending with '/')
  // and a bridged WSGI app SCRIPT_NAME '/app/' with a PATH_INFO that lost its leading '/'; '/' alone is never a
  // SCRIPT_NAME (wsgi.environ.path.1). The pool refuses it with the same words, and so does uws.
  const rule =
    "serve(): option 'rootPath' must be '' or a path starting (and not ending) with '/', without '?' or '#' " +
    '(root_path, asgi.http.scope.9; SCRIPT_NAME, wsgi.environ.path.1)';
  for (const rootPath of ['/app/', '/']) {
    it(`refuses ${JSON.stringify(rootPath)}, naming the rule and the value`, async () => {
      const message = `${rule}; got ${JSON.stringify(rootPath)}`;
      expect(() => resolveOptions({ rootPath })).toThrow(message);
      await expect(serve(textApp('x'), { rootPath, port: 0, logger: recordingLogger() })).rejects.toThrow(message);
    });
  }

  it("takes '/app' and '' as they are", () => {
    expect(resolveOptions({ rootPath: '/app' }).rootPath).toBe('/app');
    expect(resolveOptions({ rootPath: '' }).rootPath).toBe('');
  });
});

describe('limits', () => {
  const reader: AsgiApplication = async (_s, receive, send) => {
    let n = 0;
    for (;;) {
      const e = (await receive()) as HttpReceiveEvent;
      if (e.type !== 'http.request') return;
      n += e.body.byteLength;
      if (!e.more_body) break;
    }
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(String(n)) });
  };

  it('answers 413 to a Content-Length over limitMaxBodySize without calling the app', async () => {
    let called = false;
    const { port } = await start(async (s, r, send) => {
      called = true;
      await reader(s, r, send);
    }, { limitMaxBodySize: 10 });
    const res = await rawRequest(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890');
    expect(res.status).toBe(413);
    expect(called).toBe(false);
    expect((await rawRequest(port, 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789')).body.toString()).toBe('10');
  });

  it('answers 413 when a chunked body grows past limitMaxBodySize', async () => {
    const { port } = await start(reader, { limitMaxBodySize: 10 });
    const c = new RawClient(port);
    await c.ready;
    c.write('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n');
    expect((await c.response()).status).toBe(413);
    await c.waitClosed();
  });

  it('answers 503 past limitConcurrency and serves again once requests finish', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type === 'http' && scope.path === '/slow') await gate;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    };
    const { port, log } = await start(app, { limitConcurrency: 1 });
    const slow = new RawClient(port);
    await slow.ready;
    slow.write('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n');
    await expect.poll(async () => (await rawRequest(port, GET)).status).toBe(503);
    expect(log.records.some((r) => r.level === 'warning' && r.message === 'Exceeded concurrency limit.')).toBe(true);
    release();
    expect((await slow.response()).status).toBe(200);
    expect((await rawRequest(port, GET)).status).toBe(200);
    slow.close();
  });
});

describe('listening and logging', () => {
  it('listens on a unix socket (scope.server is [path, null], client null)', async () => {
    const path = join(dir, 'app.sock');
    const { handle } = await start(async (scope, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(scope.type === 'http' ? [scope.server, scope.client] : null)) });
    }, { uds: path });
    expect(handle.address).toEqual({ path });
    expect(handle.url).toBe(`unix:${path}`);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ socketPath: path, path: '/' }, (res) => {
        let s = '';
        res.on('data', (d) => (s += d));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toEqual([[path, null], null]);
    await handle.close();
    expect(existsSync(path)).toBe(false);
  });

  it('writes one access line per response unless accessLog is off', async () => {
    const on = await start(textApp('x'));
    await rawRequest(on.port, 'GET /p?q=1 HTTP/1.1\r\nHost: h\r\n\r\n');
    const lines = on.log.records.filter((r) => r.level === 'access').map((r) => r.message);
    expect(lines).toHaveLength(1);
    // No port: uWebSockets.js v20.30 gives none (binding.test.ts shows it), and ':0' would be a false one.
    expect(lines[0]).toMatch(/^127\.0\.0\.1 - "GET \/p\?q=1 HTTP\/1\.1" 200 \d+\.\dms$/);
    const off = await start(textApp('x'), { accessLog: false });
    await rawRequest(off.port, GET);
    expect(off.log.records.filter((r) => r.level === 'access')).toEqual([]);
  });

  it('fails to start with a clear error when the port is taken', async () => {
    const { port } = await start(textApp('x'));
    await expect(serve(textApp('y'), { port, logger: recordingLogger() })).rejects.toThrow(`could not listen on 127.0.0.1:${port}`);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, lets an in-flight request finish, then runs lifespan shutdown', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        await receive();
        order.push('lifespan.shutdown');
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      order.push('request');
      await gate;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('finished') });
      order.push('response');
    };
    const { port, handle } = await start(app, { lifespan: 'on' });
    const c = new RawClient(port);
    await c.ready;
    c.write(GET);
    await expect.poll(() => order.includes('request')).toBe(true); // accepted by the server, not only by the kernel
    const closed = handle.close().then(() => order.push('closed'));
    // New connections are refused once close() began.
    await expect.poll(async () => rawRequest(port, GET).then(() => 'accepted', () => 'refused')).toBe('refused');
    release();
    const res = await c.response();
    expect(res.body.toString()).toBe('finished');
    expect(res.header('connection')).toBe('close');
    await closed;
    expect(order).toEqual(['request', 'response', 'lifespan.shutdown', 'closed']);
  });

  it('closes what is still running after timeoutGracefulShutdown', async () => {
    let started = false;
    const app: AsgiApplication = async (_s, receive) => {
      started = true;
      await receive();
      await receive(); // waits until the connection is closed
    };
    const { port, handle, log } = await start(app, { timeoutGracefulShutdown: 0.2 });
    const c = new RawClient(port);
    await c.ready;
    c.write(GET);
    await expect.poll(() => started).toBe(true);
    const t0 = Date.now();
    await handle.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    await c.waitClosed();
    expect(log.records.some((r) => /Graceful shutdown timed out/.test(r.message))).toBe(true);
  });
});
