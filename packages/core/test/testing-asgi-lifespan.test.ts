import { describe, expect, it } from 'vitest';
import {
  AsgiTestClient,
  LifespanShutdownFailed,
  LifespanStartupFailed,
  isProtocolError,
  type AsgiApplication,
  type HttpScope,
  type LifespanScope,
} from '@tsgi/core';

/** A lifespan-aware app: fills state at startup; each request reports the state it sees and adds to its own copy. */
function statefulApp(log: string[], opts: { failStartup?: string; failShutdown?: string } = {}): AsgiApplication {
  return async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      const ls = scope as LifespanScope;
      for (;;) {
        const e = await receive();
        log.push(e.type);
        if (e.type === 'lifespan.startup') {
          if (opts.failStartup !== undefined) {
            await send({ type: 'lifespan.startup.failed', message: opts.failStartup });
            return;
          }
          ls.state!['db'] = 'connected';
          ls.state!['counter'] = { hits: 0 };
          await send({ type: 'lifespan.startup.complete' });
        } else if (e.type === 'lifespan.shutdown') {
          ls.state!['db'] = 'closed';
          if (opts.failShutdown !== undefined) await send({ type: 'lifespan.shutdown.failed', message: opts.failShutdown });
          else await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    const s = scope as HttpScope;
    const state = s.state ?? {};
    const body = new TextEncoder().encode(JSON.stringify(state));
    state['added'] = true;
    const counter = state['counter'] as { hits: number } | undefined;
    if (counter !== undefined) counter.hits += 1;
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body });
  };
}

describe('AsgiTestClient: lifespan', () => {
  it('startup returns the state; every request scope gets a shallow copy of it; shutdown completes', async () => {
    const log: string[] = [];
    const client = new AsgiTestClient(statefulApp(log));
    // Before startup, requests carry no state.
    expect((await client.get('/')).json()).toEqual({});
    const state = await client.lifespan().startup();
    expect(state).toEqual({ db: 'connected', counter: { hits: 0 } });
    expect((await client.get('/')).json()).toEqual({ db: 'connected', counter: { hits: 0 } });
    // A key added by one request does not reach the next (shallow copy), a shared object does.
    expect((await client.get('/')).json()).toEqual({ db: 'connected', counter: { hits: 1 } });
    expect(await client.lifespan().shutdown()).toMatchObject({ db: 'closed' });
    expect(log).toEqual(['lifespan.startup', 'lifespan.shutdown']);
    await client.close();
  });

  it('startup.failed rejects with the app message', async () => {
    const client = new AsgiTestClient(statefulApp([], { failStartup: 'database unreachable' }));
    const err = await client.lifespan().startup().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifespanStartupFailed);
    expect((err as LifespanStartupFailed).appMessage).toBe('database unreachable');
    expect((err as Error).message).toContain('database unreachable');
    await client.close();
  });

  it('shutdown.failed rejects with the app message', async () => {
    const client = new AsgiTestClient(statefulApp([], { failShutdown: 'flush failed' }));
    await client.lifespan().startup();
    await expect(client.lifespan().shutdown()).rejects.toSatisfy((e: unknown) => e instanceof LifespanShutdownFailed && e.appMessage === 'flush failed');
  });

  it('await using shuts the lifespan down on scope exit', async () => {
    const log: string[] = [];
    {
      await using client = new AsgiTestClient(statefulApp(log));
      await client.lifespan().startup();
    }
    expect(log).toEqual(['lifespan.startup', 'lifespan.shutdown']);
  });

  it('AsgiTestClient.start() runs startup first and close() runs shutdown; a failed startup rejects', async () => {
    const log: string[] = [];
    {
      await using client = await AsgiTestClient.start(statefulApp(log));
      expect((await client.get('/')).json()).toEqual({ db: 'connected', counter: { hits: 0 } });
    }
    expect(log).toEqual(['lifespan.startup', 'lifespan.shutdown']);
    await expect(AsgiTestClient.start(statefulApp([], { failStartup: 'no config' }))).rejects.toThrow('no config');
  });

  it('an app that raises during startup rejects startup() with its error', async () => {
    const app: AsgiApplication = async (scope) => {
      throw new Error(`unsupported scope ${scope.type}`);
    };
    await using client = new AsgiTestClient(app);
    await expect(client.lifespan().startup()).rejects.toThrow('unsupported scope lifespan');
  });

  it('an answer out of order breaks asgi.lifespan.order.1', async () => {
    const app: AsgiApplication = async (_scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.shutdown.complete' });
    };
    for (const validate of [true, false]) {
      await using client = new AsgiTestClient(app, { validate });
      await expect(client.lifespan().startup()).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.lifespan.order.1');
    }
  });

  it('startup() twice and shutdown() before startup are test mistakes, reported as such', async () => {
    await using client = new AsgiTestClient(statefulApp([]));
    await expect(client.lifespan().shutdown()).rejects.toThrow(/needs a completed startup/);
    await client.lifespan().startup();
    await expect(client.lifespan().startup()).rejects.toThrow(/only once/);
  });
});
