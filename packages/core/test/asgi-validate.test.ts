import { describe, expect, it } from 'vitest';
import { AsgiValidationError, checkScope, isClientDisconnected, validateAsgi, type AsgiApplication, type Receive, type Scope, type Send } from '@tsgi/core';
import { b, failure, fakeServer, httpScope, lifespanScope, wsScope } from './asgi-fixtures.js';


const ok: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'http') {
    await receive();
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: b('hi') });
  }
};

describe('validateAsgi: a conforming pair passes untouched', () => {
  it('forwards events and normalizes one-shot header iterables', async () => {
    const app = validateAsgi(async (_scope, receive, send) => {
      await receive();
      function* headers() {
        yield ['content-type', 'text/plain'] as const;
      }
      await send({ type: 'http.response.start', status: 200, headers: headers() });
      await send({ type: 'http.response.body', body: b('hi') });
    });
    const srv = fakeServer([{ type: 'http.request', body: b(''), more_body: false }]);
    await app(httpScope(), srv.receive, srv.send);
    expect(srv.sent).toEqual([
      { type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']], trailers: false },
      { type: 'http.response.body', body: b('hi') },
    ]);
  });

  it('lets ClientDisconnected through and accepts an app that stops after the client left', async () => {
    const app = validateAsgi(async (_scope, receive, send) => {
      await send({ type: 'http.response.start', status: 200 });
      expect((await receive()).type).toBe('http.disconnect');
      await send({ type: 'http.response.body', body: b('x') }).catch((e) => expect(isClientDisconnected(e)).toBe(true));
    });
    const srv = fakeServer([{ type: 'http.disconnect' }], { rejectSendsAfterDisconnect: true });
    await app(httpScope(), srv.receive, srv.send);
  });

  it('accepts websocket and lifespan conversations', async () => {
    const ws = validateAsgi(async (_scope, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept', subprotocol: 'chat' });
      const m = await receive();
      if (m.type === 'websocket.receive') await send({ type: 'websocket.send', text: m.text ?? null, bytes: m.bytes ?? null });
      await receive();
    });
    const srv = fakeServer([{ type: 'websocket.connect' }, { type: 'websocket.receive', text: 'x' }, { type: 'websocket.disconnect', code: 1000 }]);
    await ws(wsScope(), srv.receive, srv.send);
    const ls = validateAsgi(async (_scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.startup.complete' });
      await receive();
      await send({ type: 'lifespan.shutdown.complete' });
    });
    const srv2 = fakeServer([{ type: 'lifespan.startup' }, { type: 'lifespan.shutdown' }]);
    await ls(lifespanScope(), srv2.receive, srv2.send);
  });
});

describe('validateAsgi: server-side violations', () => {
  const scopeCases: Array<[string, string, Scope | unknown]> = [
    ['a scope that is not an object', 'asgi.scope.type.1', 'http'],
    ['an unknown scope type', 'asgi.scope.type.1', httpScope({ type: 'tcp' })],
    ['asgi.version 2.0', 'asgi.scope.asgi.1', httpScope({ asgi: { version: '2.0' } })],
    ['a numeric spec_version', 'asgi.scope.asgi.1', httpScope({ asgi: { version: '3.0', spec_version: 2.5 } })],
    ['a spec_version that is not a version', 'asgi.scope.asgi.1', httpScope({ asgi: { version: '3.0', spec_version: 'latest' } })],
    ['extensions holding a boolean', 'asgi.scope.extensions.1', httpScope({ extensions: { 'http.response.pathsend': true } })],
    ['lifespan state that is not an object', 'asgi.lifespan.scope.2', { ...lifespanScope(), state: 5 }],
    ['http_version 1.2', 'asgi.http.scope.3', httpScope({ http_version: '1.2' })],
    ['a method with a space', 'asgi.http.scope.4', httpScope({ method: 'GET /' })],
    ['an empty scheme', 'asgi.http.scope.5', httpScope({ scheme: '' })],
    ['a path that is bytes', 'asgi.http.scope.6', httpScope({ path: b('/x') })],
    ['a raw_path above 0xFF', 'asgi.http.scope.7', httpScope({ raw_path: '/\u20ac' })],
    ['a query_string above 0xFF', 'asgi.http.scope.8', httpScope({ query_string: 'a=\u20ac' })],
    ['a root_path ending with /', 'asgi.http.scope.9', httpScope({ root_path: '/api/', path: '/api/x' })],
    ['a path without its root_path', 'asgi.http.path.1', httpScope({ root_path: '/api', path: '/x' })],
    ['a path sharing only a prefix with root_path', 'asgi.http.path.1', httpScope({ root_path: '/api', path: '/apix' })],
    ['upper-case request header names', 'asgi.http.scope.10', httpScope({ headers: [['Host', 'x']] })],
    ['a pseudo header', 'asgi.http.scope.10', httpScope({ headers: [[':authority', 'x']] })],
    ['headers as an object', 'asgi.http.scope.10', httpScope({ headers: { host: 'x' } })],
    ['a client port as a string', 'asgi.http.scope.11', httpScope({ client: ['1.2.3.4', '80'] })],
    ['a server without a port slot', 'asgi.http.scope.12', httpScope({ server: ['x'] })],
    ['state that is an array', 'asgi.http.scope.13', httpScope({ state: [] })],
    ['a websocket http_version 0.9', 'asgi.websocket.scope.3', wsScope({ http_version: '0.9' })],
    ['a websocket over HTTP/1.0', 'asgi.websocket.scope.3', wsScope({ http_version: '1.0' })],
    ['a websocket path without root_path', 'asgi.http.path.1', wsScope({ root_path: '/a', path: '/ws' })],
    ['websocket subprotocols as a string', 'asgi.websocket.scope.8', wsScope({ subprotocols: 'chat' })],
    ['an empty websocket scheme', 'asgi.websocket.scope.4', wsScope({ scheme: '' })],
    ['a websocket query_string above 0xFF', 'asgi.websocket.scope.5', wsScope({ query_string: '\u0100' })],
    ['websocket headers with a number', 'asgi.websocket.scope.6', wsScope({ headers: [['host', 1]] })],
    ['a websocket client without a port', 'asgi.websocket.scope.7', wsScope({ client: ['1.2.3.4'] })],
    ['websocket state that is a string', 'asgi.websocket.scope.9', wsScope({ state: 'x' })],
  ];
  it.each(scopeCases)('%s -> %s', async (_, clause, scope) => {
    const srv = fakeServer([]);
    const err = await failure(validateAsgi(ok)(scope as Scope, srv.receive, srv.send));
    expect(err.side).toBe('server');
    expect(err.clause).toBe(clause);
    expect(err.message).toMatch(new RegExp(`^\\[${clause.replace(/\./g, '\\.')}\\] server broke: `));
    expect(() => checkScope(scope)).toThrow(AsgiValidationError);
  });

  it('accepts a path that equals its root_path and a unix-socket server', () => {
    expect(() => checkScope(httpScope({ root_path: '/api', path: '/api' }))).not.toThrow();
    expect(() => checkScope(httpScope({ server: ['/run/app.sock', null], client: null, raw_path: null }))).not.toThrow();
  });

  const receiveApp: AsgiApplication = async (_scope, receive) => {
    for (;;) await receive();
  };
  const inboxCases: Array<[string, string, Scope, unknown[], AsgiApplication?]> = [
    ['an http.request with a string body', 'asgi.http.request.1', httpScope(), [{ type: 'http.request', body: 'x' }]],
    ['a websocket event on http', 'asgi.events.type.3', httpScope(), [{ type: 'websocket.connect' }]],
    ['http.request after the last chunk', 'asgi.http.request.3', httpScope(), [{ type: 'http.request', body: b('') }, { type: 'http.request', body: b('') }]],
    ['http.request after http.disconnect', 'asgi.http.request.3', httpScope(), [{ type: 'http.disconnect' }, { type: 'http.request', body: b('') }]],
    ['websocket.receive before websocket.connect', 'asgi.websocket.connect.1', wsScope(), [{ type: 'websocket.receive', text: 'x' }]],
    ['websocket.connect twice', 'asgi.websocket.connect.1', wsScope(), [{ type: 'websocket.connect' }, { type: 'websocket.connect' }]],
    ['websocket.receive before accept', 'asgi.websocket.connect.2', wsScope(), [{ type: 'websocket.connect' }, { type: 'websocket.receive', text: 'x' }]],
    [
      'websocket.receive after websocket.disconnect',
      'asgi.websocket.disconnect.6',
      wsScope(),
      [{ type: 'websocket.connect' }, { type: 'websocket.disconnect', code: 1000 }, { type: 'websocket.receive', text: 'x' }],
    ],
    ['lifespan.shutdown first', 'asgi.lifespan.order.2', lifespanScope(), [{ type: 'lifespan.shutdown' }]],
  ];
  it.each(inboxCases)('%s -> %s', async (_, clause, scope, inbox, app) => {
    const srv = fakeServer(inbox);
    const err = await failure(validateAsgi(app ?? receiveApp)(scope, srv.receive, srv.send));
    expect([err.side, err.clause]).toEqual(['server', clause]);
  });

  it('lifespan state: request scopes need a fresh shallow copy (asgi.lifespan.state.1 / asgi.lifespan.state.2)', async () => {
    const app = validateAsgi(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        scope.state!.pool = { name: 'pool' };
        await send({ type: 'lifespan.startup.complete' });
        return;
      }
      await ok(scope, receive, send);
    });
    const ls = lifespanScope();
    await app(ls, fakeServer([{ type: 'lifespan.startup' }]).receive, fakeServer([]).send);
    const run = (state: unknown) => {
      const srv = fakeServer([{ type: 'http.request' }]);
      return app(httpScope(state === undefined ? {} : { state }), srv.receive, srv.send);
    };
    await run({ ...ls.state });
    for (const [state, clause] of [
      [undefined, 'asgi.lifespan.state.1'],
      [ls.state, 'asgi.lifespan.state.2'],
      [{ pool: { name: 'pool' } }, 'asgi.lifespan.state.2'],
      [{ ...ls.state, extra: 1 }, 'asgi.lifespan.state.2'],
    ] as const) {
      const err = await failure(run(state));
      expect([err.side, err.clause]).toEqual(['server', clause]);
    }
  });

  it('receive() and send() that do not return Promises -> asgi.app.call.2 / asgi.app.call.3', async () => {
    const noPromiseReceive = (() => ({ type: 'http.request' })) as unknown as Receive;
    const srv = fakeServer([]);
    let err = await failure(validateAsgi(ok)(httpScope(), noPromiseReceive, srv.send));
    expect([err.side, err.clause]).toEqual(['server', 'asgi.app.call.2']);
    const noPromiseSend = (() => undefined) as unknown as Send;
    err = await failure(validateAsgi(ok)(httpScope(), fakeServer([{ type: 'http.request' }]).receive, noPromiseSend));
    expect([err.side, err.clause]).toEqual(['server', 'asgi.app.call.3']);
  });

  it('a server whose send() still resolves after it reported the client gone -> asgi.http.disconnect.3 / asgi.websocket.disconnect.4', async () => {
    const httpApp: AsgiApplication = async (_s, receive, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await receive();
      await send({ type: 'http.response.body', body: b('x') });
    };
    let srv = fakeServer([{ type: 'http.disconnect' }]);
    let err = await failure(validateAsgi(httpApp)(httpScope(), srv.receive, srv.send));
    expect([err.side, err.clause]).toEqual(['server', 'asgi.http.disconnect.3']);
    const wsApp: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
      await send({ type: 'websocket.send', text: 'x' });
    };
    srv = fakeServer([{ type: 'websocket.connect' }, { type: 'websocket.disconnect', code: 1001 }]);
    err = await failure(validateAsgi(wsApp)(wsScope(), srv.receive, srv.send));
    expect([err.side, err.clause]).toEqual(['server', 'asgi.websocket.disconnect.4']);
  });
});

describe('validateAsgi: app-side violations', () => {
  it('a reason_phrase passes where the scope announces http.response.reason_phrase, and is asgi.ext.reason_phrase.1 where it does not', async () => {
    const app = validateAsgi(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 299, reason_phrase: 'Fine Thing' });
      await send({ type: 'http.response.body' });
    });
    const announced = fakeServer([{ type: 'http.request' }]);
    await app(httpScope({ extensions: { 'http.response.reason_phrase': {} } }), announced.receive, announced.send);
    expect(announced.sent[0]).toMatchObject({ status: 299, reason_phrase: 'Fine Thing' });
    const plain = fakeServer([{ type: 'http.request' }]);
    const err = await failure(app(httpScope({ extensions: {} }), plain.receive, plain.send));
    expect([err.side, err.clause]).toEqual(['app', 'asgi.ext.reason_phrase.1']);
  });

  it('an app that is not a function -> asgi.app.call.1', () => {
    expect(() => validateAsgi(5 as unknown as AsgiApplication)).toThrow(/asgi\.app\.call\.1/);
  });

  it('an app that does not return a Promise -> asgi.app.call.1', async () => {
    const sync = (() => undefined) as unknown as AsgiApplication;
    const srv = fakeServer([]);
    const err = await failure(validateAsgi(sync)(lifespanScope(), srv.receive, srv.send));
    expect([err.side, err.clause]).toEqual(['app', 'asgi.app.call.1']);
  });

  it('send() or receive() after the app returned -> asgi.app.call.7', async () => {
    let leaked: { receive: Receive; send: Send } | null = null;
    const app = validateAsgi(async (scope, receive, send) => {
      leaked = { receive, send };
      await ok(scope, receive, send);
    });
    const srv = fakeServer([{ type: 'http.request' }]);
    await app(httpScope(), srv.receive, srv.send);
    let err = await failure(leaked!.send({ type: 'http.response.body' }));
    expect([err.side, err.clause]).toEqual(['app', 'asgi.app.call.7']);
    err = await failure(leaked!.receive());
    expect([err.side, err.clause]).toEqual(['app', 'asgi.app.call.7']);
  });

  it('a malformed or out-of-order event is thrown from send() with side app, and nothing reaches the server', async () => {
    const srv = fakeServer([]);
    const err = await failure(
      validateAsgi(async (_s, _r, send) => {
        await send({ type: 'http.response.body', body: b('x') });
      })(httpScope(), srv.receive, srv.send),
    );
    expect([err.side, err.clause]).toEqual(['app', 'asgi.http.order.1']);
    expect(err.message).toMatch(/^\[asgi\.http\.order\.1\] app broke: /);
    expect(srv.sent).toEqual([]);
  });

  it('upper-case response header names -> asgi.events.headers.2 (unless headerCase: fold)', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['Content-Type', 'x']] });
      await send({ type: 'http.response.body' });
    };
    let srv = fakeServer([]);
    const err = await failure(validateAsgi(app)(httpScope(), srv.receive, srv.send));
    expect([err.side, err.clause]).toEqual(['app', 'asgi.events.headers.2']);
    srv = fakeServer([]);
    await validateAsgi(app, { headerCase: 'fold' })(httpScope(), srv.receive, srv.send);
    expect(srv.sent[0]).toMatchObject({ headers: [['content-type', 'x']] });
  });

  it('a violation the app swallows is thrown again when it returns', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.start', status: 500 }).catch(() => undefined);
      await send({ type: 'http.response.body' });
    };
    const srv = fakeServer([]);
    const err = await failure(validateAsgi(app)(httpScope(), srv.receive, srv.send));
    expect([err.side, err.clause]).toEqual(['app', 'asgi.http.order.2']);
  });

  it('returning before the response is complete -> asgi.http.order.4', async () => {
    const srv = fakeServer([]);
    const err = await failure(
      validateAsgi(async (_s, _r, send) => {
        await send({ type: 'http.response.start', status: 200 });
      })(httpScope(), srv.receive, srv.send),
    );
    expect([err.side, err.clause]).toEqual(['app', 'asgi.http.order.4']);
  });

  it('returning in the middle of a denial response -> asgi.ext.websocket_http_response.4', async () => {
    const srv = fakeServer([{ type: 'websocket.connect' }]);
    const err = await failure(
      validateAsgi(async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.http.response.start', status: 401 });
      })(wsScope({ extensions: { 'websocket.http.response': {} } }), srv.receive, srv.send),
    );
    expect([err.side, err.clause]).toEqual(['app', 'asgi.ext.websocket_http_response.4']);
  });

  it('returning a websocket app before accepting is a refusal, not a violation', async () => {
    const srv = fakeServer([{ type: 'websocket.connect' }]);
    await validateAsgi(async (_s, receive) => {
      await receive();
    })(wsScope(), srv.receive, srv.send);
  });

  it('returning without answering lifespan.shutdown -> asgi.lifespan.shutdown.2; without answering startup is fine', async () => {
    let srv = fakeServer([{ type: 'lifespan.startup' }, { type: 'lifespan.shutdown' }]);
    const err = await failure(
      validateAsgi(async (_s, receive, send) => {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        await receive();
      })(lifespanScope(), srv.receive, srv.send),
    );
    expect([err.side, err.clause]).toEqual(['app', 'asgi.lifespan.shutdown.2']);
    srv = fakeServer([{ type: 'lifespan.startup' }]);
    await validateAsgi(async (_s, receive) => {
      await receive();
    })(lifespanScope(), srv.receive, srv.send);
  });

  it('app exceptions pass through unchanged', async () => {
    const boom = new Error('boom');
    const srv = fakeServer([]);
    await expect(
      validateAsgi(async () => {
        throw boom;
      })(httpScope(), srv.receive, srv.send),
    ).rejects.toBe(boom);
  });
});
