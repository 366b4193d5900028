import { describe, expect, it } from 'vitest';
import { HttpResponseCycle, LifespanCycle, WebSocketCycle, isClientDisconnected, type Extensions } from '@tsgi/core';
import { clauseOf } from './protocol-errors.js';

const b = (s: string) => new TextEncoder().encode(s);
const ALL_HTTP_EXT: Extensions = {
  'http.response.trailers': {},
  'http.response.pathsend': {},
  'http.response.zerocopysend': {},
  'http.response.early_hint': {},
  'http.response.push': {},
  'http.response.debug': {},
  'http.response.reason_phrase': {},
};
const start = (status = 200, headers: Array<[string, string]> = [], trailers?: boolean) => ({
  type: 'http.response.start',
  status,
  headers,
  ...(trailers === undefined ? {} : { trailers }),
});
const body = (s = '', more?: boolean) => ({ type: 'http.response.body', body: b(s), ...(more === undefined ? {} : { more_body: more }) });

describe('HttpResponseCycle: happy paths', () => {
  it('start then one body', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    expect(c.started).toBe(false);
    expect(c.send(start(200, [['Content-Type', 'text/plain']]))).toEqual({
      kind: 'start',
      status: 200,
      headers: [['content-type', 'text/plain']],
      contentLength: null,
      trailers: false,
      reason: null,
      bodyless: false,
    });
    expect(c.started).toBe(true);
    expect(c.finished).toBe(false);
    expect(c.send(body('hi'))).toEqual({ kind: 'body', body: b('hi'), more: false, transmit: true });
    expect(c.finished).toBe(true);
    expect(c.bytesSent).toBe(2);
    expect(c.whenAppReturns()).toBe('complete');
  });

  it('streams chunks within content-length', () => {
    const c = new HttpResponseCycle({ method: 'POST' });
    expect(c.send(start(200, [['content-length', '5']]))).toMatchObject({ contentLength: 5 });
    expect(c.send(body('ab', true))).toMatchObject({ more: true });
    expect(c.send({ type: 'http.response.body', more_body: true })).toMatchObject({ body: new Uint8Array(0), more: true });
    expect(c.send(body('cde'))).toMatchObject({ more: false });
    expect(c.finished).toBe(true);
  });

  it('HEAD: body bytes are counted, not transmitted, and content-length is not enforced', () => {
    const c = new HttpResponseCycle({ method: 'HEAD' });
    expect(c.send(start(200, [['content-length', '100']]))).toMatchObject({ bodyless: true, contentLength: 100 });
    expect(c.send(body('hello'))).toEqual({ kind: 'body', body: b('hello'), more: false, transmit: false });
    expect(c.bytesSent).toBe(5);
  });

  it('trailers after the final body when the extension is announced', () => {
    const c = new HttpResponseCycle({ method: 'GET', extensions: ALL_HTTP_EXT });
    expect(c.send(start(200, [], true))).toMatchObject({ trailers: true });
    c.send(body('x'));
    expect(c.finished).toBe(false);
    expect(c.state).toBe('trailers');
    expect(c.send({ type: 'http.response.trailers', headers: [['x-a', '1']], more_trailers: true })).toEqual({ kind: 'trailers', headers: [['x-a', '1']], more: true });
    c.send({ type: 'http.response.trailers', headers: [['x-b', '2']] });
    expect(c.finished).toBe(true);
  });

  it('a reason_phrase (announced) reaches the start action as is, latin-1 and empty included', () => {
    for (const reason of ['Custom Reason', 'Caf\u00e9\tT\u00e9', '']) {
      const c = new HttpResponseCycle({ method: 'GET', extensions: ALL_HTTP_EXT });
      expect(c.send({ ...start(299), reason_phrase: reason })).toMatchObject({ kind: 'start', status: 299, reason });
    }
  });

  it('extension events produce their actions', () => {
    const c = new HttpResponseCycle({ method: 'GET', extensions: ALL_HTTP_EXT });
    expect(c.send({ type: 'http.response.debug', info: { template: 'x' } })).toEqual({ kind: 'debug', info: { template: 'x' } });
    expect(c.send({ type: 'http.response.early_hint', links: ['</s.css>; rel=preload'] })).toEqual({ kind: 'early_hint', links: ['</s.css>; rel=preload'] });
    c.send(start(200, [['content-length', '10']]));
    expect(c.send({ type: 'http.response.push', path: '/s.css', headers: [] })).toEqual({ kind: 'push', path: '/s.css', headers: [] });
    expect(c.send({ type: 'http.response.early_hint', links: ['</b.js>; rel=preload'] })).toEqual({ kind: 'early_hint', links: ['</b.js>; rel=preload'] });
    expect(c.send({ type: 'http.response.zerocopysend', file: 7, count: 4, more_body: true })).toEqual({ kind: 'zerocopysend', file: 7, offset: null, count: 4, more: true, transmit: true });
    expect(c.send({ type: 'http.response.pathsend', path: '/etc/hosts' })).toEqual({ kind: 'pathsend', path: '/etc/hosts', transmit: true });
    expect(c.finished).toBe(true);
  });

  it('tells the transport what to do when the app returns early', () => {
    expect(new HttpResponseCycle({ method: 'GET' }).whenAppReturns()).toBe('respond_500');
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(start());
    expect(c.whenAppReturns()).toBe('abort');
  });
});

describe('HttpResponseCycle: every rule it enforces', () => {
  const cases: Array<[string, string, Array<unknown>, { method?: string; extensions?: Extensions }?]> = [
    ['body before start', 'asgi.http.order.1', [body('x')]],
    ['pathsend before start', 'asgi.http.order.1', [{ type: 'http.response.pathsend', path: '/x' }], { extensions: ALL_HTTP_EXT }],
    ['start twice', 'asgi.http.order.2', [start(), start()]],
    ['body after the final body', 'asgi.http.order.3', [start(), body(), body()]],
    ['start after the response', 'asgi.http.order.3', [start(), body(), start()]],
    ['debug after start', 'asgi.ext.debug.3', [start(), { type: 'http.response.debug', info: {} }], { extensions: ALL_HTTP_EXT }],
    ['debug twice', 'asgi.ext.debug.3', [{ type: 'http.response.debug', info: {} }, { type: 'http.response.debug', info: {} }], { extensions: ALL_HTTP_EXT }],
    ['push before start', 'asgi.ext.push.3', [{ type: 'http.response.push', path: '/a', headers: [] }], { extensions: ALL_HTTP_EXT }],
    ['push after the final body with trailers due', 'asgi.ext.push.3', [start(200, [], true), body(), { type: 'http.response.push', path: '/a', headers: [] }], { extensions: ALL_HTTP_EXT }],
    ['push after the response', 'asgi.http.order.3', [start(), body(), { type: 'http.response.push', path: '/a', headers: [] }], { extensions: ALL_HTTP_EXT }],
    ['bad content-length', 'asgi.http.length.1', [start(200, [['content-length', '1x']])]],
    ['negative content-length', 'asgi.http.length.1', [start(200, [['content-length', '-1']])]],
    ['conflicting content-lengths', 'asgi.http.length.1', [start(200, [['content-length', '1'], ['content-length', '2']])]],
    ['too many bytes', 'asgi.http.length.2', [start(200, [['content-length', '3']]), body('ab', true), body('cd', true)]],
    ['too few bytes', 'asgi.http.length.3', [start(200, [['content-length', '3']]), body('ab', true), body('')]],
    ['zerocopysend count overflow', 'asgi.http.length.2', [start(200, [['content-length', '3']]), { type: 'http.response.zerocopysend', file: 3, count: 4 }], { extensions: ALL_HTTP_EXT }],
    ['a body on 204', 'asgi.http.body.3', [start(204), body('x')]],
    ['a body on 304', 'asgi.http.body.3', [start(304), body('x')]],
    ['trailers: true without the extension', 'asgi.ext.trailers.1', [start(200, [], true)]],
    ['trailers event without the extension', 'asgi.ext.trailers.1', [start(), body(), { type: 'http.response.trailers', headers: [] }]],
    ['trailers event without trailers: true', 'asgi.ext.trailers.4', [start(), body('x', true), { type: 'http.response.trailers', headers: [] }], { extensions: ALL_HTTP_EXT }],
    ['trailers before the final body', 'asgi.ext.trailers.4', [start(200, [], true), body('x', true), { type: 'http.response.trailers', headers: [] }], { extensions: ALL_HTTP_EXT }],
    ['body after the final body with trailers due', 'asgi.ext.trailers.4', [start(200, [], true), body('x'), body('y')], { extensions: ALL_HTTP_EXT }],
    ['trailers after the last trailers', 'asgi.http.order.3', [start(200, [], true), body(), { type: 'http.response.trailers' }, { type: 'http.response.trailers' }], { extensions: ALL_HTTP_EXT }],
    ['reason_phrase without the extension', 'asgi.ext.reason_phrase.1', [{ ...start(), reason_phrase: 'Fine' }]],
    ['reason_phrase with CR/LF', 'asgi.ext.reason_phrase.2', [{ ...start(), reason_phrase: 'OK\r\nx-injected: 1' }], { extensions: ALL_HTTP_EXT }],
    ['reason_phrase with a char above U+00FF', 'asgi.ext.reason_phrase.2', [{ ...start(), reason_phrase: 'OK \u0100' }], { extensions: ALL_HTTP_EXT }],
    ['reason_phrase that is not text', 'asgi.ext.reason_phrase.2', [{ ...start(), reason_phrase: 200 }], { extensions: ALL_HTTP_EXT }],
    ['pathsend without the extension', 'asgi.ext.pathsend.1', [start(), { type: 'http.response.pathsend', path: '/x' }]],
    ['zerocopysend without the extension', 'asgi.ext.zerocopysend.1', [start(), { type: 'http.response.zerocopysend', file: 3 }]],
    ['early_hint without the extension', 'asgi.ext.early_hint.1', [{ type: 'http.response.early_hint', links: [] }]],
    ['early_hint after the final body with trailers due', 'asgi.ext.early_hint.3', [start(200, [], true), body(), { type: 'http.response.early_hint', links: [] }], { extensions: ALL_HTTP_EXT }],
    ['early_hint after the response', 'asgi.http.order.3', [start(), body(), { type: 'http.response.early_hint', links: [] }], { extensions: ALL_HTTP_EXT }],
    ['push without the extension', 'asgi.ext.push.1', [{ type: 'http.response.push', path: '/a', headers: [] }]],
    ['debug without the extension', 'asgi.ext.debug.1', [{ type: 'http.response.debug', info: {} }]],
    ['upper-case header names in strict mode', 'asgi.events.headers.2', [start(200, [['X-A', 'b']])]],
  ];
  it.each(cases)('%s -> %s', (_, clause, events, opts) => {
    const c = new HttpResponseCycle({ method: opts?.method ?? 'GET', extensions: opts?.extensions, headerCase: 'require' });
    const last = events.pop();
    for (const e of events) c.send(e);
    expect(clauseOf(() => c.send(last))).toBe(clause);
  });

  it('throws ClientDisconnected on every send after disconnect()', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(start());
    c.disconnect();
    expect(c.disconnected).toBe(true);
    for (const e of [body('x'), start(), { type: 'nonsense' }]) {
      let err: unknown;
      try {
        c.send(e);
      } catch (x) {
        err = x;
      }
      expect(isClientDisconnected(err)).toBe(true);
    }
  });
});

describe('WebSocketCycle', () => {
  it('accept, messages, close', () => {
    const c = new WebSocketCycle({ subprotocols: ['chat', 'v2'] });
    expect(c.send({ type: 'websocket.accept', subprotocol: 'v2', headers: [['X-Y', 'z']] })).toEqual({ kind: 'accept', subprotocol: 'v2', headers: [['x-y', 'z']] });
    expect(c.accepted).toBe(true);
    expect(c.send({ type: 'websocket.send', text: 'hé' })).toEqual({ kind: 'text', text: 'hé' });
    expect(c.send({ type: 'websocket.send', bytes: b('x'), text: null })).toEqual({ kind: 'binary', bytes: b('x') });
    expect(c.whenAppReturns()).toBe('close_1000');
    expect(c.send({ type: 'websocket.close', code: 4000, reason: 'bye' })).toEqual({ kind: 'close', code: 4000, reason: 'bye' });
    expect(c.state).toBe('closed');
    expect(c.whenAppReturns()).toBe('complete');
  });

  it('close before accept is a 403; returning before accept too', () => {
    const c = new WebSocketCycle();
    expect(c.send({ type: 'websocket.close' })).toEqual({ kind: 'deny', status: 403 });
    expect(new WebSocketCycle().whenAppReturns()).toBe('deny_403');
  });

  it('close defaults to 1000 and an empty reason', () => {
    const c = new WebSocketCycle();
    c.send({ type: 'websocket.accept' });
    expect(c.send({ type: 'websocket.close', reason: null })).toEqual({ kind: 'close', code: 1000, reason: '' });
  });

  it('denial response with the websocket.http.response extension: held until its last body event, then one respond action', () => {
    const c = new WebSocketCycle({ extensions: { 'websocket.http.response': {} } });
    expect(c.send({ type: 'websocket.http.response.start', status: 401, headers: [['www-authenticate', 'Basic']] })).toEqual({ kind: 'response_pending' });
    expect(c.whenAppReturns()).toBe('abort');
    const first = b('no ');
    expect(c.send({ type: 'websocket.http.response.body', body: first, more_body: true })).toEqual({ kind: 'response_pending' });
    // The app owns its buffer again once send() returned: what it writes into it later is not sent.
    first.fill(0x78);
    expect(c.send({ type: 'websocket.http.response.body', body: b(''), more_body: true })).toEqual({ kind: 'response_pending' });
    expect(c.send({ type: 'websocket.http.response.body', body: b('way') })).toEqual({ kind: 'respond', status: 401, headers: [['www-authenticate', 'Basic']], body: b('no way') });
    expect(c.state).toBe('closed');
  });

  it('a denial response without body events answers with an empty body', () => {
    const c = new WebSocketCycle({ extensions: { 'websocket.http.response': {} } });
    c.send({ type: 'websocket.http.response.start', status: 403, headers: [] });
    expect(c.send({ type: 'websocket.http.response.body' })).toEqual({ kind: 'respond', status: 403, headers: [], body: new Uint8Array(0) });
  });

  const ext = { extensions: { 'websocket.http.response': {} } };
  const cases: Array<[string, string, Array<unknown>, ConstructorParameters<typeof WebSocketCycle>[0]?]> = [
    ['send before accept', 'asgi.websocket.order.1', [{ type: 'websocket.send', text: 'x' }]],
    ['response body before start', 'asgi.websocket.order.1', [{ type: 'websocket.http.response.body' }], ext],
    ['accept twice', 'asgi.websocket.order.2', [{ type: 'websocket.accept' }, { type: 'websocket.accept' }]],
    ['denial response after accept', 'asgi.websocket.order.2', [{ type: 'websocket.accept' }, { type: 'websocket.http.response.start', status: 403 }], ext],
    ['send after close', 'asgi.websocket.order.3', [{ type: 'websocket.accept' }, { type: 'websocket.close' }, { type: 'websocket.send', text: 'x' }]],
    ['close after close', 'asgi.websocket.order.3', [{ type: 'websocket.accept' }, { type: 'websocket.close' }, { type: 'websocket.close' }]],
    ['accept after a 403', 'asgi.websocket.order.3', [{ type: 'websocket.close' }, { type: 'websocket.accept' }]],
    ['send during a denial response', 'asgi.ext.websocket_http_response.4', [{ type: 'websocket.http.response.start', status: 403 }, { type: 'websocket.send', text: 'x' }], ext],
    ['denial response without the extension', 'asgi.ext.websocket_http_response.1', [{ type: 'websocket.http.response.start', status: 403 }]],
    ['subprotocol the client did not offer', 'asgi.websocket.accept.4', [{ type: 'websocket.accept', subprotocol: 'x' }], { subprotocols: ['chat'] }],
  ];
  it.each(cases)('%s -> %s', (_, clause, events, opts) => {
    const c = new WebSocketCycle(opts);
    const last = events.pop();
    for (const e of events) c.send(e);
    expect(clauseOf(() => c.send(last))).toBe(clause);
  });

  it('throws ClientDisconnected after disconnect() and keeps the code and reason', () => {
    const c = new WebSocketCycle();
    c.send({ type: 'websocket.accept' });
    c.disconnect(1001, 'going away');
    expect(c.closeCode).toBe(1001);
    expect(c.closeReason).toBe('going away');
    expect(c.whenAppReturns()).toBe('complete');
    let err: unknown;
    try {
      c.send({ type: 'websocket.send', text: 'x' });
    } catch (x) {
      err = x;
    }
    expect(isClientDisconnected(err)).toBe(true);
  });
});

describe('LifespanCycle', () => {
  it('startup then shutdown', () => {
    const c = new LifespanCycle();
    c.delivered({ type: 'lifespan.startup' });
    expect(c.phase).toBe('starting');
    c.send({ type: 'lifespan.startup.complete' });
    expect(c.phase).toBe('started');
    c.delivered({ type: 'lifespan.shutdown' });
    c.send({ type: 'lifespan.shutdown.failed', message: 'oops' });
    expect(c.phase).toBe('ended');
    expect(c.failure).toBe('oops');
  });

  it('startup.failed ends it', () => {
    const c = new LifespanCycle();
    c.delivered({ type: 'lifespan.startup' });
    c.send({ type: 'lifespan.startup.failed' });
    expect(c.failure).toBe('');
    expect(clauseOf(() => c.delivered({ type: 'lifespan.shutdown' }))).toBe('asgi.lifespan.order.2');
  });

  it.each([
    ['startup.complete before lifespan.startup', [], { type: 'lifespan.startup.complete' }],
    ['shutdown.complete during startup', ['lifespan.startup'], { type: 'lifespan.shutdown.complete' }],
    ['startup.complete twice', ['lifespan.startup', 'ack'], { type: 'lifespan.startup.complete' }],
  ])('%s -> asgi.lifespan.order.1', (_, steps, last) => {
    const c = new LifespanCycle();
    for (const s of steps) {
      if (s === 'ack') c.send({ type: 'lifespan.startup.complete' });
      else c.delivered({ type: s });
    }
    expect(clauseOf(() => c.send(last))).toBe('asgi.lifespan.order.1');
  });

  it('rejects a server that delivers shutdown first or startup twice', () => {
    expect(clauseOf(() => new LifespanCycle().delivered({ type: 'lifespan.shutdown' }))).toBe('asgi.lifespan.order.2');
    const c = new LifespanCycle();
    c.delivered({ type: 'lifespan.startup' });
    expect(clauseOf(() => c.delivered({ type: 'lifespan.startup' }))).toBe('asgi.lifespan.order.2');
  });
});
