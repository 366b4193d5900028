import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsgiTestClient, WebSocketDenied } from '@tsgi/core';
import type { Logger } from '@tsgi/pool';
import { mount, wsgiToAsgi, type WsgiAsgiApp } from '../src/index.js';

const APP = { module: new URL('./fixtures/wsgi-app.ts', import.meta.url).href };

function captureLogger() {
  const lines: string[] = [];
  const logger = {
    error: (m: string) => void lines.push(`ERROR ${m}`),
    warning: (m: string) => void lines.push(`WARN ${m}`),
    warn: (m: string) => void lines.push(`WARN ${m}`),
    info: (m: string) => void lines.push(`INFO ${m}`),
    debug: () => {},
    access: () => {},
  } as Logger;
  return { logger, lines };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('wsgiToAsgi on worker threads', () => {
  const { logger, lines } = captureLogger();
  let app: WsgiAsgiApp;
  let client: AsgiTestClient;
  beforeAll(async () => {
    app = wsgiToAsgi(APP, { threads: 2, logger, timeout: 10 });
    client = await AsgiTestClient.start(app, { raiseServerExceptions: false });
  });
  afterAll(async () => {
    await client.close(); // lifespan shutdown ends the threads
  });

  it('serves a sync app, keeping repeated headers', async () => {
    const res = await client.get('/hello');
    expect(res.status).toBe(200);
    expect(res.text()).toBe('Hello, WSGI');
    expect(res.headers.getAll('set-cookie')).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('content-type')).toBe('text/plain');
  });

  it('keeps the status line\'s reason phrase where the server announces http.response.reason_phrase', async () => {
    const res = await client.get('/reason');
    expect([res.status, res.reason, res.text()]).toEqual([299, 'Custom Reason', 'reason']);
    // A server without the extension gets the code alone (sending reason_phrase there would break asgi.ext.announce.1).
    await using plain = new AsgiTestClient(app, { extensions: {} });
    const bare = await plain.get('/reason');
    expect([bare.status, bare.reason, bare.text()]).toEqual([299, '', 'reason']);
  });

  it('builds the environ from the scope: SCRIPT_NAME is root_path, PATH_INFO the rest', async () => {
    const res = await client.get('/environ?x=1', { headers: { 'x-test': 'yes' } });
    expect(JSON.parse(res.text())).toEqual({ SCRIPT_NAME: '', PATH_INFO: '/environ', QUERY_STRING: 'x=1', REQUEST_METHOD: 'GET', HTTP_X_TEST: 'yes' });
  });

  it('streams an upload into wsgi.input.read(65536), pulled from receive()', async () => {
    const chunk = new Uint8Array(100_000).fill(7);
    async function* body() {
      for (let i = 0; i < 40; i++) yield chunk;
    }
    const res = await client.post('/upload', { body: body() });
    expect(JSON.parse(res.text())).toMatchObject({ bytes: 4_000_000 });
  });

  it('streams the response as the app yields it', async () => {
    const res = await client.get('/stream?chunks=50&size=1000&tag=full');
    expect(res.body.byteLength).toBe(50_000);
    expect(res.body[49_999]).toBe(49);
    await until(() => lines.some((l) => l.includes('close full after 50')), 'close()');
  });

  it('closes the iterable when the client disconnects mid-stream', async () => {
    const res = await client.stream('GET', '/stream?chunks=1000000&size=1024&tag=dc');
    let got = 0;
    for await (const chunk of res.body) {
      got += chunk.byteLength;
      if (got >= 64 * 1024) break; // leaving the iteration disconnects the client
    }
    await until(() => lines.some((l) => /close dc after \d+/.test(l)), 'close() after the disconnect');
    const line = lines.find((l) => /close dc after/.test(l))!;
    const produced = Number(/after (\d+)/.exec(line)![1]);
    // Backpressure: the app stopped near where the client stopped, far from its million chunks.
    expect(produced).toBeLessThan(2000);
    expect(lines.filter((l) => /close dc after/.test(l))).toHaveLength(1);
  });

  it('answers 500 for an app exception, logged but not leaked', async () => {
    const res = await client.get('/throw');
    expect(res.status).toBe(500);
    expect(res.text()).not.toContain('secret');
    await until(() => lines.some((l) => l.includes('sync app failure with a secret')), 'the logged exception');
  });

  it('refuses a WebSocket before accept (403)', async () => {
    await expect(client.websocket('/ws')).rejects.toBeInstanceOf(WebSocketDenied);
  });
});

describe('wsgiToAsgi under mount, next to an async app', () => {
  const { logger } = captureLogger();
  const sync = wsgiToAsgi(APP, { threads: 1, logger });
  const app = mount([
    ['/legacy', sync],
    [
      '/async',
      async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
        await send({ type: 'http.response.body', body: new TextEncoder().encode(`async at ${scope.root_path}`) });
      },
    ],
  ]);
  let client: AsgiTestClient;
  beforeAll(async () => {
    client = await AsgiTestClient.start(app);
  });
  afterAll(() => client.close());

  it('gives the sync app SCRIPT_NAME = the mount prefix and PATH_INFO = the rest', async () => {
    const res = await client.get('/legacy/environ?q=2');
    expect(JSON.parse(res.text())).toMatchObject({ SCRIPT_NAME: '/legacy', PATH_INFO: '/environ', QUERY_STRING: 'q=2' });
  });

  it('serves both apps from one ASGI app', async () => {
    expect((await client.get('/async/x')).text()).toBe('async at /async');
    expect((await client.get('/legacy/hello')).text()).toBe('Hello, WSGI');
    expect((await client.get('/elsewhere')).status).toBe(404);
  });

  it('adds the mount prefix to an outer root_path', async () => {
    const outer = new AsgiTestClient(app, { rootPath: '/site' });
    const res = await outer.get('/legacy/environ');
    expect(JSON.parse(res.text())).toMatchObject({ SCRIPT_NAME: '/site/legacy', PATH_INFO: '/environ' });
    await outer.close();
  });
});

describe('wsgiToAsgi options', () => {
  it('are checked when the app is built, with clear errors', () => {
    expect(() => wsgiToAsgi(APP, { threads: -1 })).toThrow(/threads must be a non-negative integer; got number -1/);
    expect(() => wsgiToAsgi(APP, { timeout: Number.NaN })).toThrow(/timeout must be a non-negative number of seconds/);
    expect(() => wsgiToAsgi(APP, { threds: 2 } as never)).toThrow(/unknown option "threds"/);
  });

  it('timeout (seconds, as @tsgi/pool): a stuck request gets 504 and its thread is replaced', async () => {
    const { logger, lines } = captureLogger();
    // The /hello after it waits for the replacement thread to boot; its timeout counts from when that thread
    // takes it (with 0.5 s, a CI run once cut it while the deadline still counted the wait). 1 s leaves the
    // fresh thread's cold first request room on a loaded 2-core machine.
    const client = await AsgiTestClient.start(wsgiToAsgi(APP, { threads: 1, timeout: 1, logger }), { raiseServerExceptions: false });
    const res = await client.get('/block?ms=20000');
    expect(res.status).toBe(504);
    expect(lines.some((l) => /no progress/.test(l))).toBe(true);
    expect((await client.get('/hello')).text()).toBe('Hello, WSGI'); // the replacement thread serves
    await client.close();
  });
});

describe('wsgiToAsgi without lifespan', () => {
  it('starts its threads on the first request and closes on close()', async () => {
    const { logger } = captureLogger();
    const app = wsgiToAsgi(APP, { threads: 1, logger });
    const client = new AsgiTestClient(app);
    expect((await client.get('/hello')).text()).toBe('Hello, WSGI');
    await app.close();
    expect((await client.get('/hello')).status).toBe(503); // no new threads after close()
    await client.close();
  });

  it('fails lifespan startup when the app cannot be imported', async () => {
    const { logger } = captureLogger();
    const app = wsgiToAsgi({ module: new URL('./fixtures/missing.ts', import.meta.url).href }, { threads: 1, logger });
    await expect(AsgiTestClient.start(app)).rejects.toThrow();
  });
});
