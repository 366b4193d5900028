import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AsgiTestClient,
  IncompleteResponseError,
  isClientDisconnected,
  isProtocolError,
  type AsgiApplication,
  type HttpReceiveEvent,
  type HttpScope,
  type Receive,
  type Send,
} from '@tsgi/core';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

/** Answers 200 with a JSON body describing the scope (minus the parts that are not JSON). */
const scopeEcho: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') throw new Error(`unexpected scope ${scope.type}`);
  const { asgi, http_version, method, scheme, path, raw_path, query_string, root_path, headers, client, server, state } = scope;
  const body = bytes(JSON.stringify({ asgi, http_version, method, scheme, path, raw_path, query_string, root_path, headers, client, server, state }));
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json'], ['content-length', String(body.byteLength)]] });
  await send({ type: 'http.response.body', body });
};

/** Records every receive() event until the body ends, then answers with the concatenated body. */
function bodyEcho(events: HttpReceiveEvent[]): AsgiApplication {
  return async (_scope, receive, send) => {
    const parts: Uint8Array[] = [];
    for (;;) {
      const e = (await receive()) as HttpReceiveEvent;
      events.push(e);
      if (e.type === 'http.disconnect') return;
      parts.push(e.body);
      if (!e.more_body) break;
    }
    await send({ type: 'http.response.start', status: 200, headers: [] });
    for (const p of parts) if (p.byteLength > 0) await send({ type: 'http.response.body', body: p, more_body: true });
    await send({ type: 'http.response.body' });
  };
}

/** A promise plus its resolve, for sequencing app and test. */
function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('AsgiTestClient: plain requests', () => {
  it('builds the scope the servers build (path, raw_path, query, client, server, default headers)', async () => {
    await using client = new AsgiTestClient(scopeEcho);
    const res = await client.get('/caf\u00e9/a%2Fb?x=1&y=%20');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toBe('application/json');
    const s = res.json<HttpScope>();
    expect(s.asgi).toEqual({ version: '3.0', spec_version: '2.5' });
    expect(s.method).toBe('GET');
    expect(s.http_version).toBe('1.1');
    expect(s.scheme).toBe('http');
    expect(s.raw_path).toBe('/caf%C3%A9/a%2Fb');
    expect(s.path).toBe('/caf\u00e9/a/b');
    expect(s.query_string).toBe('x=1&y=%20');
    expect(s.root_path).toBe('');
    expect(s.client).toEqual(['testclient', 50000]);
    expect(s.server).toEqual(['testserver', 80]);
    expect(s.headers).toEqual([
      ['host', 'testserver'],
      ['user-agent', 'tsgi-testclient'],
    ]);
  });

  it('puts root_path in front of path, and passes the connection options through', async () => {
    await using client = new AsgiTestClient(scopeEcho, {
      rootPath: '/api',
      client: ['10.0.0.7', 4321],
      server: ['example.org', 8443],
      scheme: 'https',
      headers: { 'X-Test': 'yes' },
    });
    const s = (await client.get('/items', { headers: [['Accept', 'text/plain']] })).json<HttpScope>();
    expect(s.path).toBe('/api/items');
    expect(s.root_path).toBe('/api');
    expect(s.raw_path).toBe('/api/items');
    expect(s.scheme).toBe('https');
    expect(s.client).toEqual(['10.0.0.7', 4321]);
    expect(s.headers).toEqual([
      ['host', 'example.org:8443'],
      ['user-agent', 'tsgi-testclient'],
      ['x-test', 'yes'],
      ['accept', 'text/plain'],
    ]);
  });

  it('speaks HTTP/1.0 when asked', async () => {
    await using client = new AsgiTestClient(scopeEcho);
    expect((await client.get('/', { httpVersion: '1.0' })).json<HttpScope>().http_version).toBe('1.0');
  });

  it('appends query parameters and drops the fragment, as a client does', async () => {
    await using client = new AsgiTestClient(scopeEcho);
    const q = async (path: string, query?: Record<string, string | number | string[]>): Promise<string> =>
      (await client.get(path, query === undefined ? {} : { query })).json<HttpScope>().query_string;
    expect(await q('/s', { q: 'caf\u00e9 & co', n: 2, tag: ['a', 'b'] })).toBe('q=caf%C3%A9+%26+co&n=2&tag=a&tag=b');
    expect(await q('/s?x=1', { y: '2' })).toBe('x=1&y=2');
    expect(await q('/s?x=1#frag')).toBe('x=1');
    expect((await client.get('/p#frag')).json<HttpScope>().path).toBe('/p');
  });

  it('sends a known body in one http.request event with content-length', async () => {
    const events: HttpReceiveEvent[] = [];
    let seen: HttpScope | undefined;
    const app: AsgiApplication = async (scope, receive, send) => {
      seen = scope as HttpScope;
      await bodyEcho(events)(scope, receive, send);
    };
    await using client = new AsgiTestClient(app);
    const res = await client.post('/echo', { body: 'h\u00e9llo' });
    expect(res.text()).toBe('h\u00e9llo');
    expect(events).toEqual([{ type: 'http.request', body: bytes('h\u00e9llo'), more_body: false }]);
    expect(seen!.headers).toContainEqual(['content-length', '6']);
  });

  it('sends json with its content-type, and offers the convenience methods', async () => {
    const app: AsgiApplication = async (scope, receive, send) => {
      const s = scope as HttpScope;
      const e = (await receive()) as HttpReceiveEvent & { type: 'http.request' };
      const ct = s.headers.find(([n]) => n === 'content-type')?.[1];
      const out = bytes(JSON.stringify({ method: s.method, ct, got: new TextDecoder().decode(e.body) }));
      await send({ type: 'http.response.start', status: 201, headers: [] });
      await send({ type: 'http.response.body', body: out });
    };
    await using client = new AsgiTestClient(app);
    expect((await client.put('/', { json: { a: 1 } })).json()).toEqual({ method: 'PUT', ct: 'application/json', got: '{"a":1}' });
    for (const [res, method] of [
      [await client.patch('/'), 'PATCH'],
      [await client.delete('/'), 'DELETE'],
      [await client.options('/'), 'OPTIONS'],
    ] as const) {
      expect(res.status).toBe(201);
      expect(res.json<{ method: string }>().method).toBe(method);
    }
  });

  it('drops the body of a HEAD response but keeps its headers', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '5']] });
      await send({ type: 'http.response.body', body: bytes('hello') });
    };
    await using client = new AsgiTestClient(app);
    expect((await client.get('/x')).text()).toBe('hello');
    const head = await client.head('/x');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5');
    expect(head.body.byteLength).toBe(0);
  });

  it('refuses a path that is not origin-form and header values that are not byte strings', async () => {
    await using client = new AsgiTestClient(scopeEcho);
    await expect(client.get('relative')).rejects.toThrow(/path must start with '\/'/);
    await expect(client.get('/', { headers: { x: '\u20ac' } })).rejects.toThrow(TypeError);
  });
});

describe('AsgiTestClient: streamed request bodies', () => {
  it('streams an async iterable as one http.request per chunk, pulled only when the app asks', async () => {
    const log: string[] = [];
    async function* upload(): AsyncGenerator<Uint8Array | string> {
      log.push('pull 1');
      yield 'ab';
      log.push('pull 2');
      yield bytes('cd');
      log.push('pull end');
    }
    const events: HttpReceiveEvent[] = [];
    const app: AsgiApplication = async (scope, receive, send) => {
      log.push('app start');
      const chunked = (scope as HttpScope).headers.some(([n, v]) => n === 'transfer-encoding' && v === 'chunked');
      log.push(`chunked ${chunked}`);
      await bodyEcho(events)(scope, receive, send);
    };
    await using client = new AsgiTestClient(app);
    const res = await client.post('/upload', { body: upload() });
    expect(res.text()).toBe('abcd');
    expect(log).toEqual(['app start', 'chunked true', 'pull 1', 'pull 2', 'pull end']);
    expect(events).toEqual([
      { type: 'http.request', body: bytes('ab'), more_body: true },
      { type: 'http.request', body: bytes('cd'), more_body: true },
      { type: 'http.request', body: new Uint8Array(0), more_body: false },
    ]);
  });

  it('streams a sync iterable, and keeps a content-length the test set itself', async () => {
    const events: HttpReceiveEvent[] = [];
    let headers: HttpScope['headers'] = [];
    const app: AsgiApplication = async (scope, receive, send) => {
      headers = (scope as HttpScope).headers;
      await bodyEcho(events)(scope, receive, send);
    };
    await using client = new AsgiTestClient(app);
    const res = await client.post('/', { body: [bytes('12'), '345'], headers: { 'content-length': '5' } });
    expect(res.text()).toBe('12345');
    expect(headers.filter(([n]) => n === 'content-length' || n === 'transfer-encoding')).toEqual([['content-length', '5']]);
    expect(events.map((e) => (e.type === 'http.request' ? e.more_body : null))).toEqual([true, true, false]);
  });

  it('after the body, receive() waits for the response to complete and then says http.disconnect', async () => {
    const order: string[] = [];
    const app: AsgiApplication = async (_scope, receive, send) => {
      await receive();
      const watcher = receive().then((e) => order.push(`watcher: ${e.type}`));
      await Promise.resolve();
      order.push('responding');
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
      await watcher;
    };
    await using client = new AsgiTestClient(app);
    expect((await client.get('/')).status).toBe(204);
    expect(order).toEqual(['responding', 'watcher: http.disconnect']);
  });
});

describe('AsgiTestClient: streamed responses and backpressure', () => {
  it('resolves stream() at http.response.start and hands chunks over one at a time', async () => {
    const sent: string[] = [];
    const started = signal();
    const proceed = signal();
    const app: AsgiApplication = async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      sent.push('start');
      started.resolve();
      await proceed.promise;
      for (const part of ['one', 'two', 'three']) {
        await send({ type: 'http.response.body', body: bytes(part), more_body: true });
        sent.push(part);
      }
      await send({ type: 'http.response.body' });
      sent.push('end');
    };
    await using client = new AsgiTestClient(app);
    const res = await client.stream('GET', '/events');
    proceed.resolve();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain');
    await started.promise;
    const it = res[Symbol.asyncIterator]();
    const first = await it.next();
    expect(new TextDecoder().decode(first.value as Uint8Array)).toBe('one');
    // Every pending microtask has run by setImmediate: the app's send of 'two' still waits for the test to take it.
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual(['start', 'one']);
    expect(new TextDecoder().decode((await it.next()).value as Uint8Array)).toBe('two');
    const rest = await res.read();
    expect(rest.text()).toBe('onetwothree');
    expect(rest.chunks.map((c) => new TextDecoder().decode(c))).toEqual(['one', 'two', 'three']);
    expect(sent).toEqual(['start', 'one', 'two', 'three', 'end']);
  });

  it('leaving the loop early disconnects: send() throws ClientDisconnected and receive() says http.disconnect', async () => {
    const seen: unknown[] = [];
    const app: AsgiApplication = async (_scope, receive, send) => {
      await receive();
      await send({ type: 'http.response.start', status: 200 });
      try {
        for (let i = 0; ; i++) await send({ type: 'http.response.body', body: bytes(`tick ${i}\n`), more_body: true });
      } catch (e) {
        seen.push(isClientDisconnected(e) ? 'ClientDisconnected' : e);
      }
      seen.push((await receive()).type);
    };
    await using client = new AsgiTestClient(app);
    const res = await client.stream('GET', '/ticks');
    let n = 0;
    for await (const chunk of res) {
      expect(new TextDecoder().decode(chunk)).toBe(`tick ${n}\n`);
      if (++n === 3) break;
    }
    // break awaited the app's return.
    expect(seen).toEqual(['ClientDisconnected', 'http.disconnect']);
  });

  it('close() while a next() is pending ends both: the pending read rejects with ClientDisconnected', async () => {
    const app: AsgiApplication = async (_scope, receive, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await receive();
      // The request body is done: this receive() waits for the disconnect.
      expect((await receive()).type).toBe('http.disconnect');
    };
    await using client = new AsgiTestClient(app);
    const res = await client.stream('GET', '/');
    const pending = res[Symbol.asyncIterator]().next();
    await res.close();
    await expect(pending).rejects.toSatisfy(isClientDisconnected);
  });

  it('an AbortSignal disconnects mid-request: the app hears http.disconnect and request() rejects with the reason', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    async function* neverEnding(): AsyncGenerator<string> {
      yield 'first';
      await new Promise(() => undefined);
    }
    const app: AsgiApplication = async (_scope, receive) => {
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        seen.push(e.type);
        if (e.type === 'http.request') controller.abort();
        if (e.type === 'http.disconnect') return;
      }
    };
    await using client = new AsgiTestClient(app);
    await expect(client.post('/upload', { body: neverEnding(), signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual(['http.request', 'http.disconnect']);
  });

  it('a body source that fails is a client breaking off its upload: the app hears http.disconnect, the request rejects with the failure', async () => {
    async function* failing(): AsyncGenerator<string> {
      yield 'part';
      throw new Error('network gone');
    }
    const seen: string[] = [];
    const app: AsgiApplication = async (_scope, receive, send) => {
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        seen.push(e.type);
        if (e.type === 'http.disconnect') break;
      }
      // A send after the disconnect is refused, as by a server.
      await expect(send({ type: 'http.response.start', status: 200 })).rejects.toSatisfy(isClientDisconnected);
    };
    await using client = new AsgiTestClient(app);
    await expect(client.post('/', { body: failing() })).rejects.toThrow('network gone');
    expect(seen).toEqual(['http.request', 'http.disconnect']);
  });

  it('an already aborted signal never calls the app', async () => {
    let called = false;
    await using client = new AsgiTestClient(async () => {
      called = true;
    });
    await expect(client.get('/', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(called).toBe(false);
  });

  it('close() of the client disconnects responses nobody finished reading', async () => {
    let outcome = '';
    const app: AsgiApplication = async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200 });
      try {
        for (;;) await send({ type: 'http.response.body', body: bytes('x'), more_body: true });
      } catch (e) {
        outcome = isClientDisconnected(e) ? 'disconnected' : String(e);
      }
    };
    const client = new AsgiTestClient(app);
    await client.stream('GET', '/');
    await client.close();
    expect(outcome).toBe('disconnected');
    await expect(client.get('/')).rejects.toThrow(/closed/);
  });
  it('close() reports an app that never returns instead of hanging', async () => {
    const app: AsgiApplication = async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await new Promise(() => undefined);
    };
    const client = new AsgiTestClient(app, { closeTimeoutMs: 50 });
    await client.stream('GET', '/');
    await expect(client.close()).rejects.toThrow(/1 app call\(s\) did not return .* within 50 ms/);
  });
});

describe('AsgiTestClient: app errors and protocol mistakes', () => {
  const boom: AsgiApplication = async () => {
    throw new Error('boom');
  };
  const boomAfterStart: AsgiApplication = async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: 200 });
    await send({ type: 'http.response.body', body: bytes('partial'), more_body: true });
    throw new Error('late boom');
  };

  it('raises the app exception by default, like Starlette', async () => {
    await using client = new AsgiTestClient(boom);
    await expect(client.get('/')).rejects.toThrow('boom');
  });

  it('with raiseServerExceptions: false answers 500 without leaking the error', async () => {
    await using client = new AsgiTestClient(boom, { raiseServerExceptions: false });
    const res = await client.get('/');
    expect(res.status).toBe(500);
    expect(res.text()).toBe('Internal Server Error');
    expect(res.text()).not.toContain('boom');
  });

  it('an exception after the response started cuts the response', async () => {
    await using raising = new AsgiTestClient(boomAfterStart);
    await expect(raising.get('/')).rejects.toThrow('late boom');
    await using quiet = new AsgiTestClient(boomAfterStart, { raiseServerExceptions: false });
    const res = await quiet.stream('GET', '/');
    expect(res.status).toBe(200);
    await expect(res.read()).rejects.toBeInstanceOf(IncompleteResponseError);
  });

  it('an app that returns without responding: the validator names asgi.http.order.4, the client alone asgi.app.return.1, or a 500', async () => {
    const silent: AsgiApplication = async () => undefined;
    await using validated = new AsgiTestClient(silent);
    await expect(validated.get('/')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.http.order.4');
    await using raising = new AsgiTestClient(silent, { validate: false });
    await expect(raising.get('/')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.app.return.1');
    await using quiet = new AsgiTestClient(silent, { raiseServerExceptions: false, validate: false });
    expect((await quiet.get('/')).status).toBe(500);
  });

  it('an app that stops mid-body breaks asgi.app.return.2', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: bytes('a'), more_body: true });
    };
    await using client = new AsgiTestClient(app, { validate: false });
    await expect(client.get('/')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.app.return.2');
  });

  for (const validate of [true, false]) {
    it(`surfaces the clause id of a protocol mistake (validate: ${validate})`, async () => {
      const bodyFirst: AsgiApplication = async (_s, _r, send) => {
        await send({ type: 'http.response.body', body: bytes('x') });
      };
      const shortBody: AsgiApplication = async (_s, _r, send) => {
        await send({ type: 'http.response.start', status: 200, headers: [['content-length', '10']] });
        await send({ type: 'http.response.body', body: bytes('short') });
      };
      await using a = new AsgiTestClient(bodyFirst, { validate });
      const err = await a.get('/').catch((e: unknown) => e);
      expect(isProtocolError(err) && err.clause).toBe('asgi.http.order.1');
      // The validator also says who broke the rule; the bare cycle (what a server runs) just names the clause.
      if (validate) expect(err).toMatchObject({ name: 'AsgiValidationError', side: 'app' });
      await using b = new AsgiTestClient(shortBody, { validate });
      await expect(b.get('/')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.http.length.3');
    });
  }
});

describe('AsgiTestClient: response extensions', () => {
  const ANNOUNCED = {
    'http.response.trailers': {},
    'http.response.early_hint': {},
    'http.response.pathsend': {},
    'http.response.debug': {},
  } as const;

  it('announces what @tsgi/uws announces by default', async () => {
    let http: HttpScope['extensions'];
    let ws: HttpScope['extensions'];
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'websocket') {
        ws = scope.extensions;
        await receive();
        await send({ type: 'websocket.close' });
        return;
      }
      http = (scope as HttpScope).extensions;
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
    };
    await using client = new AsgiTestClient(app);
    await client.get('/');
    await client.websocket('/').catch(() => undefined);
    expect(Object.keys(http ?? {}).sort()).toEqual(['http.response.pathsend', 'http.response.reason_phrase', 'http.response.zerocopysend']);
    expect(Object.keys(ws ?? {})).toEqual(['websocket.http.response']);
  });

  it('reports the reason phrase a server would send: the app\'s reason_phrase, else the standard one', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      const s = scope as HttpScope;
      if (s.path === '/custom') await send({ type: 'http.response.start', status: 299, reason_phrase: 'Custom Reason' });
      else await send({ type: 'http.response.start', status: 404 });
      await send({ type: 'http.response.body' });
    };
    await using client = new AsgiTestClient(app);
    expect([(await client.get('/custom')).reason, (await client.get('/other')).reason]).toEqual(['Custom Reason', 'Not Found']);
    await using strict = new AsgiTestClient(app, { extensions: {} });
    await expect(strict.get('/custom')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.ext.reason_phrase.1');
  });

  it('carries out trailers, early hints, pathsend and debug when announced, and records what the app sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-testclient-'));
    const file = join(dir, 'hello.txt');
    writeFileSync(file, 'x'.repeat(200_000));
    const app: AsgiApplication = async (scope, _receive, send) => {
      const s = scope as HttpScope;
      expect(s.extensions).toBe(ANNOUNCED);
      if (s.path === '/file') {
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.pathsend', path: file });
        return;
      }
      await send({ type: 'http.response.early_hint', links: ['</style.css>; rel=preload; as=style'] });
      await send({ type: 'http.response.debug', info: { template: 'index.html' } });
      await send({ type: 'http.response.start', status: 200, trailers: true });
      await send({ type: 'http.response.body', body: bytes('body') });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']], more_trailers: true });
      await send({ type: 'http.response.trailers', headers: [['x-done', '1']] });
    };
    await using client = new AsgiTestClient(app, { extensions: ANNOUNCED });
    const res = await client.get('/');
    expect(res.text()).toBe('body');
    expect(res.earlyHints).toEqual([['</style.css>; rel=preload; as=style']]);
    expect(res.debug).toEqual([{ template: 'index.html' }]);
    expect(res.trailers?.toJSON()).toEqual({ 'x-checksum': 'abc', 'x-done': '1' });
    const file200k = await client.get('/file');
    expect(file200k.body.byteLength).toBe(200_000);
    expect(file200k.chunks.length).toBeGreaterThan(1);
  });

  it('carries out zerocopysend (offset, count, more_body) and push when they are announced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-testclient-'));
    const file = join(dir, 'digits.txt');
    writeFileSync(file, '0123456789'.repeat(10_000));
    const app: AsgiApplication = async (_scope, _receive, send) => {
      const fd = openSync(file, 'r');
      try {
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.push', path: '/style.css', headers: [['accept', 'text/css']] });
        await send({ type: 'http.response.zerocopysend', file: fd, offset: 3, count: 4, more_body: true });
        await send({ type: 'http.response.zerocopysend', file: fd, offset: 99_990 });
      } finally {
        closeSync(fd);
      }
    };
    await using client = new AsgiTestClient(app, { extensions: { 'http.response.zerocopysend': {}, 'http.response.push': {} } });
    const res = await client.get('/');
    expect(res.text()).toBe('3456' + '0123456789');
    expect(res.pushes.map((p) => [p.path, p.headers.get('accept')])).toEqual([['/style.css', 'text/css']]);
  });

  it('refuses an extension event the scope does not announce', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.early_hint', links: ['</a>'] });
    };
    await using client = new AsgiTestClient(app, { extensions: {}, validate: false });
    await expect(client.get('/')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.ext.early_hint.1');
  });
});

export type { Receive, Send };
