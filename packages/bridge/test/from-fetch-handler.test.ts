import { describe, expect, it } from 'vitest';
import { AsgiTestClient, ClientDisconnected, type ReceiveEvent, type SendEvent } from '@tsgi/core';
import { silentLogger } from '@tsgi/core/server';
import { fromFetchHandler } from '../src/index.js';
import { app as hono } from '../../../examples/hono/app.js';
import { bytes, callHttp, httpScope, text, wsScope } from './harness.js';

const quiet = silentLogger;

describe('fromFetchHandler with a real Hono app', () => {
  const app = fromFetchHandler(hono);

  it('answers a plain GET', async () => {
    const r = await callHttp(app, httpScope({ path: '/' }));
    expect(r.status).toBe(200);
    expect(text(r.body)).toBe('Hello from Hono on tsgi\n');
    expect(r.headers).toContainEqual(['content-type', 'text/plain;charset=UTF-8']);
  });

  it('keeps every Set-Cookie header as its own line', async () => {
    const r = await callHttp(app, httpScope({ path: '/cookies' }));
    const cookies = r.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
    expect(cookies).toEqual(['session=abc123; Path=/; HttpOnly', 'theme=dark; Max-Age=3600; Path=/', 'lang=en; Path=/; SameSite=Lax']);
  });

  it('streams the response chunk by chunk, then ends with an empty final body', async () => {
    const r = await callHttp(app, httpScope({ path: '/stream', raw_path: '/stream', query_string: 'chunks=5&size=10' }));
    const bodies = r.sent.filter((e) => e.type === 'http.response.body');
    expect(bodies).toHaveLength(6);
    expect(bodies.slice(0, 5).every((e) => e.more_body === true && e.body?.byteLength === 10)).toBe(true);
    expect(bodies[5]).toMatchObject({ more_body: false });
    expect([...r.body]).toEqual([0, 1, 2, 3, 4].flatMap((i) => Array(10).fill(i)));
  });

  it('streams an upload into the handler', async () => {
    const chunks = Array.from({ length: 8 }, (_, i) => new Uint8Array(10_000).fill(i + 1));
    const r = await callHttp(app, httpScope({ method: 'POST', path: '/upload', headers: [['host', 'x'], ['content-length', '80000']] }), chunks);
    expect(r.status).toBe(200);
    expect(JSON.parse(text(r.body))).toMatchObject({ bytes: 80_000 });
  });

  it('builds the Request URL from Host, raw_path and query_string, byte-exact', async () => {
    const scope = httpScope({
      method: 'PUT',
      path: '/echo/é x',
      raw_path: '/echo/%C3%A9%20x',
      query_string: 'q=1&r=%2F',
      headers: [['host', 'api.example:8080'], ['x-multi', 'a'], ['x-multi', 'b']],
    });
    const r = await callHttp(app, scope);
    const seen = JSON.parse(text(r.body));
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe('http://api.example:8080/echo/%C3%A9%20x?q=1&r=%2F');
    expect(seen.headers['x-multi']).toBe('a, b');
  });

  it('percent-encodes raw bytes >= 0x80 instead of re-encoding them as UTF-8', async () => {
    // raw_path holds the single byte 0xE9 (latin-1 é sent raw by a client): it must stay one byte.
    const r = await callHttp(app, httpScope({ path: '/echo/\ufffd', raw_path: '/echo/\u00e9', headers: [] }));
    expect(JSON.parse(text(r.body)).url).toBe('http://127.0.0.1:8000/echo/%E9');
  });
});

describe('fromFetchHandler: the protocol around the handler', () => {
  it('accepts { fetch } objects and refuses anything else', async () => {
    const app = fromFetchHandler({ fetch: () => new Response('obj') });
    expect(text((await callHttp(app, httpScope())).body)).toBe('obj');
    expect(() => fromFetchHandler(42 as never)).toThrow(/needs a function/);
  });

  it('passes a Response\'s statusText on as reason_phrase when the server announces the extension, and only then', async () => {
    const app = fromFetchHandler(() => new Response('x', { status: 299, statusText: 'Custom Reason' }));
    const announced = await callHttp(app, httpScope({ extensions: { 'http.response.reason_phrase': {} } }));
    expect(announced.sent[0]).toMatchObject({ type: 'http.response.start', status: 299, reason_phrase: 'Custom Reason' });
    const plain = await callHttp(app, httpScope({ extensions: {} }));
    expect(plain.sent[0]).toMatchObject({ type: 'http.response.start', status: 299 });
    expect(plain.sent[0]).not.toHaveProperty('reason_phrase');
    const standard = await callHttp(fromFetchHandler(() => new Response('x', { status: 404 })), httpScope({ extensions: { 'http.response.reason_phrase': {} } }));
    expect(standard.sent[0]).not.toHaveProperty('reason_phrase'); // no statusText: the server's standard phrase
  });

  it('answers lifespan so servers start and stop', async () => {
    const app = fromFetchHandler(() => new Response(''));
    const inbox: ReceiveEvent[] = [{ type: 'lifespan.startup' }, { type: 'lifespan.shutdown' }];
    const sent: SendEvent[] = [];
    await app({ type: 'lifespan', asgi: { version: '3.0', spec_version: '2.0' } }, async () => inbox.shift()!, async (e) => {
      sent.push(e);
    });
    expect(sent.map((e) => e.type)).toEqual(['lifespan.startup.complete', 'lifespan.shutdown.complete']);
  });

  it('refuses a WebSocket by closing before accept', async () => {
    const app = fromFetchHandler(() => new Response(''));
    const sent: SendEvent[] = [];
    await app(wsScope(), async () => ({ type: 'websocket.connect' }), async (e) => {
      sent.push(e);
    });
    expect(sent).toEqual([{ type: 'websocket.close', code: 1000 }]);
  });

  it('answers 500 when the handler throws or returns something else, logging it server-side only', async () => {
    const logged: unknown[] = [];
    const logger = { ...silentLogger, error: (_m: string, e?: unknown) => void logged.push(e) };
    const boom = fromFetchHandler(() => {
      throw new Error('secret stack detail');
    }, { logger });
    const r = await callHttp(boom, httpScope());
    expect(r.status).toBe(500);
    expect(text(r.body)).toBe('Internal Server Error');
    const notResponse = fromFetchHandler((() => 'oops') as never, { logger });
    expect((await callHttp(notResponse, httpScope())).status).toBe(500);
    expect(logged).toHaveLength(2);
    expect(String(logged[1])).toMatch(/must return a Response/);
  });

  it('answers 501 for methods the fetch API cannot carry, and 400 for an unusable Host', async () => {
    const app = fromFetchHandler(() => new Response('reached'), { logger: quiet });
    expect((await callHttp(app, httpScope({ method: 'TRACE' }))).status).toBe(501);
    expect((await callHttp(app, httpScope({ method: 'PROPFIND' }))).status).toBe(200);
    expect((await callHttp(app, httpScope({ headers: [['host', 'example.test:99999']] }))).status).toBe(400);
  });

  it('sends no body for 204 and 304', async () => {
    const app = fromFetchHandler(() => new Response(null, { status: 204 }));
    const r = await callHttp(app, httpScope());
    expect(r.status).toBe(204);
    expect(r.sent.filter((e) => e.type === 'http.response.body')).toEqual([{ type: 'http.response.body', body: new Uint8Array(0), more_body: false }]);
  });

  it('pulls receive() only as the handler reads the body', async () => {
    let receives = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = fromFetchHandler(async (req) => {
      await gate;
      const reader = req.body!.getReader();
      const first = await reader.read();
      return new Response(`${first.value?.byteLength}`);
    });
    const chunks = [bytes('aaaa'), bytes('bb'), bytes('c')];
    let i = 0;
    const done = app(
      httpScope({ method: 'POST', headers: [['content-length', '7']] }),
      async () => {
        receives++;
        const body = chunks[i++] ?? new Uint8Array(0);
        return { type: 'http.request', body, more_body: i < chunks.length };
      },
      async () => {},
    );
    await new Promise((r) => setImmediate(r));
    expect(receives).toBe(0); // nothing read before the handler asks
    release();
    await done;
    expect(receives).toBe(1); // exactly the one chunk it read
  });

  it('fires the Request signal on http.disconnect', async () => {
    let aborted: unknown = null;
    const app = fromFetchHandler(
      (req) =>
        new Promise<Response>((resolve) => {
          req.signal.addEventListener('abort', () => {
            aborted = req.signal.reason;
            resolve(new Response('late'));
          });
        }),
    );
    let n = 0;
    const sent: SendEvent[] = [];
    await app(
      httpScope(),
      async () => (n++ === 0 ? { type: 'http.request', body: new Uint8Array(0), more_body: false } : { type: 'http.disconnect' }),
      async (e) => {
        sent.push(e);
      },
    );
    expect(aborted).toBeInstanceOf(ClientDisconnected);
    expect(sent).toEqual([]); // nobody left to answer
  });

  it('awaits every send (backpressure) and cancels the body when the client disconnects mid-stream', async () => {
    let produced = 0;
    let cancelled: unknown = null;
    const app = fromFetchHandler(
      () =>
        new Response(
          new ReadableStream<Uint8Array>(
            {
              pull(c) {
                produced++;
                c.enqueue(new Uint8Array(1024));
              },
              cancel(reason) {
                cancelled = reason;
              },
            },
            { highWaterMark: 0 },
          ),
        ),
    );
    let bodies = 0;
    let slow!: () => void;
    const sends: Array<Promise<void>> = [];
    const done = app(httpScope(), async () => ({ type: 'http.request', body: new Uint8Array(0), more_body: false }), (e) => {
      if (e.type !== 'http.response.body') return Promise.resolve();
      bodies++;
      if (bodies <= 3) return Promise.resolve();
      // The 4th chunk waits on a slow client, which then disconnects.
      const p = new Promise<void>((_resolve, reject) => (slow = () => reject(new ClientDisconnected())));
      sends.push(p);
      return p;
    });
    while (sends.length === 0) await new Promise((r) => setImmediate(r));
    for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
    expect(produced).toBeLessThanOrEqual(5); // the producer waits for the slow send
    slow();
    await done; // ends quietly
    expect(cancelled).toBeInstanceOf(ClientDisconnected);
  });

  it('errors the body stream when the client disconnects during the upload', async () => {
    let seen: unknown = null;
    let signalAfter: AbortSignal | null = null;
    const app = fromFetchHandler(async (req) => {
      try {
        await req.arrayBuffer();
      } catch (e) {
        seen = e;
      }
      signalAfter = req.signal; // first asked for after the disconnect: already aborted
      return new Response('x');
    }, { logger: quiet });
    let n = 0;
    await app(
      httpScope({ method: 'POST', headers: [['transfer-encoding', 'chunked']] }),
      async () => (n++ === 0 ? { type: 'http.request', body: bytes('part'), more_body: true } : { type: 'http.disconnect' }),
      async () => {
        throw new ClientDisconnected();
      },
    );
    expect(seen).not.toBeNull();
    expect(signalAfter!.aborted).toBe(true);
    expect(signalAfter!.reason).toBeInstanceOf(ClientDisconnected);
  });
});

describe('fromFetchHandler under the validating test client (validateAsgi checks every event)', () => {
  it('plays by the ASGI rules for plain, streamed, cookie, upload and lifespan exchanges', async () => {
    const client = await AsgiTestClient.start(fromFetchHandler(hono));
    expect((await client.get('/')).text()).toBe('Hello from Hono on tsgi\n');
    expect((await client.get('/cookies')).headers.getAll('set-cookie')).toHaveLength(3);
    expect((await client.get('/stream?chunks=7&size=3')).body.byteLength).toBe(21);
    async function* body() {
      for (let i = 0; i < 10; i++) yield new Uint8Array(4096).fill(1);
    }
    expect(JSON.parse((await client.post('/upload', { body: body() })).text())).toEqual({ bytes: 40960, sum: 10 });
    expect((await client.head('/')).status).toBe(200);
    await client.close();
  });

  it('stops a streamed response when the test client leaves mid-stream', async () => {
    let cancelled = false;
    const app = fromFetchHandler(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            pull(c) {
              c.enqueue(new Uint8Array(512));
            },
            cancel() {
              cancelled = true;
            },
          }),
        ),
    );
    const client = new AsgiTestClient(app);
    const res = await client.stream('GET', '/');
    let n = 0;
    for await (const chunk of res.body) {
      n += chunk.byteLength;
      if (n > 8192) break;
    }
    await client.close();
    expect(cancelled).toBe(true);
  });
});
