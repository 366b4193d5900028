/**
 * The example framework, in process through @tsgi/core's AsgiTestClient
 * (which validates every event the app sends): routing, request helpers,
 * responses, errors, middleware, lifespan, WebSocket views, and sync views
 * on worker threads through @tsgi/bridge.
 */
import { AsgiTestClient, isClientDisconnected, WebSocketDenied, type Receive, type Scope, type Send } from '@tsgi/core';
import type { WsgiToAsgiOptions } from '@tsgi/bridge';
import { describe, expect, it, vi } from 'vitest';
import { createApp, HttpError, json, Response, Router, syncViews, text, type App } from '../framework/index.js';

const SYNC_VIEWS = { module: new URL('./fixtures/sync-views.ts', import.meta.url).href, exportName: 'views' };

class Teapot extends Error {}

function buildApp(logger = vi.fn()): App {
  const app = createApp({ maxBodySize: 32, logger });
  app.get('/', () => 'hello');
  app.get('/users/:id', (req) => ({ id: req.params['id'], page: req.query.get('page'), agent: req.headers.get('user-agent') }));
  app.get('/files/*rest', (req) => req.params['rest']!);
  app.post('/echo', async (req) => json(await req.json(), { status: 201 }));
  app.put('/text', async (req) => (await req.text()).toUpperCase());
  app.delete('/users/:id', () => null);
  app.get('/custom', () => new Response('raw', { status: 202, headers: { 'x-a': '1', 'set-cookie': 'a=1' } }));
  app.get('/cookies', () => {
    const res = text('two');
    res.headers.append('set-cookie', 'a=1');
    res.headers.append('set-cookie', 'b=2');
    return res;
  });
  app.get('/stream', () => new Response((async function* () {
    for (const part of ['a', 'b', 'c']) yield new TextEncoder().encode(part);
  })()));
  app.get('/missing', () => {
    throw new HttpError(404, 'no such thing');
  });
  app.get('/teapot', () => {
    throw new Teapot();
  });
  app.get('/bug', () => {
    throw new Error('secret detail');
  });
  app.get('/state', (req) => ({ started: req.state['started'] }));
  app.onError(Teapot, () => json({ error: 'teapot' }, { status: 418 }));
  app.onError(404, (e, req) => json({ error: (e as Error).message, path: req.path }, { status: 404 }));
  app.onStartup((state) => {
    state['started'] = 'yes';
  });
  return app;
}

describe('routing and responses', () => {
  it('answers text, JSON, params, query and headers', async () => {
    await using client = await AsgiTestClient.start(buildApp());
    const hello = await client.get('/');
    expect([hello.status, hello.text(), hello.headers.get('content-type'), hello.headers.get('content-length')]).toEqual([200, 'hello', 'text/plain; charset=utf-8', '5']);
    const user = await client.get('/users/42', { query: { page: 3 }, headers: { 'user-agent': 'vitest' } });
    expect(user.json()).toEqual({ id: '42', page: '3', agent: 'vitest' });
    expect((await client.get('/files/a/b/c.txt')).text()).toBe('a/b/c.txt');
    expect((await client.delete('/users/1')).status).toBe(204);
  });

  it('reads JSON and text bodies, and refuses bad or oversized ones with the right status', async () => {
    await using client = await AsgiTestClient.start(buildApp());
    const echoed = await client.post('/echo', { json: { n: 1 } });
    expect([echoed.status, echoed.json()]).toEqual([201, { n: 1 }]);
    expect((await client.put('/text', { body: 'shout' })).text()).toBe('SHOUT');
    expect((await client.post('/echo', { body: '{"n":1}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await client.post('/echo', { body: '{nope', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await client.post('/echo', { json: { long: 'x'.repeat(100) } })).status).toBe(413);
    // A chunked body (no Content-Length) is cut off at the limit as it arrives.
    const chunked = await client.put('/text', { body: (function* () { for (let i = 0; i < 10; i++) yield 'xxxxxxxx'; })() });
    expect(chunked.status).toBe(413);
  });

  it('sends custom responses, each Set-Cookie on its own, streamed bodies, and HEAD without a body', async () => {
    await using client = await AsgiTestClient.start(buildApp());
    const custom = await client.get('/custom');
    expect([custom.status, custom.text(), custom.headers.get('x-a'), custom.headers.get('set-cookie')]).toEqual([202, 'raw', '1', 'a=1']);
    expect((await client.get('/cookies')).headers.getAll('set-cookie')).toEqual(['a=1', 'b=2']);
    const streamed = await client.get('/stream');
    expect(streamed.text()).toBe('abc');
    expect(streamed.chunks.length).toBe(3);
    const head = await client.head('/');
    expect([head.status, head.body.byteLength, head.headers.get('content-length')]).toEqual([200, 0, '5']);
  });

  it('answers 404 and 405 (with Allow), and routes errors to their handlers by status or class', async () => {
    await using client = await AsgiTestClient.start(buildApp());
    const missing = await client.get('/nowhere');
    expect([missing.status, missing.json()]).toEqual([404, { error: 'Not Found', path: '/nowhere' }]);
    expect((await client.get('/missing')).json()).toEqual({ error: 'no such thing', path: '/missing' });
    const wrong = await client.post('/users/1');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('DELETE, GET, HEAD');
    expect((await client.get('/teapot')).json()).toEqual({ error: 'teapot' });
  });

  it('logs an unexpected exception and answers a bare 500 that leaks nothing', async () => {
    const logger = vi.fn();
    await using client = await AsgiTestClient.start(buildApp(logger));
    const res = await client.get('/bug');
    expect([res.status, res.text()]).toEqual([500, 'Internal Server Error\n']);
    expect(logger).toHaveBeenCalledTimes(1);
    expect(String(logger.mock.calls[0]![1])).toContain('secret detail');
  });

  it('runs lifespan hooks and copies their state into requests', async () => {
    await using client = await AsgiTestClient.start(buildApp());
    expect((await client.get('/state')).json()).toEqual({ started: 'yes' });
  });

  it('fails startup with the hook’s message', async () => {
    const app = createApp().onStartup(() => {
      throw new Error('database unreachable');
    });
    await expect(AsgiTestClient.start(app)).rejects.toThrow(/database unreachable/);
  });

  it('rejects malformed route patterns when they are declared', () => {
    expect(() => createApp().get('users', () => '')).toThrow(/must start with "\/"/);
    expect(() => createApp().get('/a/:id/:id', () => '')).toThrow(/appears twice/);
    expect(() => createApp().get('/*rest/x', () => '')).toThrow(/last segment/);
  });
});

describe('middleware', () => {
  it('wraps every request in order, sees error responses, and may answer on its own', async () => {
    const seen: string[] = [];
    const app = createApp()
      .use(async (req, next) => {
        seen.push(`outer ${req.path}`);
        const res = await next();
        res.headers.set('x-outer', String(res.status));
        return res;
      })
      .use(async (req, next) => {
        if (req.headers.get('authorization') !== 'secret') return text('no', { status: 401 });
        return next();
      })
      .get('/', () => 'in');
    await using client = await AsgiTestClient.start(app);
    const denied = await client.get('/');
    expect([denied.status, denied.headers.get('x-outer')]).toEqual([401, '401']);
    const ok = await client.get('/', { headers: { authorization: 'secret' } });
    expect([ok.text(), ok.headers.get('x-outer')]).toEqual(['in', '200']);
    const missing = await client.get('/x', { headers: { authorization: 'secret' } });
    expect(missing.headers.get('x-outer')).toBe('404');
    expect(seen).toEqual(['outer /', 'outer /', 'outer /x']);
  });
});

describe('WebSocket views', () => {
  const app = createApp().ws('/echo/:room', async (ws) => {
    await ws.accept();
    await ws.sendJson({ room: ws.params['room'], who: ws.query.get('who') });
    for await (const message of ws) {
      if (message === 'bye') return ws.close(4000, 'bye');
      await ws.send(typeof message === 'string' ? message.toUpperCase() : message);
    }
  });

  it('accepts, echoes text and bytes, and closes with the handler’s code', async () => {
    await using client = await AsgiTestClient.start(app);
    await using ws = await client.websocket('/echo/lobby?who=ann');
    expect(JSON.parse(await ws.receiveText())).toEqual({ room: 'lobby', who: 'ann' });
    ws.sendText('hi');
    expect(await ws.receiveText()).toBe('HI');
    ws.sendBytes(new Uint8Array([1, 2]));
    expect([...(await ws.receiveBytes())]).toEqual([1, 2]);
    ws.sendText('bye');
    expect(await ws.receiveClose()).toEqual({ code: 4000, reason: 'bye' });
  });

  it('refuses a handshake on a path with no WebSocket route', async () => {
    await using client = await AsgiTestClient.start(app);
    await expect(client.websocket('/nowhere')).rejects.toBeInstanceOf(WebSocketDenied);
  });

  it('closes with 1011 when the handler fails after accepting', async () => {
    const logger = vi.fn();
    const failing = createApp({ logger }).ws('/', async (ws) => {
      await ws.accept();
      throw new Error('boom');
    });
    await using client = await AsgiTestClient.start(failing, { raiseServerExceptions: false });
    await using ws = await client.websocket('/');
    expect((await ws.receiveClose()).code).toBe(1011);
    expect(logger).toHaveBeenCalledTimes(1);
  });
});

describe('sync views (mountSync: WSGI-TS on worker threads through @tsgi/bridge)', () => {
  /** Collects what the sync views write to wsgi.errors (the bridge's logger gets it, from any thread). */
  const collectingLogger = (lines: string[]): NonNullable<WsgiToAsgiOptions['logger']> => ({
    debug() {},
    info() {},
    warning() {},
    error: (message) => void lines.push(message),
    access() {},
  });
  const build = (threads: number, logged: string[] = []) =>
    createApp()
      .use(async (_req, next) => {
        const res = await next();
        res.headers.set('x-middleware', 'ran');
        return res;
      })
      .get('/async', () => 'async')
      .mountSync('/sync', SYNC_VIEWS, { threads, logger: collectingLogger(logged) });

  for (const threads of [0, 2]) {
    it(`routes below the prefix, with params, JSON bodies, errors and middleware (threads: ${threads})`, async () => {
      const logged: string[] = [];
      await using client = await AsgiTestClient.start(build(threads, logged));
      const root = await client.get('/sync');
      expect(root.json()).toEqual({ where: 'sync', path: '/sync', pathInfo: '' });
      expect(root.headers.get('x-middleware')).toBe('ran');
      expect((await client.get('/sync/items/7', { query: { q: 'é' } })).json()).toEqual({ id: '7', q: 'é' });
      const echoed = await client.post('/sync/echo', { json: { a: [1, 2] } });
      expect([echoed.status, echoed.json(), echoed.headers.get('x-sync')]).toEqual([201, { got: { a: [1, 2] } }, 'yes']);
      expect((await client.post('/sync/echo', { json: 'x'.repeat(100) })).status).toBe(413);
      const teapot = await client.get('/sync/teapot');
      expect([teapot.status, teapot.text()]).toEqual([418, 'short and stout\n']);
      expect((await client.get('/sync/conflict')).json()).toEqual({ error: 'taken' });
      const bug = await client.get('/sync/bug');
      expect([bug.status, bug.text()]).toEqual([500, 'Internal Server Error\n']);
      expect((await client.get('/sync/promise')).status).toBe(500);
      expect((await client.get('/sync/nowhere')).status).toBe(404);
      expect((await client.post('/sync/items/1')).headers.get('allow')).toBe('GET, HEAD');
      expect((await client.get('/async')).text()).toBe('async');
      // Bugs are logged server-side (and only bugs: the Conflict had its handler, the 418 was an HttpError).
      await vi.waitFor(() => expect(logged.join('\n')).toMatch(/secret detail[\s\S]*returned a Promise/));
      expect(logged.join('\n')).not.toMatch(/taken|short and stout/);
    });
  }

  for (const threads of [0, 2]) {
    it(`runs the async views of a sync table (Flask's model) on the event loop's thread, or a helper thread inline (threads: ${threads})`, async () => {
      await using client = await AsgiTestClient.start(build(threads));
      // On worker threads the view runs on the server's loop (this thread); inline there is none, so a helper thread has one.
      expect((await client.get('/sync/async/7', { query: { q: 'é' } })).json()).toEqual({ id: '7', q: 'é', mainThread: threads > 0 });
      const echoed = await client.post('/sync/async-echo', { json: { a: [1, 2] } });
      expect([echoed.status, echoed.json(), echoed.headers.get('x-async'), echoed.headers.get('x-middleware')]).toEqual([201, { got: { a: [1, 2] } }, 'yes', 'ran']);
      expect((await client.post('/sync/async-echo', { json: 'x'.repeat(100) })).status).toBe(413);
      const missing = await client.get('/sync/async-missing');
      expect([missing.status, missing.text()]).toEqual([404, 'no such thing\n']);
    });
  }

  it('refuses an async view in a table that does not say where it is exported', () => {
    expect(() => syncViews().get('/x', async () => 'x')).toThrow(/async view for GET \/x: .*syncViews\(\{ module: import\.meta\.url/);
  });

  it('a blocking sync view does not block async views or other sync views', async () => {
    await using client = await AsgiTestClient.start(build(2));
    const started = performance.now();
    const blocked = client.get('/sync/block', { query: { ms: 1500 } });
    // While one thread sleeps, the event loop and the other thread keep answering.
    for (let i = 0; i < 5; i++) expect((await client.get('/async')).text()).toBe('async');
    expect((await client.get('/sync/items/1')).status).toBe(200);
    const fastDone = performance.now() - started;
    expect((await blocked).text()).toBe('blocked');
    expect(fastDone).toBeLessThan(performance.now() - started);
    expect(fastDone).toBeLessThan(1500);
  });
});

describe('mount (any ASGI app below a prefix)', () => {
  it('streams a mounted app’s body with backpressure, and stops it when the client leaves', async () => {
    let produced = 0;
    let ended: unknown = null;
    const producer = async (scope: Scope, _receive: Receive, send: Send): Promise<void> => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['x-root', scope.root_path]] });
      try {
        for (;;) {
          await send({ type: 'http.response.body', body: new Uint8Array(1024), more_body: true });
          produced++;
        }
      } catch (e) {
        ended = e;
      }
    };
    const app = createApp().mount('/feed', producer);
    await using client = await AsgiTestClient.start(app);
    const res = await client.stream('GET', '/feed/x');
    expect(res.headers.get('x-root')).toBe('/feed');
    let taken = 0;
    for await (const _chunk of res) if (++taken === 3) break;
    await vi.waitFor(() => expect(isClientDisconnected(ended)).toBe(true));
    // The producer never ran more than a chunk or two ahead of the client.
    expect(produced).toBeLessThanOrEqual(taken + 2);
  });

  it('answers HEAD through a mounted streaming app without a body, and lets the app finish', async () => {
    let finished = false;
    const app = createApp().mount('/m', async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200 });
      for (let i = 0; i < 3; i++) await send({ type: 'http.response.body', body: new Uint8Array(8), more_body: true });
      await send({ type: 'http.response.body' });
      finished = true;
    });
    await using client = await AsgiTestClient.start(app);
    const head = await client.head('/m');
    expect([head.status, head.body.byteLength, finished]).toEqual([200, 0, true]);
    expect((await client.get('/m')).body.byteLength).toBe(24);
  });
});

describe('route patterns', () => {
  it('matches literal segments literally, params one segment, *rest the remainder', () => {
    const router = new Router<string>();
    router.add('GET', '/files/a.b', 'literal');
    router.add('GET', '/users/:id/posts/:post', 'params');
    router.add('*', '/any/*rest', 'rest');
    expect(router.match('GET', '/files/a.b')).toMatchObject({ kind: 'found', handler: 'literal' });
    expect(router.match('GET', '/files/aXb')).toEqual({ kind: 'not-found' });
    expect(router.match('GET', '/users/1/posts/2')).toEqual({ kind: 'found', handler: 'params', params: { id: '1', post: '2' } });
    expect(router.match('GET', '/users/1/posts')).toEqual({ kind: 'not-found' });
    expect(router.match('GET', '/users//posts/2')).toEqual({ kind: 'not-found' });
    expect(router.match('PATCH', '/any/x/y')).toEqual({ kind: 'found', handler: 'rest', params: { rest: 'x/y' } });
    expect(router.match('HEAD', '/files/a.b')).toMatchObject({ kind: 'found' });
    expect(router.match('POST', '/files/a.b')).toEqual({ kind: 'method-not-allowed', allowed: ['GET', 'HEAD'] });
  });
});
