import { describe, expect, it } from 'vitest';
import { ClientDisconnected, isProtocolError, validateAsgi, type AsgiApplication, type HttpScope, type ReceiveEvent } from '@tsgi/core';
import { silentLogger } from '@tsgi/core/server';
import { toFetchHandler } from '../src/index.js';
import { bytes } from './harness.js';

const quiet = silentLogger;
const tick = () => new Promise((r) => setImmediate(r));

// An app that answers with its scope as JSON.
const scopeApp: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  const { asgi, ...rest } = scope;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: bytes(JSON.stringify(rest)) });
};

describe('toFetchHandler: the scope', () => {
  it('builds the http scope from the Request (method, path, raw_path, query, headers, server, client)', async () => {
    const handler = toFetchHandler(scopeApp);
    const res = await handler(new Request('http://api.example:8080/a%20b/%C3%A9?x=1&y=%2F', { headers: { 'X-Custom': 'v', Cookie: 'a=1' } }), {
      remoteAddr: { hostname: '10.0.0.7', port: 5555 },
    });
    expect(res.status).toBe(200);
    const scope = (await res.json()) as HttpScope;
    expect(scope).toMatchObject({
      type: 'http',
      method: 'GET',
      scheme: 'http',
      http_version: '1.1',
      path: '/a b/é',
      raw_path: '/a%20b/%C3%A9',
      query_string: 'x=1&y=%2F',
      root_path: '',
      server: ['api.example', 8080],
      client: ['10.0.0.7', 5555],
      state: {},
    });
    expect(scope.headers).toContainEqual(['x-custom', 'v']);
    expect(scope.headers).toContainEqual(['cookie', 'a=1']);
  });

  it('reads server and target from the URL as a URL object would: IPv6 hosts, default and explicit ports, an empty query', async () => {
    const handler = toFetchHandler(scopeApp);
    const scopeOf = async (url: string) => (await (await handler(new Request(url))).json()) as HttpScope;
    for (const url of ['http://[::1]:8000/a?b=1', 'https://[2001:db8::1]/x', 'http://h:81/y', 'http://h/z?', 'http://h:80/%7E?q=%20']) {
      const expected = new URL(url);
      const https = expected.protocol === 'https:';
      expect(await scopeOf(url)).toMatchObject({
        scheme: https ? 'https' : 'http',
        server: [expected.hostname.replace(/^\[|\]$/g, ''), expected.port === '' ? (https ? 443 : 80) : Number(expected.port)],
        raw_path: expected.pathname,
        query_string: expected.search.slice(1),
      });
    }
  });

  it("reads the client from @hono/node-server's bindings too", async () => {
    const handler = toFetchHandler(scopeApp);
    const res = await handler(new Request('http://h/'), { incoming: { socket: { remoteAddress: '::1', remotePort: 9 } } });
    expect(((await res.json()) as HttpScope).client).toEqual(['::1', 9]);
  });

  it('puts rootPath in root_path and in front of path (uvicorn --root-path)', async () => {
    const handler = toFetchHandler(scopeApp, { rootPath: '/api', client: ['1.2.3.4', 1] });
    const scope = (await (await handler(new Request('https://h/users'))).json()) as HttpScope;
    expect(scope).toMatchObject({ path: '/api/users', root_path: '/api', scheme: 'https', server: ['h', 443], client: ['1.2.3.4', 1] });
    expect(() => toFetchHandler(scopeApp, { rootPath: 'api/' })).toThrow(/rootPath/);
  });
});

describe('toFetchHandler: responses', () => {
  it('keeps every Set-Cookie header', async () => {
    const handler = toFetchHandler(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 201, headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-a', 'y']] });
      await send({ type: 'http.response.body', body: bytes('ok') });
    });
    const res = await handler(new Request('http://h/'));
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.text()).toBe('ok');
  });

  it('announces http.response.reason_phrase and turns it into the Response\'s statusText', async () => {
    const handler = toFetchHandler(async (scope, _r, send) => {
      const announced = (scope as HttpScope).extensions?.['http.response.reason_phrase'] !== undefined;
      await send({ type: 'http.response.start', status: 299, ...(announced ? { reason_phrase: 'Custom Reason' } : {}) });
      await send({ type: 'http.response.body', body: bytes('ok') });
    });
    const res = await handler(new Request('http://h/'));
    expect([res.status, res.statusText, await res.text()]).toEqual([299, 'Custom Reason', 'ok']);
  });

  it('resolves at the first body event and streams; send() waits for the reader (backpressure)', async () => {
    let sent = 0;
    let release!: () => void;
    const finish = new Promise<void>((r) => (release = r));
    const handler = toFetchHandler(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      for (let i = 0; i < 100; i++) {
        await send({ type: 'http.response.body', body: new Uint8Array(1000).fill(i), more_body: true });
        sent++;
      }
      await finish;
      await send({ type: 'http.response.body', body: bytes('end') });
    });
    const res = await handler(new Request('http://h/'));
    for (let k = 0; k < 10; k++) await tick();
    expect(sent).toBeLessThanOrEqual(1); // nobody reads yet: the app is held at its first chunk
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value?.[0]).toBe(0);
    release();
    let total = first.value!.byteLength;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
    }
    expect(total).toBe(100_003);
    expect(sent).toBe(100);
  });

  it('sends no body for HEAD, but keeps the headers', async () => {
    const handler = toFetchHandler(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '5']] });
      await send({ type: 'http.response.body', body: bytes('hello') });
    });
    const res = await handler(new Request('http://h/', { method: 'HEAD' }));
    expect(res.headers.get('content-length')).toBe('5');
    expect(res.body).toBeNull();
  });
});

describe('toFetchHandler: request bodies and disconnects', () => {
  it('pulls the Request body only as the app calls receive()', async () => {
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          pulls++;
          if (pulls <= 3) c.enqueue(new Uint8Array(10).fill(pulls));
          else c.close();
        },
      },
      { highWaterMark: 0 },
    );
    const events: ReceiveEvent[] = [];
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    const handler = toFetchHandler(async (_s, receive, send) => {
      await gate;
      for (;;) {
        const e = await receive();
        events.push(e);
        if (e.type !== 'http.request' || !e.more_body) break;
      }
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: bytes(String(events.length)) });
    });
    const pending = handler(new Request('http://h/', { method: 'POST', body: source, duplex: 'half' } as RequestInit));
    for (let k = 0; k < 5; k++) await tick();
    expect(pulls).toBe(0);
    go();
    const res = await pending;
    expect(await res.text()).toBe('4');
    expect(events.map((e) => (e.type === 'http.request' ? `${e.body.byteLength}/${e.more_body}` : e.type))).toEqual([
      '10/true',
      '10/true',
      '10/true',
      '0/false',
    ]);
  });

  it('turns the Request signal into http.disconnect', async () => {
    const ac = new AbortController();
    let seen: ReceiveEvent | null = null;
    const handler = toFetchHandler(async (_s, receive, send) => {
      await receive(); // the (empty) body
      await send({ type: 'http.response.start', status: 200 });
      void send({ type: 'http.response.body', body: bytes('a'), more_body: true }); // the Response goes out with its first body event
      seen = await receive(); // waits for the end of the connection
    });
    const res = await handler(new Request('http://h/', { signal: ac.signal }));
    expect(res.status).toBe(200);
    await tick();
    expect(seen).toBeNull();
    ac.abort();
    for (let k = 0; k < 5 && seen === null; k++) await tick();
    expect(seen).toEqual({ type: 'http.disconnect' });
  });

  it('turns a cancelled Response body into ClientDisconnected for the app', async () => {
    let raised: unknown = null;
    const handler = toFetchHandler(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      try {
        for (;;) await send({ type: 'http.response.body', body: new Uint8Array(100), more_body: true });
      } catch (e) {
        raised = e;
        throw e;
      }
    }, { logger: quiet });
    const res = await handler(new Request('http://h/'));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    for (let k = 0; k < 5 && raised === null; k++) await tick();
    expect(raised).toBeInstanceOf(ClientDisconnected);
  });

  it('returns http.disconnect from receive() once the response is complete', async () => {
    let after: ReceiveEvent | null = null;
    const handler = toFetchHandler(async (_s, receive, send) => {
      await receive();
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
      after = await receive();
    });
    await handler(new Request('http://h/'));
    for (let k = 0; k < 5 && after === null; k++) await tick();
    expect(after).toEqual({ type: 'http.disconnect' });
  });
});

describe('toFetchHandler: app errors', () => {
  function logged() {
    const errors: string[] = [];
    return { errors, logger: { ...silentLogger, error: (m: string) => void errors.push(m) } };
  }

  it('answers 500 when the app raises before starting, logging only server-side', async () => {
    const { errors, logger } = logged();
    const handler = toFetchHandler(async () => {
      throw new Error('db password is hunter2');
    }, { logger });
    const res = await handler(new Request('http://h/'));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('Internal Server Error');
    expect(errors).toHaveLength(1);
  });

  it('answers 500 when the app returns without responding', async () => {
    const { errors, logger } = logged();
    const res = await toFetchHandler(async () => {}, { logger })(new Request('http://h/'));
    expect(res.status).toBe(500);
    expect(errors[0]).toMatch(/returned without starting response/);
  });

  it('cuts the body when the app fails after starting, or returns before the final body', async () => {
    const { errors, logger } = logged();
    const raises = toFetchHandler(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: bytes('part'), more_body: true });
      throw new Error('mid-stream');
    }, { logger, highWaterMark: 1024 });
    await expect((await raises(new Request('http://h/'))).text()).rejects.toThrow();
    const returns = toFetchHandler(async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: bytes('part'), more_body: true });
    }, { logger, highWaterMark: 1024 });
    await expect((await returns(new Request('http://h/'))).text()).rejects.toThrow();
    expect(errors.some((e) => /returned without completing response/.test(e))).toBe(true);
  });

  it('rejects protocol misuse in send() with the clause id (the same state machine as the servers)', async () => {
    let error: unknown = null;
    const handler = toFetchHandler(async (_s, _r, send) => {
      try {
        await send({ type: 'http.response.body', body: bytes('too early') });
      } catch (e) {
        error = e;
        throw e;
      }
    }, { logger: quiet });
    expect((await handler(new Request('http://h/'))).status).toBe(500);
    expect(isProtocolError(error) && error.clause).toBe('asgi.http.order.1');
  });
});

describe('toFetchHandler: lifespan for hosts without one', () => {
  it('runs startup and shutdown, and copies the state into each request scope', async () => {
    const log: string[] = [];
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        for (;;) {
          const e = await receive();
          log.push(e.type);
          if (e.type === 'lifespan.startup') {
            scope.state!.db = 'connected';
            await send({ type: 'lifespan.startup.complete' });
          } else {
            await send({ type: 'lifespan.shutdown.complete' });
            return;
          }
        }
      }
      return scopeApp(scope, receive, send);
    };
    const handler = toFetchHandler(app);
    await handler.startup();
    const scope = (await (await handler(new Request('http://h/'))).json()) as HttpScope;
    expect(scope.state).toEqual({ db: 'connected' });
    await handler.shutdown();
    expect(log).toEqual(['lifespan.startup', 'lifespan.shutdown']);
  });

  it('rejects startup with the app\'s failure message', async () => {
    const handler = toFetchHandler(async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await send({ type: 'lifespan.startup.failed', message: 'no database' });
    });
    await expect(handler.startup()).rejects.toThrow('no database');
  });

  it('carries on for an app without lifespan support (auto mode)', async () => {
    const handler = toFetchHandler(async (scope) => {
      if (scope.type === 'lifespan') throw new Error('unsupported');
    });
    await expect(handler.startup()).resolves.toBeUndefined();
    await expect(handler.shutdown()).resolves.toBeUndefined();
  });
});

describe('toFetchHandler as a server, judged by validateAsgi', () => {
  it('delivers scopes and events that validateAsgi accepts (no server-side violation)', async () => {
    const errors: unknown[] = [];
    // Reads the whole body, then streams it back in two parts.
    const echo: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        await receive();
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      const parts: Uint8Array[] = [];
      for (;;) {
        const e = await receive();
        if (e.type !== 'http.request') return;
        parts.push(e.body);
        if (!e.more_body) break;
      }
      const body = Buffer.concat(parts);
      await send({ type: 'http.response.start', status: 200, headers: [['x-path', scope.path]] });
      await send({ type: 'http.response.body', body: body.subarray(0, 3), more_body: true });
      await send({ type: 'http.response.body', body: body.subarray(3), more_body: false });
      await receive(); // http.disconnect once the response is complete
    };
    const handler = toFetchHandler(validateAsgi(echo), { rootPath: '/r', logger: { ...silentLogger, error: (m, e) => void errors.push(e ?? m) } });
    await handler.startup();
    const post = await handler(new Request('http://h/x%20y?q', { method: 'POST', body: 'hello world', headers: { 'x-a': 'b' } }));
    expect(await post.text()).toBe('hello world');
    expect(post.headers.get('x-path')).toBe('/r/x y');
    const get = await handler(new Request('http://h/'));
    expect(await get.text()).toBe('');
    await handler.shutdown();
    expect(errors).toEqual([]);
  });
});
