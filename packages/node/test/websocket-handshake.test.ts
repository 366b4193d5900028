import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, WebSocketScope } from '@tsgi/core';
import { RawClient, closeAll, deferred, delay, rawRequest, start, until } from './helpers.js';
import { accepting, closed, connect, echo, handshake, nextMessage } from './ws-helpers.js';

afterEach(closeAll);

describe('WebSocket handshake', () => {
  it('runs the app with websocket.connect before answering; websocket.accept completes it; the scope is complete', async () => {
    let scope: WebSocketScope | undefined;
    const order: string[] = [];
    const app: AsgiApplication = async (sc, receive, send) => {
      if (sc.type !== 'websocket') return;
      scope = sc;
      order.push((await receive()).type);
      await delay(30); // the client is still waiting for its 101
      order.push('accept');
      await send({ type: 'websocket.accept', subprotocol: 'v2' });
      await receive();
    };
    const s = await start(app, { rootPath: '/api' });
    const ws = await connect(`ws://127.0.0.1:${s.port}/chat/caf%C3%A9?room=1`, ['v1', 'v2']);
    order.push('open');
    expect(order).toEqual(['websocket.connect', 'accept', 'open']);
    expect(scope).toMatchObject({
      type: 'websocket',
      asgi: { version: '3.0', spec_version: '2.5' },
      http_version: '1.1',
      scheme: 'ws',
      path: '/api/chat/café',
      raw_path: '/api/chat/caf%C3%A9',
      query_string: 'room=1',
      root_path: '/api',
      server: ['127.0.0.1', s.port],
      subprotocols: ['v1', 'v2'],
      extensions: { 'websocket.http.response': {} },
    });
    expect(scope!.client).toEqual(['127.0.0.1', (ws as unknown as { _socket: { localPort: number } })._socket.localPort]);
    expect(ws.protocol).toBe('v2');
    ws.close();
  });

  it("negotiates the app's subprotocol and sends its extra headers (latin-1 bytes kept) in the 101", async () => {
    const app: AsgiApplication = async (sc, receive, send) => {
      if (sc.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept', subprotocol: 'v2', headers: [['x-extra', 'caf\u00e9'], ['set-cookie', 'a=1']] });
      await receive();
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write(handshake('/', 'Sec-WebSocket-Protocol: v1, v2\r\n'));
    const r = await c.response();
    expect(r.status).toBe(101);
    expect(r.header('sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(r.header('sec-websocket-protocol')).toBe('v2');
    expect(r.headBytes.includes(Buffer.from('x-extra: caf\xe9\r\n', 'latin1'))).toBe(true);
    expect(r.head).toMatch(/set-cookie: a=1/);
    c.close();
  });

  it('a subprotocol the client did not offer is a protocol error for the app, and the handshake fails with 500', async () => {
    const app: AsgiApplication = async (sc, receive, send) => {
      if (sc.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept', subprotocol: 'nope' });
    };
    const s = await start(app);
    const r = await rawRequest(s.port, handshake('/', 'Sec-WebSocket-Protocol: v1\r\n'));
    expect(r.status).toBe(500);
    expect((s.log.errors()[0]!.error as Error).message).toMatch(/\[asgi\.websocket\.accept\.4\]/);
  });

  it('websocket.close before accept answers 403, and the app then receives websocket.disconnect 1006', async () => {
    const after = deferred<unknown>();
    const app: AsgiApplication = async (sc, receive, send) => {
      if (sc.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.close', code: 4000 });
      after.resolve(await receive());
    };
    const s = await start(app);
    const r = await rawRequest(s.port, handshake());
    expect(r.status).toBe(403);
    expect(await after.promise).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
  });

  it('an app that returns without answering gets 403; one that raises gets 500, logged, no detail sent', async () => {
    const app: AsgiApplication = async (sc, receive) => {
      if (sc.type !== 'websocket') return;
      await receive();
      if (sc.path === '/raise') throw new Error('secret');
    };
    const s = await start(app);
    expect((await rawRequest(s.port, handshake('/return'))).status).toBe(403);
    const r = await rawRequest(s.port, handshake('/raise'));
    expect(r.status).toBe(500);
    expect(r.body.toString()).not.toMatch(/secret/);
    expect(s.log.errors()[0]!.message).toMatch(/Exception in ASGI application \(websocket \/raise\)/);
  });

  it("the denial-response extension sends the app's own HTTP response, body in several events", async () => {
    const app: AsgiApplication = async (sc, receive, send) => {
      if (sc.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [['www-authenticate', 'Bearer'], ['x-l', '\u00e9']] });
      await send({ type: 'websocket.http.response.body', body: Buffer.from('log in '), more_body: true });
      await send({ type: 'websocket.http.response.body', body: Buffer.from('first') });
    };
    const s = await start(app);
    const r = await rawRequest(s.port, handshake());
    expect(r.status).toBe(401);
    expect(r.header('www-authenticate')).toBe('Bearer');
    expect(r.headBytes.includes(Buffer.from('x-l: \xe9\r\n', 'latin1'))).toBe(true);
    expect(r.body.toString()).toBe('log in first');
  });

  it('a version other than 13 gets 426 naming version 13, a bad key 400, never reaching the app', async () => {
    let calls = 0;
    const s = await start(async (sc, receive, send) => {
      calls++;
      await echo()(sc, receive, send);
    });
    const r = await rawRequest(s.port, handshake('/', '', '8'));
    expect(r.status).toBe(426);
    expect(r.header('sec-websocket-version')).toBe('13');
    const bad = await rawRequest(s.port, handshake('/', '').replace('dGhlIHNhbXBsZSBub25jZQ==', 'short'));
    expect(bad.status).toBe(400);
    const dup = await rawRequest(s.port, handshake('/', 'Sec-WebSocket-Protocol: a, a\r\n'));
    expect(dup.status).toBe(400);
    const old = await rawRequest(s.port, handshake().replace('HTTP/1.1', 'HTTP/1.0'));
    expect(old.status).toBe(400);
    const post = await rawRequest(s.port, handshake().replace('GET', 'POST'));
    expect(post.status).toBe(400);
    expect(calls).toBe(0);
  });

  it('a client that leaves during the handshake gets the app websocket.disconnect 1006; accept then raises ClientDisconnected', async () => {
    const first = deferred<unknown>();
    const failure = deferred<unknown>();
    const app: AsgiApplication = async (sc, receive, send) => {
      if (sc.type !== 'websocket') return;
      await receive();
      first.resolve(await receive());
      try {
        await send({ type: 'websocket.accept' });
      } catch (e) {
        failure.resolve(e);
      }
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write(handshake());
    await delay(30);
    c.close();
    expect(await first.promise).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
    expect(((await failure.promise) as Error).name).toBe('ClientDisconnected');
    await until(() => s.log.errors().length === 0);
  });

  it('upgrades past limitConcurrency get 503', async () => {
    const s = await start(echo(), { limitConcurrency: 1 });
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    const r = await rawRequest(s.port, handshake());
    expect(r.status).toBe(503);
    ws.close();
    await closed(ws);
  });

  it('an Upgrade other than websocket (h2c) is served as plain HTTP, the connection closing after it', async () => {
    const app: AsgiApplication = async (sc, _receive, send) => {
      if (sc.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from(`plain ${sc.method}`) });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
    const r = await c.response();
    expect([r.status, r.body.toString()]).toEqual([200, 'plain GET']);
    await c.waitClosed();
  });

  it('messages flow once accepted', async () => {
    const s = await start(accepting(async (receive, send) => {
      const e = await receive();
      if (e.type === 'websocket.receive') await send({ type: 'websocket.send', text: `got ${e.text}` });
      await receive();
    }));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    ws.send('hi');
    expect((await nextMessage(ws)).data.toString()).toBe('got hi');
    ws.close();
  });
});
