import { link, lstat, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LifespanStartupFailed, type AsgiApplication } from '@tsgi/core';
import {
  resolveAsgiOptions,
  runAsgiServer,
  serverUrl,
  type AsgiServeOptions,
  type Logger,
  type ServerAddress,
  type ServerContext,
  type TrackedConnection,
  type Transport,
} from '@tsgi/core/server';

afterEach(() => {
  vi.useRealTimers();
});

/** Everything that happens, in order: the app's lifespan steps, the listener's calls, the log. */
function harness(options: { listen?: () => Promise<ServerAddress>; startup?: 'complete' | 'failed'; serve?: Partial<AsgiServeOptions> } = {}) {
  const events: string[] = [];
  const logs: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: (m) => (logs.push(`info: ${m}`), events.push(`log: ${m}`)),
    warning: (m) => (logs.push(`warning: ${m}`), events.push(`log: ${m}`)),
    error: (m) => (logs.push(`error: ${m}`), events.push(`log: ${m}`)),
    access: () => {},
  };
  const app: AsgiApplication = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return;
    for (;;) {
      const m = (await receive()) as { type: string };
      if (m.type === 'lifespan.startup') {
        events.push('app: startup');
        if (options.startup === 'failed') {
          await send({ type: 'lifespan.startup.failed', message: 'no database' });
          return;
        }
        (scope.state as Record<string, unknown>).ready = true;
        await send({ type: 'lifespan.startup.complete' });
      } else {
        events.push('app: shutdown');
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
    }
  };
  let ctx: ServerContext | undefined;
  const transport: Transport = {
    name: 'fake',
    httpExtensions: { 'http.response.trailers': {} },
    createListener(c) {
      ctx = c;
      events.push('createListener');
      return {
        listen: async () => {
          events.push('listen');
          return (options.listen ?? (async () => ({ host: '127.0.0.1', port: 4321 })))();
        },
        stopAccepting: () => void events.push('stopAccepting'),
        closeIdle: () => void events.push('closeIdle'),
        closeAll: () => void events.push('closeAll'),
      };
    },
  };
  const resolved = resolveAsgiOptions({ lifespan: 'on', ...options.serve }, { keepAliveDefault: 5 });
  return {
    events,
    logs,
    start: () => runAsgiServer(app, resolved, logger, transport),
    ctx: () => ctx!,
  };
}

/** A request in flight as the tracker sees it, recording what it is told. */
function fakeConnection(events: string[], name = 'conn'): TrackedConnection {
  return {
    trackingId: 0,
    shutdown: () => void events.push(`${name}.shutdown`),
    abort: () => void events.push(`${name}.abort`),
  };
}

const turns = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('runAsgiServer: start', () => {
  it('runs lifespan startup before it listens, and logs the URL', async () => {
    const h = harness();
    const server = await h.start();
    expect(h.events.indexOf('app: startup')).toBeGreaterThanOrEqual(0);
    expect(h.events.indexOf('app: startup')).toBeLessThan(h.events.indexOf('listen'));
    expect(server.address).toEqual({ host: '127.0.0.1', port: 4321 });
    expect(server.url).toBe('http://127.0.0.1:4321');
    expect(h.logs).toContain('info: tsgi (fake) running on http://127.0.0.1:4321 (Press CTRL+C to quit)');
    // uvicorn's first line, before lifespan startup.
    expect(h.logs[0]).toBe(`info: Started server process [${process.pid}]`);
    await server.close();
  });

  it('gives the listener a context with the state startup filled and, once listening, the bound address', async () => {
    const h = harness({ serve: { rootPath: '/api' } });
    const server = await h.start();
    const ctx = h.ctx();
    expect(ctx.state).toEqual({ ready: true });
    expect(ctx.httpScope.state).toBe(ctx.state);
    expect(ctx.httpScope.rootPath).toBe('/api');
    expect(ctx.httpScope.extensions).toEqual({ 'http.response.trailers': {} });
    expect(ctx.server).toEqual(['127.0.0.1', 4321]);
    expect(ctx.connections.size).toBe(0);
    await server.close();
  });

  it('never listens when lifespan startup fails', async () => {
    const h = harness({ startup: 'failed' });
    await expect(h.start()).rejects.toBeInstanceOf(LifespanStartupFailed);
    expect(h.events).not.toContain('listen');
  });

  it('runs lifespan shutdown and rethrows when listen fails', async () => {
    const bindError = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    const h = harness({ listen: async () => Promise.reject(bindError) });
    await expect(h.start()).rejects.toBe(bindError);
    const order = h.events.filter((e) => e.startsWith('app:') || e === 'listen');
    expect(order).toEqual(['app: startup', 'listen', 'app: shutdown']);
  });
});

describe('runAsgiServer: close()', () => {
  it('stops accepting, tells connections, closes idle ones, drains, closes all, then runs lifespan shutdown', async () => {
    const h = harness();
    const server = await h.start();
    const ctx = h.ctx();
    const conn = fakeConnection(h.events);
    ctx.connections.add(conn);
    h.events.length = 0;

    const closing = server.close();
    await turns();
    // Still waiting for the request in flight.
    expect(h.events).toContain('closeIdle');
    expect(h.events).not.toContain('closeAll');
    expect(h.events).not.toContain('app: shutdown');
    expect(ctx.connections.closing).toBe(true);

    h.events.push('conn.finished');
    ctx.connections.delete(conn);
    await closing;
    expect(h.events.filter((e) => !e.startsWith('log:'))).toEqual([
      'stopAccepting',
      'conn.shutdown',
      'closeIdle',
      'conn.finished',
      'closeAll',
      'app: shutdown',
    ]);
    const logs = h.events.filter((e) => e.startsWith('log:'));
    expect(logs[0]).toBe('log: Shutting down');
    expect(logs.at(-1)).toBe(`log: Finished server process [${process.pid}]`);
    expect(h.events.at(-1)).toBe(`log: Finished server process [${process.pid}]`);
    expect(h.events.indexOf('log: Shutting down')).toBeLessThan(h.events.indexOf('stopAccepting'));
  });

  it('finishes at once when nothing is in flight', async () => {
    const h = harness();
    const server = await h.start();
    h.events.length = 0;
    await server.close();
    expect(h.events.filter((e) => !e.startsWith('log:'))).toEqual(['stopAccepting', 'closeIdle', 'closeAll', 'app: shutdown']);
  });

  it('returns the same promise when called twice, and shuts down once', async () => {
    const h = harness();
    const server = await h.start();
    const a = server.close();
    const b = server.close();
    expect(b).toBe(a);
    await a;
    expect(server.close()).toBe(a);
    expect(h.events.filter((e) => e === 'stopAccepting')).toHaveLength(1);
    expect(h.events.filter((e) => e === 'app: shutdown')).toHaveLength(1);
  });

  it('aborts a connection still in flight after timeoutGracefulShutdown, and still finishes', async () => {
    vi.useFakeTimers();
    const h = harness({ serve: { timeoutGracefulShutdown: 2 } });
    const server = await h.start();
    const ctx = h.ctx();
    ctx.connections.add(fakeConnection(h.events, 'slow'));
    let done = false;
    const closing = server.close().then(() => (done = true));

    await vi.advanceTimersByTimeAsync(1999);
    expect(h.events).toContain('slow.shutdown');
    expect(h.events).not.toContain('slow.abort');
    expect(done).toBe(false);

    await vi.advanceTimersByTimeAsync(1);
    await closing;
    const order = h.events.filter((e) => ['slow.abort', 'closeAll', 'app: shutdown', `log: Finished server process [${process.pid}]`].includes(e));
    expect(order).toEqual(['slow.abort', 'closeAll', 'app: shutdown', `log: Finished server process [${process.pid}]`]);
    expect(h.logs.some((l) => l.startsWith('warning: Graceful shutdown timed out after 2 s'))).toBe(true);
  });

  it('does not abort a connection that finishes within timeoutGracefulShutdown', async () => {
    vi.useFakeTimers();
    const h = harness({ serve: { timeoutGracefulShutdown: 2 } });
    const server = await h.start();
    const ctx = h.ctx();
    const conn = fakeConnection(h.events, 'quick');
    ctx.connections.add(conn);
    const closing = server.close();
    await vi.advanceTimersByTimeAsync(500);
    ctx.connections.delete(conn);
    await closing;
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.events).not.toContain('quick.abort');
    expect(h.events).toContain('closeAll');
  });

  it('closeNow() drops everything at once, without lifespan shutdown', async () => {
    const h = harness();
    const server = await h.start();
    h.events.length = 0;
    server.closeNow();
    expect(h.events).toEqual(['stopAccepting', 'closeAll']);
    expect(h.ctx().connections.closing).toBe(true);
  });

  it('removes the unix socket file on close', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsgi-lifecycle-'));
    try {
      const path = join(dir, 'app.sock');
      // A socket file at `path` that outlives its server, standing in for the one the listener bound.
      const live = createServer();
      await new Promise<void>((resolve) => live.listen(join(dir, 'live.sock'), resolve));
      await link(join(dir, 'live.sock'), path);
      await new Promise<void>((resolve) => live.close(() => resolve()));

      const h = harness({ serve: { uds: path }, listen: async () => ({ path }) });
      const server = await h.start();
      expect(server.url).toBe(`unix:${path}`);
      expect(h.ctx().server).toEqual([path, null]);
      expect((await lstat(path)).isSocket()).toBe(true);
      await server.close();
      await expect(lstat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('serverUrl', () => {
  it('gives http://host:port for TCP', () => {
    expect(serverUrl({ host: '127.0.0.1', port: 8000 })).toBe('http://127.0.0.1:8000');
    expect(serverUrl({ host: 'localhost', port: 80 })).toBe('http://localhost:80');
  });

  it('brackets an IPv6 host', () => {
    expect(serverUrl({ host: '::1', port: 8000 })).toBe('http://[::1]:8000');
    expect(serverUrl({ host: 'fe80::1', port: 1 })).toBe('http://[fe80::1]:1');
  });

  it('gives unix:path for a unix socket', () => {
    expect(serverUrl({ path: '/run/app.sock' })).toBe('unix:/run/app.sock');
  });
});
