import { describe, expect, it } from 'vitest';
import {
  AsgiTestClient,
  WebSocketClosed,
  WebSocketDenied,
  isClientDisconnected,
  isProtocolError,
  type AsgiApplication,
  type WebSocketReceiveEventUnion,
  type WebSocketScope,
} from '@tsgi/core';

const enc = new TextEncoder();

/** Accepts (with the first offered subprotocol and a header), then echoes every message until the client leaves. */
function echoApp(log: WebSocketReceiveEventUnion[] = []): AsgiApplication {
  return async (scope, receive, send) => {
    const ws = scope as WebSocketScope;
    log.push((await receive()) as WebSocketReceiveEventUnion);
    await send({ type: 'websocket.accept', subprotocol: ws.subprotocols[0] ?? null, headers: [['x-echo', 'on']] });
    for (;;) {
      const e = (await receive()) as WebSocketReceiveEventUnion;
      log.push(e);
      if (e.type === 'websocket.disconnect') return;
      if (e.type !== 'websocket.receive') continue;
      if (e.text === 'bye') {
        await send({ type: 'websocket.close', code: 4000, reason: 'asked to leave' });
        log.push((await receive()) as WebSocketReceiveEventUnion);
        return;
      }
      await send(e.text != null ? { type: 'websocket.send', text: e.text.toUpperCase() } : { type: 'websocket.send', bytes: e.bytes! });
    }
  };
}

describe('AsgiTestClient: WebSocket sessions', () => {
  it('accepts with a subprotocol and headers, then echoes text, bytes and JSON', async () => {
    let scope: WebSocketScope | undefined;
    const inner = echoApp();
    const app: AsgiApplication = async (s, r, send) => {
      scope = s as WebSocketScope;
      await inner(s, r, send);
    };
    await using client = new AsgiTestClient(app, { rootPath: '/app' });
    await using ws = await client.websocket('/chat?room=1', { subprotocols: ['v2.chat', 'v1.chat'], headers: { origin: 'http://testserver' } });
    expect(ws.subprotocol).toBe('v2.chat');
    expect(ws.headers.get('x-echo')).toBe('on');
    expect(scope!.type).toBe('websocket');
    expect(scope!.scheme).toBe('ws');
    expect(scope!.path).toBe('/app/chat');
    expect(scope!.query_string).toBe('room=1');
    expect(scope!.subprotocols).toEqual(['v2.chat', 'v1.chat']);
    expect(scope!.asgi).toEqual({ version: '3.0', spec_version: '2.5' });
    expect(scope!.headers).toContainEqual(['origin', 'http://testserver']);
    expect(scope!.headers).toContainEqual(['upgrade', 'websocket']);

    ws.sendText('hello');
    expect(await ws.receiveText()).toBe('HELLO');
    ws.sendBytes(enc.encode('raw'));
    expect(await ws.receiveBytes()).toEqual(enc.encode('raw'));
    ws.sendJson({ a: 'b' });
    expect(await ws.receiveText()).toBe('{"A":"B"}');
  });

  it('the client closing delivers websocket.disconnect with its code and reason, and waits for the app', async () => {
    const log: WebSocketReceiveEventUnion[] = [];
    await using client = new AsgiTestClient(echoApp(log));
    const ws = await client.websocket('/');
    ws.sendText('x');
    await ws.receive();
    await ws.close(1001, 'going away');
    expect(log).toEqual([
      { type: 'websocket.connect' },
      { type: 'websocket.receive', text: 'x' },
      { type: 'websocket.disconnect', code: 1001, reason: 'going away' },
    ]);
    expect(() => ws.sendText('late')).toThrow(WebSocketClosed);
  });

  it('simulates a lost connection (1006) and refuses close codes and reasons a client cannot send', async () => {
    const log: WebSocketReceiveEventUnion[] = [];
    await using client = new AsgiTestClient(echoApp(log));
    const ws = await client.websocket('/');
    await expect(ws.close(1005)).rejects.toThrow(RangeError);
    await expect(ws.close(1000, 'x'.repeat(124))).rejects.toThrow(/123 UTF-8 bytes/);
    await ws.close(1006);
    expect(log.at(-1)).toEqual({ type: 'websocket.disconnect', code: 1006, reason: '' });
  });

  it('the app closing gives the test the close frame, and the app then hears websocket.disconnect with that code', async () => {
    const log: WebSocketReceiveEventUnion[] = [];
    await using client = new AsgiTestClient(echoApp(log));
    const ws = await client.websocket('/');
    ws.sendText('bye');
    expect(await ws.receiveClose()).toEqual({ code: 4000, reason: 'asked to leave' });
    await ws.close();
    expect(log.at(-1)).toEqual({ type: 'websocket.disconnect', code: 4000, reason: 'asked to leave' });
    await expect(ws.receive()).rejects.toBeInstanceOf(WebSocketClosed);
  });

  it('a receive() pending in another task wakes with websocket.disconnect when the app itself closes', async () => {
    let readerSaw: WebSocketReceiveEventUnion | undefined;
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      const reader = receive().then((e) => (readerSaw = e as WebSocketReceiveEventUnion));
      await send({ type: 'websocket.close', code: 4001 });
      await reader;
    };
    await using client = new AsgiTestClient(app);
    const ws = await client.websocket('/');
    expect(await ws.receiveClose()).toEqual({ code: 4001, reason: '' });
    await ws.close();
    expect(readerSaw).toEqual({ type: 'websocket.disconnect', code: 4001, reason: '' });
  });

  it('an app that returns while connected closes with 1000', async () => {
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.send', text: 'only message' });
    };
    await using client = new AsgiTestClient(app);
    const ws = await client.websocket('/');
    expect(await ws.receiveText()).toBe('only message');
    expect(await ws.receiveClose()).toEqual({ code: 1000, reason: '' });
  });

  it('close before accept denies the handshake with a bare 403', async () => {
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.close' });
    };
    await using client = new AsgiTestClient(app);
    const err = await client.websocket('/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebSocketDenied);
    expect((err as WebSocketDenied).response.status).toBe(403);
    expect((err as WebSocketDenied).message).toMatch(/denied.*403/);
  });

  it('a denial response (websocket.http.response) reaches the test whole', async () => {
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [['www-authenticate', 'Bearer']] });
      await send({ type: 'websocket.http.response.body', body: enc.encode('no '), more_body: true });
      await send({ type: 'websocket.http.response.body', body: enc.encode('token') });
    };
    await using client = new AsgiTestClient(app);
    const err = (await client.websocket('/').catch((e: unknown) => e)) as WebSocketDenied;
    expect(err).toBeInstanceOf(WebSocketDenied);
    expect(err.response.status).toBe(401);
    expect(err.response.headers.get('www-authenticate')).toBe('Bearer');
    expect(err.response.text()).toBe('no token');
  });

  it('a denial response without the extension announced breaks asgi.ext.websocket_http_response.1', async () => {
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401 });
    };
    for (const validate of [true, false]) {
      await using client = new AsgiTestClient(app, { validate, extensions: {} });
      await expect(client.websocket('/')).rejects.toSatisfy((e: unknown) => isProtocolError(e) && e.clause === 'asgi.ext.websocket_http_response.1');
    }
  });

  it('an accepted subprotocol the client did not offer breaks asgi.websocket.accept.4', async () => {
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept', subprotocol: 'made-up' });
    };
    for (const validate of [true, false]) {
      await using client = new AsgiTestClient(app, { validate });
      await expect(client.websocket('/', { subprotocols: ['real'] })).rejects.toSatisfy(
        (e: unknown) => isProtocolError(e) && e.clause === 'asgi.websocket.accept.4',
      );
    }
  });

  it('app errors: raised to the test by default; a 500 denial or a 1011 close otherwise', async () => {
    const failsBefore: AsgiApplication = async () => {
      throw new Error('before accept');
    };
    const failsAfter: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
      throw new Error('after accept');
    };
    await using raising = new AsgiTestClient(failsAfter);
    const ws = await raising.websocket('/');
    ws.sendText('trigger');
    await expect(ws.receive()).rejects.toThrow('after accept');
    await expect(ws.close()).rejects.toThrow('after accept');
    await using raisingBefore = new AsgiTestClient(failsBefore);
    await expect(raisingBefore.websocket('/')).rejects.toThrow('before accept');

    await using quiet = new AsgiTestClient(failsAfter, { raiseServerExceptions: false });
    const ws2 = await quiet.websocket('/');
    ws2.sendText('trigger');
    expect(await ws2.receiveClose()).toEqual({ code: 1011, reason: 'Internal Server Error' });
    await using quietBefore = new AsgiTestClient(failsBefore, { raiseServerExceptions: false });
    const denied = (await quietBefore.websocket('/').catch((e: unknown) => e)) as WebSocketDenied;
    expect(denied.response.status).toBe(500);
    expect(denied.response.text()).toBe('Internal Server Error');
  });

  it('after the client left, the app send() throws ClientDisconnected; client close() stays quiet about it', async () => {
    let sendError: unknown;
    let resolveLeft!: () => void;
    const left = { promise: new Promise<void>((r) => (resolveLeft = r)), resolve: () => resolveLeft() };
    const app: AsgiApplication = async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
      left.resolve();
      try {
        await send({ type: 'websocket.send', text: 'too late' });
      } catch (e) {
        sendError = e;
        throw e;
      }
    };
    await using client = new AsgiTestClient(app);
    const ws = await client.websocket('/');
    await ws.close(1000);
    await left.promise;
    expect(isClientDisconnected(sendError)).toBe(true);
  });

  it('client close() ends open sessions with 1001', async () => {
    const log: WebSocketReceiveEventUnion[] = [];
    const client = new AsgiTestClient(echoApp(log));
    await client.websocket('/');
    await client.close();
    expect(log.at(-1)).toEqual({ type: 'websocket.disconnect', code: 1001, reason: '' });
  });
});
