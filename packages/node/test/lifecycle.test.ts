import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpScope, LifespanScope } from '@tsgi/core';
import { serve } from '@tsgi/node';
import { RawClient, closeAll, deferred, delay, rawRequest, recordingLogger, start, textApp } from './helpers.js';

afterEach(closeAll);

describe('graceful shutdown', () => {
  it('stops accepting, closes idle keep-alive connections at once, lets an in-flight request finish with Connection: close, then runs lifespan shutdown', async () => {
    const events: string[] = [];
    const release = deferred();
    const entered = deferred();
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        await receive();
        events.push('lifespan shutdown');
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      if (scope.path === '/slow') {
        entered.resolve();
        await release.promise;
        events.push('slow answered');
      }
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from(scope.path) });
    };
    const s = await start(app, { lifespan: 'on' });
    const idle = new RawClient(s.port);
    await idle.ready;
    idle.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.response();
    const busy = new RawClient(s.port);
    await busy.ready;
    busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await entered.promise;
    const closing = s.handle.close();
    await idle.waitClosed(); // idle: closed at once
    // No new connections.
    await expect(rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).rejects.toThrow();
    await delay(50);
    expect(events).toEqual([]);
    release.resolve();
    const r = await busy.response();
    expect(r.body.toString()).toBe('/slow');
    expect(r.header('connection')?.toLowerCase()).toBe('close');
    await busy.waitClosed();
    await closing;
    expect(events).toEqual(['slow answered', 'lifespan shutdown']);
  });

  it('a request arriving on a kept-alive connection during shutdown is served, with Connection: close', async () => {
    const release = deferred();
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('part,'), more_body: true });
      if (scope.path === '/slow') await release.promise;
      await send({ type: 'http.response.body', body: Buffer.from('end') });
    };
    const s = await start(app);
    // The head of /slow went out before shutdown, promising keep-alive.
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!c.pending.includes('part,')) await c.next();
    const closing = s.handle.close();
    await delay(20);
    c.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(20);
    release.resolve();
    const first = await c.response();
    expect(first.body.toString()).toBe('part,end');
    const second = await c.response();
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe('part,end');
    expect(second.header('connection')?.toLowerCase()).toBe('close');
    await c.waitClosed();
    await closing;
  });

  it('closes what is still running after timeoutGracefulShutdown', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('start'), more_body: true });
      await new Promise(() => {});
    };
    const s = await start(app, { timeoutGracefulShutdown: 0.2 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!c.pending.includes('start')) await c.next();
    const t0 = Date.now();
    await s.handle.close();
    await c.waitClosed();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(s.log.text()).toMatch(/Graceful shutdown timed out/);
  });
});

describe('lifespan', () => {
  function lifespanApp(log: string[], failStartup = false): AsgiApplication {
    return async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        (scope as LifespanScope).state!.db = 'connected';
        log.push('startup');
        await send(failStartup ? { type: 'lifespan.startup.failed', message: 'no db' } : { type: 'lifespan.startup.complete' });
        if (failStartup) return;
        await receive();
        log.push('shutdown');
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from(String((scope as HttpScope).state?.db)) });
    };
  }

  it("runs startup before serving, copies the state into each scope, and shutdown on close ('on' and 'auto')", async () => {
    for (const mode of ['on', 'auto'] as const) {
      const log: string[] = [];
      const s = await start(lifespanApp(log), { lifespan: mode });
      expect(log).toEqual(['startup']);
      expect((await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).body.toString()).toBe('connected');
      await s.handle.close();
      expect(log).toEqual(['startup', 'shutdown']);
    }
  });

  it("'off' never calls the app with a lifespan scope; 'auto' serves an app that raises on it; 'on' fails startup then", async () => {
    const log: string[] = [];
    const s = await start(lifespanApp(log), { lifespan: 'off' });
    expect(log).toEqual([]);
    expect((await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).body.toString()).toBe('undefined');
    const noLifespan: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'lifespan') throw new Error('unsupported scope type');
      await textApp('plain')(scope, receive, send);
    };
    const auto = await start(noLifespan, { lifespan: 'auto' });
    expect((await rawRequest(auto.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).body.toString()).toBe('plain');
    await expect(serve(noLifespan, { port: 0, lifespan: 'on', logger: recordingLogger() })).rejects.toThrow();
  });

  it("rejects serve() with the app's message when startup fails", async () => {
    await expect(serve(lifespanApp([], true), { port: 0, lifespan: 'auto', logger: recordingLogger() })).rejects.toThrow(/no db/);
  });
});

describe('listening and logging', () => {
  it('listens on a unix socket: scope.server is [path, null], client null; the socket file goes on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsgi-node-'));
    const path = join(dir, 's.sock');
    try {
      let scope: HttpScope | undefined;
      const s = await start(async (sc, receive, send) => {
        scope = sc as HttpScope;
        await textApp('unix')(sc, receive, send);
      }, { uds: path });
      expect(s.url).toBe(`unix:${path}`);
      const r = await rawRequest(path, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(r.body.toString()).toBe('unix');
      expect(scope!.server).toEqual([path, null]);
      expect(scope!.client).toBeNull();
      expect(s.log.records.find((l) => l.level === 'access')?.message).toMatch(/^- - "GET \/ HTTP\/1\.1" 200 [\d.]+ms$/);
      await s.handle.close();
      await expect(stat(path)).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes one access line per response, with the real HTTP version, unless accessLog is off', async () => {
    const s = await start(textApp('hi'));
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.response();
    await rawRequest(s.port, 'GET /old HTTP/1.0\r\n\r\n');
    const lines = s.log.records.filter((r) => r.level === 'access').map((r) => r.message);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^127\\.0\\.0\\.1:${c.socket.localPort} - "GET /a\\?b=1 HTTP/1\\.1" 200 [\\d.]+ms$`));
    expect(lines[1]).toMatch(/"GET \/old HTTP\/1\.0" 200/);
    c.close();
    const quiet = await start(textApp('hi'), { accessLog: false });
    await rawRequest(quiet.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(quiet.log.records.filter((r) => r.level === 'access')).toEqual([]);
  });

  it('fails to start with a clear error when the port is taken', async () => {
    const s = await start(textApp('hi'));
    await expect(serve(textApp('x'), { port: s.port, lifespan: 'off', logger: recordingLogger() })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('options', () => {
  it('refuses bad values naming the option', async () => {
    const bad: Array<[object, RegExp]> = [
      [{ workers: 0 }, /option 'workers' must be an integer from 1 to 256; got number 0/],
      [{ timeoutKeepAlive: -1 }, /timeoutKeepAlive/],
      [{ wsPerMessageDeflate: 'yes' }, /wsPerMessageDeflate/],
      [{ limitConcurrency: 0 }, /limitConcurrency/],
      [{ nope: 1 }, /unknown option "nope"/],
    ];
    for (const [options, message] of bad) {
      await expect(serve(textApp('x'), { port: 0, logger: recordingLogger(), ...options } as never)).rejects.toThrow(message);
    }
  });
});
