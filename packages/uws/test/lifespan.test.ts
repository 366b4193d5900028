import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, LifespanReceiveEvent } from '@tsgi/core';
import { serve } from '@tsgi/uws';
import { closeAll, rawRequest, recordingLogger, start } from './helpers.js';

afterEach(closeAll);

const GET = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';

/** A lifespan-speaking app that records what it received and answers as told. */
function lifespanApp(opts: { startup?: 'complete' | 'failed'; shutdown?: 'complete' | 'failed'; message?: string } = {}) {
  const seen: string[] = [];
  const app: AsgiApplication = async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      seen.push(((await receive()) as LifespanReceiveEvent).type);
      scope.state!.db = 'connected';
      if (opts.startup === 'failed') {
        await send({ type: 'lifespan.startup.failed', message: opts.message ?? '' });
        return;
      }
      await send({ type: 'lifespan.startup.complete' });
      seen.push(((await receive()) as LifespanReceiveEvent).type);
      if (opts.shutdown === 'failed') await send({ type: 'lifespan.shutdown.failed', message: 'cannot flush' });
      else await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: Buffer.from(String(scope.state?.db)) });
  };
  return { app, seen };
}

describe('lifespan', () => {
  it('runs startup before serving and shutdown on close', async () => {
    const { app, seen } = lifespanApp();
    const { port, handle, log } = await start(app, { lifespan: 'on' });
    expect(seen).toEqual(['lifespan.startup']);
    expect((await rawRequest(port, GET)).body.toString()).toBe('connected');
    await handle.close();
    expect(seen).toEqual(['lifespan.startup', 'lifespan.shutdown']);
    expect(log.records.map((r) => r.message)).toContain('Application shutdown complete.');
  });

  it("rejects serve() with the app's message when startup fails, in any mode", async () => {
    for (const mode of ['auto', 'on'] as const) {
      const { app } = lifespanApp({ startup: 'failed', message: 'no database' });
      await expect(serve(app, { port: 0, lifespan: mode, logger: recordingLogger() })).rejects.toThrow('no database');
    }
  });

  it("in 'auto' mode serves an app that raises on the lifespan scope", async () => {
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type === 'lifespan') throw new Error('unknown scope type');
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('served') });
    };
    const { port, handle, log } = await start(app, { lifespan: 'auto' });
    expect((await rawRequest(port, GET)).body.toString()).toBe('served');
    expect(log.records.map((r) => r.message)).toContain("ASGI 'lifespan' protocol appears unsupported.");
    expect(log.errors()).toEqual([]);
    await handle.close();
  });

  it("in 'auto' mode quietly serves an app that returns from the lifespan call", async () => {
    const { port, log } = await start(async (scope, _r, send) => {
      if (scope.type === 'lifespan') return;
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
    }, { lifespan: 'auto' });
    expect((await rawRequest(port, GET)).status).toBe(204);
    expect(log.errors()).toEqual([]);
  });

  it("in 'on' mode fails startup when the app raises", async () => {
    const app: AsgiApplication = async () => {
      throw new Error('lifespan not supported here');
    };
    await expect(serve(app, { port: 0, lifespan: 'on', logger: recordingLogger() })).rejects.toThrow('lifespan not supported here');
  });

  it("in 'off' mode never calls the app with a lifespan scope", async () => {
    const types: string[] = [];
    const { port } = await start(async (scope, _r, send) => {
      types.push(scope.type);
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body' });
    }, { lifespan: 'off' });
    await rawRequest(port, GET);
    expect(types).toEqual(['http']);
  });

  it('logs a failed shutdown and still closes', async () => {
    const { app } = lifespanApp({ shutdown: 'failed' });
    const { handle, log } = await start(app, { lifespan: 'on' });
    await handle.close();
    expect(log.errors().map((r) => r.message)).toEqual(['Application shutdown failed: cannot flush']);
  });

  it('rejects an out-of-order lifespan event with the clause', async () => {
    let caught: unknown;
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      try {
        await send({ type: 'lifespan.shutdown.complete' });
      } catch (e) {
        caught = e;
      }
      await send({ type: 'lifespan.startup.complete' });
      await receive();
      await send({ type: 'lifespan.shutdown.complete' });
    };
    const { handle } = await start(app, { lifespan: 'on' });
    expect((caught as Error).message).toMatch(/asgi\.lifespan\.order\.1/);
    await handle.close();
  });
});
