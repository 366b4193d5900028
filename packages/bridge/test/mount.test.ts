import { describe, expect, it } from 'vitest';
import { LifespanStartupFailed, type AsgiApplication, type LifespanScope, type ReceiveEvent, type SendEvent } from '@tsgi/core';
import { LifespanRunner, silentLogger } from '@tsgi/core/server';
import { mount } from '../src/index.js';
import { bytes, callHttp, httpScope, text, wsScope } from './harness.js';

// An app that answers with the scope's path and root_path, so routing is visible.
function echoScope(name: string): AsgiApplication {
  return async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    const body = bytes(JSON.stringify({ name, path: scope.path, root_path: scope.root_path, raw_path: scope.raw_path }));
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body, more_body: false });
  };
}

async function get(app: AsgiApplication, path: string, rootPath = '') {
  const r = await callHttp(app, httpScope({ path, raw_path: path, root_path: rootPath }));
  return { status: r.status, json: r.status === 200 ? JSON.parse(text(r.body)) : text(r.body) };
}

describe('mount: dispatch by path prefix', () => {
  const app = mount([
    ['/api', echoScope('api')],
    ['/api/v2', echoScope('v2')],
    ['/static/', echoScope('static')],
  ]);

  it('grows root_path by the prefix and keeps the full path (ASGI: path includes root_path)', async () => {
    expect((await get(app, '/api/users')).json).toEqual({ name: 'api', path: '/api/users', root_path: '/api', raw_path: '/api/users' });
    expect((await get(app, '/api')).json).toMatchObject({ name: 'api', root_path: '/api', path: '/api' });
  });

  it('prefers the longest prefix and matches only at a "/" boundary', async () => {
    expect((await get(app, '/api/v2/x')).json).toMatchObject({ name: 'v2', root_path: '/api/v2' });
    expect((await get(app, '/api/v2')).json).toMatchObject({ name: 'v2' });
    expect((await get(app, '/api/v20')).json).toMatchObject({ name: 'api', root_path: '/api' });
    expect((await get(app, '/apix')).status).toBe(404);
  });

  it('ignores a trailing slash on the prefix', async () => {
    expect((await get(app, '/static/a.css')).json).toMatchObject({ name: 'static', root_path: '/static' });
  });

  it('matches below an existing root_path (a server --root-path or an outer mount)', async () => {
    expect((await get(app, '/outer/api/x', '/outer')).json).toMatchObject({ name: 'api', root_path: '/outer/api', path: '/outer/api/x' });
    const nested = mount([['/outer', app]]);
    expect((await get(nested, '/outer/api/v2/y')).json).toMatchObject({ name: 'v2', root_path: '/outer/api/v2' });
  });

  it('answers 404 when nothing matches, and a root mount catches the rest', async () => {
    const r = await get(app, '/nope');
    expect(r).toEqual({ status: 404, json: 'Not Found' });
    const withRoot = mount([['/api', echoScope('api')], ['/', echoScope('root')]]);
    expect((await get(withRoot, '/nope')).json).toMatchObject({ name: 'root', root_path: '' });
    expect((await get(withRoot, '/api/x')).json).toMatchObject({ name: 'api' });
  });

  it('closes an unmatched WebSocket before accept (the server answers 403)', async () => {
    const sent: SendEvent[] = [];
    await app(wsScope({ path: '/nope', raw_path: '/nope' }), async () => ({ type: 'websocket.connect' }), async (e) => {
      sent.push(e);
    });
    expect(sent).toEqual([{ type: 'websocket.close', code: 1000 }]);
  });

  it('refuses bad route tables', () => {
    expect(() => mount([['api', echoScope('a')]])).toThrow(/must start with '\/'/);
    expect(() => mount([['/a', echoScope('a')], ['/a/', echoScope('b')]])).toThrow(/mounted twice/);
  });
});

// Runs a lifespan scope against `app` the way a server does; returns what the app answered.
async function runLifespan(app: AsgiApplication, state: Record<string, unknown> = {}) {
  const answers: string[] = [];
  const inbox: ReceiveEvent[] = [{ type: 'lifespan.startup' }];
  let wake = null as (() => void) | null;
  const scope: LifespanScope = { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.0' }, state };
  const receive = async (): Promise<ReceiveEvent> => {
    while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
    return inbox.shift()!;
  };
  let answered!: () => void;
  let next = new Promise<void>((r) => (answered = r));
  const send = async (e: SendEvent) => {
    answers.push(e.type + ('message' in e && e.message ? `: ${e.message}` : ''));
    answered();
  };
  const done = app(scope, receive, send);
  await next;
  const startup = answers[0];
  if (startup !== 'lifespan.startup.complete') {
    await done;
    return { answers, state };
  }
  next = new Promise<void>((r) => (answered = r));
  inbox.push({ type: 'lifespan.shutdown' });
  wake?.();
  await next;
  await done;
  return { answers, state };
}

describe('mount: lifespan fanned out to every app', () => {
  function lifespanApp(name: string, log: string[], fail?: 'startup' | 'shutdown'): AsgiApplication {
    return async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      for (;;) {
        const e = await receive();
        if (e.type === 'lifespan.startup') {
          log.push(`${name} up`);
          if (fail === 'startup') {
            await send({ type: 'lifespan.startup.failed', message: `${name} cannot start` });
            return;
          }
          scope.state![name] = true;
          await send({ type: 'lifespan.startup.complete' });
        } else {
          log.push(`${name} down`);
          if (fail === 'shutdown') await send({ type: 'lifespan.shutdown.failed', message: `${name} cannot stop` });
          else await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    };
  }
  const noLifespan: AsgiApplication = async (scope) => {
    if (scope.type === 'lifespan') throw new Error('lifespan unsupported');
  };

  it('starts every app in order, shares the state dict, and shuts down in reverse', async () => {
    const log: string[] = [];
    const app = mount([['/a', lifespanApp('a', log)], ['/b', noLifespan], ['/c', lifespanApp('c', log)]]);
    const { answers, state } = await runLifespan(app);
    expect(answers).toEqual(['lifespan.startup.complete', 'lifespan.shutdown.complete']);
    expect(log).toEqual(['a up', 'c up', 'c down', 'a down']);
    expect(state).toEqual({ a: true, c: true });
  });

  it('fails startup with the failing app\'s message and shuts down the apps already started', async () => {
    const log: string[] = [];
    const app = mount([['/a', lifespanApp('a', log)], ['/b', lifespanApp('b', log, 'startup')], ['/c', lifespanApp('c', log)]]);
    const { answers } = await runLifespan(app);
    expect(answers).toEqual(['lifespan.startup.failed: app mounted at "/b": b cannot start']);
    expect(log).toEqual(['a up', 'b up', 'a down']);
  });

  it('reports a failed shutdown after shutting down the others', async () => {
    const log: string[] = [];
    const errors: string[] = [];
    const app = mount([['/a', lifespanApp('a', log)], ['/b', lifespanApp('b', log, 'shutdown')]], {
      logger: { ...silentLogger, error: (m) => errors.push(m) },
    });
    const { answers } = await runLifespan(app);
    expect(answers).toEqual(['lifespan.startup.complete', 'lifespan.shutdown.failed: app mounted at "/b": b cannot stop']);
    expect(log).toEqual(['a up', 'b up', 'b down', 'a down']);
    expect(errors).toHaveLength(1);
  });
});

// mount() and toFetchHandler() drive each app's lifespan with the server layer's LifespanRunner.
describe('LifespanRunner edge cases', () => {
  it('shuts down cleanly when the app\'s lifespan returned right after startup', async () => {
    const runner = new LifespanRunner(async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await send({ type: 'lifespan.startup.complete' });
    });
    await runner.startup();
    await runner.shutdown(); // nobody is listening any more: must not hang
    expect(runner.supported).toBe(true);
  });

  it('has nothing to shut down after a failed startup', async () => {
    const runner = new LifespanRunner(async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await send({ type: 'lifespan.startup.failed', message: 'nope' });
    });
    await expect(runner.startup()).rejects.toBeInstanceOf(LifespanStartupFailed);
    await expect(runner.shutdown()).resolves.toBeUndefined();
  });

  it("in mode 'on', an app that raises during startup fails it", async () => {
    const runner = new LifespanRunner(async () => {
      throw new Error('no lifespan here');
    }, { mode: 'on' });
    await expect(runner.startup()).rejects.toThrow(/no lifespan here/);
  });
});
