import type { WebSocketReceiveEventUnion, WebSocketScope } from '@tsgi/core';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, deferred, startWsServer, type WsTestServer } from './websocket-harness.js';

let server: WsTestServer | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

describe('WebSocket handshake', () => {
  it('websocket.connect first, then websocket.accept completes the upgrade; the scope is complete', async () => {
    const seen = deferred<{ scope: WebSocketScope; first: WebSocketReceiveEventUnion }>();
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      const first = (await receive()) as WebSocketReceiveEventUnion;
      seen.resolve({ scope, first });
      await send({ type: 'websocket.accept' });
      await receive();
    });
    const ws = await connect(`${server.url}/chat/r%C3%A9sum%C3%A9?room=1&x=%20`, undefined, { headers: { 'x-custom': 'v1' } });
    const { scope, first } = await seen.promise;
    expect(first).toEqual({ type: 'websocket.connect' });
    expect(scope).toMatchObject({
      type: 'websocket',
      asgi: { version: '3.0', spec_version: '2.5' },
      http_version: '1.1',
      scheme: 'ws',
      path: '/chat/résumé',
      raw_path: '/chat/r%C3%A9sum%C3%A9',
      query_string: 'room=1&x=%20',
      root_path: '',
      client: ['127.0.0.1', expect.any(Number)],
      server: ['127.0.0.1', server.port],
      subprotocols: [],
      extensions: { 'websocket.http.response': {} },
    });
    expect(scope.headers).toContainEqual(['x-custom', 'v1']);
    expect(scope.headers).toContainEqual(['upgrade', 'websocket']);
    ws.close();
  });

  it('negotiates a subprotocol among the offered ones', async () => {
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept', subprotocol: scope.subprotocols[1] ?? null, headers: [['x-server', 'tsgi'], ['set-cookie', 'a=1']] });
      await receive();
    });
    const ws = await connect(server.url, ['chat.v1', 'chat.v2']);
    expect(ws.protocol).toBe('chat.v2');
    ws.close();
  });

  it('the extra accept headers reach the client', async () => {
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept', headers: [['x-server', 'tsgi'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']] });
      await receive();
    });
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(server.url);
    const upgraded = new Promise<import('node:http').IncomingMessage>((resolve) => ws.once('upgrade', resolve));
    const opened = new Promise((resolve) => ws.once('open', resolve));
    const res = await upgraded;
    expect(res.headers['x-server']).toBe('tsgi');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    await opened;
    ws.close();
  });

  it('an accepted subprotocol the client did not offer is a protocol error for the app, and the handshake fails with 500', async () => {
    const err = deferred<unknown>();
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      try {
        await send({ type: 'websocket.accept', subprotocol: 'other' });
      } catch (e) {
        err.resolve(e);
        throw e;
      }
    });
    const failure = await connect(server.url, ['chat']).catch((e: { status?: number }) => e);
    expect((failure as { status?: number }).status).toBe(500);
    expect(String(await err.promise)).toMatch(/asgi\.websocket\.accept\.4/);
  });

  it('websocket.close before accept answers HTTP 403, and the app then receives a disconnect (1006)', async () => {
    const after = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.close', code: 1000 });
      after.resolve((await receive()) as WebSocketReceiveEventUnion);
    });
    const failure = (await connect(server.url).catch((e: unknown) => e)) as { status: number; body: string };
    expect(failure.status).toBe(403);
    expect(await after.promise).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
  });

  it('a handshake with a WebSocket version other than 13 gets 426 naming version 13, and never reaches the app', async () => {
    let called = false;
    server = await startWsServer(async () => {
      called = true;
    });
    const failure = (await connect(server.url, undefined, { protocolVersion: 8 }).catch((e: unknown) => e)) as { status: number; headers: Record<string, string> };
    expect(failure.status).toBe(426);
    expect(failure.headers['sec-websocket-version']).toBe('13');
    expect(called).toBe(false);
  });

  it('an app that returns without answering the handshake gets a 403', async () => {
    server = await startWsServer(async (scope, receive) => {
      if (scope.type !== 'websocket') return;
      await receive();
    });
    const failure = (await connect(server.url).catch((e: unknown) => e)) as { status: number };
    expect(failure.status).toBe(403);
  });

  it('the denial-response extension sends the app\'s own HTTP response', async () => {
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [['content-type', 'text/plain'], ['www-authenticate', 'Bearer']] });
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('log in '), more_body: true });
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('first') });
    });
    const failure = (await connect(server.url).catch((e: unknown) => e)) as { status: number; headers: Record<string, string>; body: string };
    expect(failure.status).toBe(401);
    expect(failure.headers['www-authenticate']).toBe('Bearer');
    expect(failure.headers['content-type']).toBe('text/plain');
    expect(failure.body).toBe('log in first');
  });

  it('an exception before accept is a 500 with no detail, logged on the server', async () => {
    server = await startWsServer(async (scope, receive) => {
      if (scope.type !== 'websocket') return;
      await receive();
      throw new Error('secret database password');
    });
    const failure = (await connect(server.url).catch((e: unknown) => e)) as { status: number; body: string };
    expect(failure.status).toBe(500);
    expect(failure.body).not.toMatch(/secret/);
    expect(server.logger.errors().map((r) => String(r.error)).join()).toMatch(/secret database password/);
  });

  it('a client that leaves during the handshake gets the app websocket.disconnect 1006, and send() then rejects with ClientDisconnected', async () => {
    const connected = deferred();
    const result = deferred<{ event: unknown; sendError: unknown }>();
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      connected.resolve();
      const event = await receive();
      const sendError = await send({ type: 'websocket.accept' }).then(() => null, (e: unknown) => e);
      result.resolve({ event, sendError });
    });
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(server.url);
    ws.on('error', () => {});
    await connected.promise;
    ws.terminate();
    const { event, sendError } = await result.promise;
    expect(event).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
    expect((sendError as Error).name).toBe('ClientDisconnected');
  });
});
