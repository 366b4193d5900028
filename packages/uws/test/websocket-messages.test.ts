import type { WebSocketReceiveEventUnion } from '@tsgi/core';
import { afterEach, describe, expect, it } from 'vitest';
import { accepting, closed, connect, deferred, nextMessage, startWsServer, type WsTestServer } from './websocket-harness.js';

let server: WsTestServer | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

const echo = accepting(async (receive, send) => {
  for (;;) {
    const event = await receive();
    if (event.type === 'websocket.disconnect') return;
    if (event.type !== 'websocket.receive') continue;
    if (event.text != null) await send({ type: 'websocket.send', text: `echo: ${event.text}` });
    else await send({ type: 'websocket.send', bytes: event.bytes! });
  }
});

describe('WebSocket messages', () => {
  it('echoes text and binary messages, each kind preserved, exactly one of text/bytes set', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    server = await startWsServer(
      accepting(async (receive, send) => {
        for (;;) {
          const event = await receive();
          events.push(event);
          if (event.type === 'websocket.disconnect') return;
          if (event.type !== 'websocket.receive') continue;
          if (event.text != null) await send({ type: 'websocket.send', text: `echo: ${event.text}` });
          else await send({ type: 'websocket.send', bytes: event.bytes! });
        }
      }),
    );
    const ws = await connect(server.url);
    ws.send('héllo ✓ 😀');
    const text = await nextMessage(ws);
    expect(text.isBinary).toBe(false);
    expect(text.data.toString('utf8')).toBe('echo: héllo ✓ 😀');
    const bytes = Uint8Array.from([0, 1, 2, 255, 254]);
    ws.send(bytes);
    const bin = await nextMessage(ws);
    expect(bin.isBinary).toBe(true);
    expect([...bin.data]).toEqual([...bytes]);
    ws.send('');
    expect((await nextMessage(ws)).data.toString()).toBe('echo: ');
    ws.close();
    expect(events[0]).toEqual({ type: 'websocket.receive', bytes: null, text: 'héllo ✓ 😀' });
    expect(events[1]).toMatchObject({ type: 'websocket.receive', text: null });
    expect(events[1]!.type === 'websocket.receive' && events[1]!.bytes).toBeInstanceOf(Uint8Array);
  });

  it('received bytes are the app\'s own copy: they stay intact after the callback returns', async () => {
    const kept: Uint8Array[] = [];
    server = await startWsServer(
      accepting(async (receive, send) => {
        for (let i = 0; i < 3; i++) {
          const event = await receive();
          if (event.type === 'websocket.receive' && event.bytes) kept.push(event.bytes);
        }
        await send({ type: 'websocket.send', text: 'done' });
        await receive();
      }),
    );
    const ws = await connect(server.url);
    for (let i = 0; i < 3; i++) ws.send(new Uint8Array(1000).fill(i + 1));
    await nextMessage(ws);
    expect(kept.map((b) => [b.length, b[0], b[999]])).toEqual([[1000, 1, 1], [1000, 2, 2], [1000, 3, 3]]);
    ws.close();
  });

  it('many messages keep their order both ways', async () => {
    server = await startWsServer(echo);
    const ws = await connect(server.url);
    for (let i = 0; i < 500; i++) ws.send(String(i));
    const got: string[] = [];
    for (let i = 0; i < 500; i++) got.push((await nextMessage(ws)).data.toString());
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => `echo: ${i}`));
    ws.close();
  });
});

describe('WebSocket protocol errors from the client', () => {
  // asgi.websocket.receive.3 asks for a 1007 close; uWebSockets.js v20.30 validates text itself and
  // drops the TCP connection instead, before tsgi sees the message (docs/websocket.md lists it).
  it('a text message that is not valid UTF-8 never reaches the app: uWebSockets.js drops the connection (1006)', async () => {
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(accepting(async (receive) => last.resolve(await receive())));
    const ws = await connect(server.url);
    ws.send(Buffer.from([0x68, 0xff, 0xfe]), { binary: false });
    expect(await closed(ws)).toMatchObject({ code: 1006 });
    expect(await last.promise).toMatchObject({ type: 'websocket.disconnect', code: 1006, reason: 'Received invalid UTF-8' });
  });
});

describe('WebSocket close', () => {
  it('the client\'s close code and reason reach the app as websocket.disconnect (spec 2.5 reason)', async () => {
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(
      accepting(async (receive) => {
        for (;;) {
          const event = await receive();
          if (event.type === 'websocket.disconnect') return last.resolve(event);
        }
      }),
    );
    const ws = await connect(server.url);
    ws.close(4001, 'bye now ✓');
    expect(await last.promise).toEqual({ type: 'websocket.disconnect', code: 4001, reason: 'bye now ✓' });
  });

  it('a close frame without a code arrives as 1005', async () => {
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(accepting(async (receive) => last.resolve(await receive())));
    const ws = await connect(server.url);
    ws.close();
    expect(await last.promise).toMatchObject({ type: 'websocket.disconnect', code: 1005 });
  });

  it('a client that drops the TCP connection arrives as 1006', async () => {
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(accepting(async (receive) => last.resolve(await receive())));
    const ws = await connect(server.url);
    ws.terminate();
    expect(await last.promise).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
  });

  it('the app\'s close code and reason reach the client; the app then receives the disconnect', async () => {
    const after = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(
      accepting(async (receive, send) => {
        await send({ type: 'websocket.close', code: 4321, reason: 'go away ✓' });
        after.resolve(await receive());
      }),
    );
    const ws = await connect(server.url);
    expect(await closed(ws)).toEqual({ code: 4321, reason: 'go away ✓' });
    expect(await after.promise).toMatchObject({ type: 'websocket.disconnect', code: 4321 });
  });

  it('websocket.close without a code closes with 1000', async () => {
    server = await startWsServer(accepting(async (_receive, send) => send({ type: 'websocket.close' })));
    const ws = await connect(server.url);
    expect(await closed(ws)).toEqual({ code: 1000, reason: '' });
  });

  it('an invalid close code or a reason over 123 bytes rejects send() naming the clause; the app error closes with 1011', async () => {
    const errors: string[] = [];
    server = await startWsServer(
      accepting(async (_receive, send) => {
        for (const event of [
          { type: 'websocket.close', code: 1006 },
          { type: 'websocket.close', code: 1000, reason: 'é'.repeat(62) },
        ] as const) {
          await send(event).catch((e: Error) => errors.push(e.message));
        }
        throw new Error('app gives up');
      }),
    );
    const ws = await connect(server.url);
    expect(await closed(ws)).toMatchObject({ code: 1011 });
    expect(errors[0]).toMatch(/asgi\.websocket\.close\.1/);
    expect(errors[1]).toMatch(/asgi\.websocket\.close\.2/);
  });

  it('an app that returns after accept closes the socket with 1000', async () => {
    server = await startWsServer(accepting(async () => {}));
    const ws = await connect(server.url);
    expect(await closed(ws)).toMatchObject({ code: 1000 });
  });

  it('an exception after accept closes with 1011, logged, nothing of it sent', async () => {
    server = await startWsServer(
      accepting(async () => {
        throw new Error('secret token 123');
      }),
    );
    const ws = await connect(server.url);
    const c = await closed(ws);
    expect(c.code).toBe(1011);
    expect(c.reason).not.toMatch(/secret/);
    expect(server.logger.errors().map((r) => String(r.error)).join()).toMatch(/secret token 123/);
  });

  it('send() after the client disconnected rejects with ClientDisconnected, and letting it escape is not logged as an app error', async () => {
    const sendError = deferred<unknown>();
    const appEnded = deferred();
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      try {
        await receive();
        await send({ type: 'websocket.accept' });
        expect(await receive()).toMatchObject({ type: 'websocket.disconnect' });
        await send({ type: 'websocket.send', text: 'too late' }).catch((e: unknown) => {
          sendError.resolve(e);
          throw e;
        });
      } finally {
        appEnded.resolve();
      }
    });
    const ws = await connect(server.url);
    ws.close(1001);
    const e = await sendError.promise;
    expect((e as Error).name).toBe('ClientDisconnected');
    await appEnded.promise;
    await new Promise((r) => setImmediate(r));
    expect(server.logger.errors()).toEqual([]);
  });

  it('protocol misuse after accept (send before... a second accept) rejects send() with the clause', async () => {
    const error = deferred<Error>();
    server = await startWsServer(
      accepting(async (receive, send) => {
        await send({ type: 'websocket.accept' }).catch((e: Error) => error.resolve(e));
        await send({ type: 'websocket.send', text: 'still fine' });
        await receive();
      }),
    );
    const ws = await connect(server.url);
    expect((await nextMessage(ws)).data.toString()).toBe('still fine');
    expect((await error.promise).message).toMatch(/asgi\.websocket\.order\.2/);
    ws.close();
  });
});

describe('WebSocket maximum message size (wsMaxSize)', () => {
  it('a message of exactly wsMaxSize gets through; one byte more closes with 1009', async () => {
    const max = 64 * 1024;
    const sizes: number[] = [];
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(
      accepting(async (receive, send) => {
        for (;;) {
          const event = await receive();
          if (event.type === 'websocket.disconnect') return last.resolve(event);
          if (event.type === 'websocket.receive') {
            sizes.push(event.bytes?.length ?? -1);
            await send({ type: 'websocket.send', text: 'ok' });
          }
        }
      }),
      { wsMaxSize: max },
    );
    const ws = await connect(server.url);
    ws.send(new Uint8Array(max));
    await nextMessage(ws);
    ws.send(new Uint8Array(max + 1));
    const c = await closed(ws);
    expect(c.code).toBe(1009);
    expect(sizes).toEqual([max]);
    expect(await last.promise).toMatchObject({ type: 'websocket.disconnect' });
  });

  it('a message over twice wsMaxSize is refused by uWebSockets.js itself: the TCP connection drops (1006 on both sides)', async () => {
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(
      accepting(async (receive) => {
        for (;;) {
          const e = await receive();
          if (e.type === 'websocket.disconnect') return last.resolve(e);
        }
      }),
      { wsMaxSize: 1000 },
    );
    const ws = await connect(server.url);
    ws.send(new Uint8Array(3000));
    expect(await closed(ws)).toMatchObject({ code: 1006 });
    expect(await last.promise).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
  });

  it('the app may send messages far larger than wsMaxSize (the limit is on what it receives)', async () => {
    server = await startWsServer(
      accepting(async (receive, send) => {
        await send({ type: 'websocket.send', bytes: new Uint8Array(3 * 1024 * 1024).fill(7) });
        await receive();
      }),
      { wsMaxSize: 1024 },
    );
    const ws = await connect(server.url);
    const m = await nextMessage(ws);
    expect(m.data.length).toBe(3 * 1024 * 1024);
    expect(m.data[12345]).toBe(7);
    ws.close();
  });
});
