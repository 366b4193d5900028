/**
 * The TypeScript conformance apps, in process, under @tsgi/core's test
 * clients (which validate both sides of every interaction): the endpoints
 * behave as the Python ports do and as the checks expect, and the apps
 * type-check (tsconfig.check.json reaches them through this file).
 */
import { AsgiTestClient, WsgiTestClient } from '@tsgi/core';
import { describe, expect, it } from 'vitest';
import { app as asgiApp } from '../apps/asgi-app.js';
import { app as wsgiApp } from '../apps/wsgi-app.js';
import { asBytes } from '../src/index.js';

describe('the ASGI-TS conformance app', () => {
  it('echoes the scope with byte strings tagged as {"$bytes": ...}', async () => {
    await using client = new AsgiTestClient(asgiApp);
    const r = await client.get('/scope/x?a=%20b', { headers: [['X-Caf', 'caf\u00e9']] });
    const s = r.json<any>();
    expect([s.type, s.path, asBytes(s.query_string), asBytes(s.raw_path)]).toEqual(['http', '/scope/x', 'a=%20b', '/scope/x']);
    const h = s.headers.find((p: unknown[]) => asBytes(p[0]) === 'x-caf');
    expect(asBytes(h[1])).toBe('caf\u00e9');
  });

  it('echoes a streamed body and counts its events', async () => {
    await using client = new AsgiTestClient(asgiApp);
    const r = await client.post('/echo', { body: [new TextEncoder().encode('ab'), new TextEncoder().encode('cd')] });
    expect([r.status, r.text()]).toEqual([200, 'abcd']);
  });

  it('streams chunks, including empty ones in the middle', async () => {
    await using client = new AsgiTestClient(asgiApp);
    expect((await client.get('/stream?n=3&size=2')).text()).toBe('aabbcc');
    expect((await client.get('/chunks?sizes=3,0,5')).text()).toBe('zzzzzzzz');
  });

  it('records that send() raised on an invalid event, then answers', async () => {
    await using client = new AsgiTestClient(asgiApp, { validate: false });
    const r = await client.get('/invalid?kind=status-str');
    expect(r.json<any>().raised).toBe(true);
  });

  it('echoes WebSocket messages and closes with the code it is asked for', async () => {
    await using client = new AsgiTestClient(asgiApp);
    const ws = await client.websocket('/ws/echo');
    ws.sendText('hello');
    expect(await ws.receiveText()).toBe('hello');
    ws.sendBytes(new Uint8Array([1, 2]));
    expect([...(await ws.receiveBytes())]).toEqual([1, 2]);
    const sub = await client.websocket('/ws/subprotocol', { subprotocols: ['a', 'b'] });
    expect(sub.subprotocol).toBe('b');
  });

  it('fills the lifespan state at startup and reports what it saw', async () => {
    await using client = new AsgiTestClient(asgiApp);
    const state = await client.lifespan().startup();
    expect(state).toMatchObject({ conformance: 'lifespan-state' });
    const r = (await client.get('/lifespan')).json<any>();
    expect([r.startup, r.events, r.state_keys_at_startup]).toEqual([true, ['lifespan.startup'], []]);
  });
});

describe('the WSGI-TS conformance app', () => {
  it('echoes the environ as native strings', async () => {
    const client = new WsgiTestClient(wsgiApp);
    const e = (await client.get('/environ/%C3%A9?q=1', { headers: [['X-Caf', 'caf\u00e9']] })).json<any>();
    expect([e.PATH_INFO, e.QUERY_STRING, e.HTTP_X_CAF, e['wsgi.version']]).toEqual(['/environ/\u00c3\u00a9', 'q=1', 'caf\u00e9', [1, 0]]);
  });

  it('reads the body in each way wsgi.input offers', async () => {
    const client = new WsgiTestClient(wsgiApp);
    const body = 'one\ntwo\nthree';
    expect((await client.post('/echo', { body })).text()).toBe(body);
    expect((await client.post('/echo-readline', { body })).json<any>().lines.map(asBytes)).toEqual(['one\n', 'two\n', 'three']);
    expect((await client.post('/echo-readlines', { body })).json<any>().lines.map(asBytes)).toEqual(['one\n', 'two\n', 'three']);
    expect((await client.post('/echo-iter', { body })).json<any>().lines.map(asBytes)).toEqual(['one\n', 'two\n', 'three']);
    const sized = (await client.post('/echo-size?size=4', { body })).json<any>();
    expect([asBytes(sized.body), sized.sizes]).toEqual([body, [4, 4, 4, 1]]);
  });

  it('uses write(), a late start_response and exc_info as the checks expect', async () => {
    const client = new WsgiTestClient(wsgiApp);
    expect((await client.get('/write')).text()).toBe('written-1;written-2;iterated');
    const late = await client.get('/late-start');
    expect([late.status, late.headers.get('x-late'), late.text()]).toEqual([200, 'yes', 'started late']);
    const exc = await client.get('/exc-info');
    expect([exc.status, exc.reason, exc.text()]).toEqual([500, 'Replaced By Exc Info', 'recovered']);
  });

  it('sends the fixture file through wsgi.file_wrapper', async () => {
    const client = new WsgiTestClient(wsgiApp);
    const { readFileSync } = await import('node:fs');
    const r = await client.get('/file-wrapper');
    expect(Buffer.from(r.body).equals(readFileSync(new URL('../apps/fixtures/file.txt', import.meta.url)))).toBe(true);
  });
});
