import type { WebSocketReceiveEventUnion } from '@tsgi/core';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { accepting, closed, connect, deferred, nextMessage, startWsServer, type WsTestServer } from './websocket-harness.js';

let server: WsTestServer | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** Resolves once `read()` has not changed for `quietMs` (the sender has stalled). */
async function stalled(read: () => number, quietMs: number): Promise<number> {
  let last = read();
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = read();
    if (now === last) return now;
    last = now;
  }
}

describe('WebSocket send backpressure', () => {
  it('a client that does not read makes send() wait: what is in flight stays bounded, and everything arrives once it reads', async () => {
    const total = 64;
    const size = 1024 * 1024;
    let sent = 0;
    const done = deferred();
    server = await startWsServer(
      accepting(async (receive, send) => {
        const chunk = new Uint8Array(size);
        for (let i = 0; i < total; i++) {
          chunk[0] = i;
          await send({ type: 'websocket.send', bytes: chunk });
          sent++;
        }
        done.resolve();
        await receive();
      }),
      {},
      { sendHighWaterMark: 256 * 1024 },
    );
    const ws = await connect(server.url);
    ws.pause(); // stop reading from the socket
    const stalledAt = await stalled(() => sent, 300);
    // In flight: the kernel's socket buffers (a few MiB on loopback) plus at most one message over the high-water mark.
    expect(stalledAt).toBeLessThan(24);
    ws.resume();
    const firstBytes: number[] = [];
    for (let i = 0; i < total; i++) {
      const m = await nextMessage(ws);
      expect(m.data.length).toBe(size);
      firstBytes.push(m.data[0]!);
    }
    await done.promise;
    expect(sent).toBe(total);
    expect(firstBytes).toEqual(Array.from({ length: total }, (_, i) => i));
    ws.close();
  });

  it('a client that leaves while send() waits makes that send() reject with ClientDisconnected', async () => {
    const failure = deferred<unknown>();
    server = await startWsServer(
      accepting(async (_receive, send) => {
        try {
          for (;;) await send({ type: 'websocket.send', bytes: new Uint8Array(512 * 1024) });
        } catch (e) {
          failure.resolve(e);
        }
      }),
      {},
      { sendHighWaterMark: 64 * 1024 },
    );
    const ws = await connect(server.url);
    ws.pause();
    await new Promise((r) => setTimeout(r, 200));
    ws.terminate();
    expect((await failure.promise as Error).name).toBe('ClientDisconnected');
  });
});

describe('WebSocket receive bound (uWebSockets.js cannot pause a WebSocket)', () => {
  it('an app that stops receiving: past maxQueuedMessages the connection closes with 1008', async () => {
    const gate = deferred();
    const seen: WebSocketReceiveEventUnion[] = [];
    server = await startWsServer(
      accepting(async (receive) => {
        await gate.promise;
        for (;;) {
          const e = await receive();
          seen.push(e);
          if (e.type === 'websocket.disconnect') return;
        }
      }),
      {},
      { maxQueuedMessages: 10 },
    );
    const ws = await connect(server.url);
    for (let i = 0; i < 20; i++) ws.send(`m${i}`);
    expect(await closed(ws)).toEqual({ code: 1008, reason: 'receive queue full' });
    gate.resolve();
    await new Promise((r) => setImmediate(r));
    while (seen.at(-1)?.type !== 'websocket.disconnect') await new Promise((r) => setImmediate(r));
    // What was queued is still delivered, in order, then the disconnect.
    expect(seen.slice(0, -1).map((e) => (e.type === 'websocket.receive' ? e.text : e.type))).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(seen.at(-1)).toMatchObject({ type: 'websocket.disconnect', code: 1008 });
    expect(server.logger.text()).toMatch(/not receiving/);
  });

  it('the byte bound applies too, but one message always fits in an empty queue', async () => {
    server = await startWsServer(accepting(() => new Promise(() => {})), {}, { maxQueuedBytes: 1000 });
    const ws = await connect(server.url);
    ws.send(new Uint8Array(5000)); // larger than the byte bound, alone in the queue: accepted
    ws.send(new Uint8Array(10)); // now the queue is over its bound: refused
    expect(await closed(ws)).toMatchObject({ code: 1008 });
  });

  it('an app that keeps receiving is never cut off', async () => {
    let count = 0;
    server = await startWsServer(
      accepting(async (receive, send) => {
        for (;;) {
          const e = await receive();
          if (e.type === 'websocket.disconnect') return;
          if (++count === 2000) await send({ type: 'websocket.send', text: 'all received' });
        }
      }),
      {},
      { maxQueuedMessages: 4 },
    );
    const ws = await connect(server.url);
    for (let i = 0; i < 2000; i++) ws.send('x');
    expect((await nextMessage(ws)).data.toString()).toBe('all received');
    ws.close();
  });
});

describe('WebSocket automatic pings', () => {
  it('pings a live client every wsPingInterval and keeps it', async () => {
    server = await startWsServer(accepting(async (receive) => void (await receive())), { wsPingInterval: 0.05, wsPingTimeout: 0.2 });
    const ws = await connect(server.url);
    for (let i = 0; i < 5; i++) await once(ws, 'ping');
    expect(ws.readyState).toBe(ws.OPEN);
    ws.close();
  });

  it('drops a peer that does not answer within wsPingTimeout: a lost connection (1006) for the app and the peer', async () => {
    const last = deferred<WebSocketReceiveEventUnion>();
    server = await startWsServer(
      accepting(async (receive) => last.resolve(await receive())),
      { wsPingInterval: 0.05, wsPingTimeout: 0.1 },
    );
    const ws = await connect(server.url);
    ws.pause(); // a dead peer: reads nothing, so answers no ping
    expect(await last.promise).toEqual({ type: 'websocket.disconnect', code: 1006, reason: 'keepalive ping timeout' });
    const c = closed(ws);
    ws.resume();
    expect(await c).toMatchObject({ code: 1006 });
  });

  it('wsPingInterval null sends no pings', async () => {
    server = await startWsServer(
      accepting(async (receive, send) => {
        await receive();
        await send({ type: 'websocket.send', text: 'bye' });
      }),
      { wsPingInterval: null },
    );
    const ws = await connect(server.url);
    let pings = 0;
    ws.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, 150));
    expect(pings).toBe(0);
    ws.close();
  });
});

describe('WebSocket and the server around it', () => {
  it('graceful shutdown closes open sockets with 1012 and the connection leaves the tracker when the app returns', async () => {
    server = await startWsServer(
      accepting(async (receive) => {
        for (;;) if ((await receive()).type === 'websocket.disconnect') return;
      }),
    );
    const ws = await connect(server.url);
    expect(server.ctx.connections.size).toBe(1);
    server.ctx.connections.beginShutdown();
    expect(await closed(ws)).toMatchObject({ code: 1012 });
    await server.ctx.connections.drained();
    expect(server.ctx.connections.size).toBe(0);
  });

  it('upgrades past limitConcurrency get 503', async () => {
    server = await startWsServer(accepting(async (receive) => void (await receive())), { limitConcurrency: 1 });
    const first = await connect(server.url);
    const second = (await connect(server.url).catch((e: unknown) => e)) as { status: number };
    expect(second.status).toBe(503);
    first.close();
  });

  it('the lifespan state is copied shallowly into each websocket scope', async () => {
    const states: Array<Record<string, unknown> | undefined> = [];
    server = await startWsServer(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      states.push(scope.state);
      scope.state!.mine = true;
      await receive();
      await send({ type: 'websocket.close' });
    });
    server.ctx.state.db = 'pool';
    await connect(server.url).catch(() => {});
    await connect(server.url).catch(() => {});
    expect(states).toEqual([{ db: 'pool', mine: true }, { db: 'pool', mine: true }]);
    expect(states[0]).not.toBe(states[1]);
    expect(server.ctx.state).toEqual({ db: 'pool' });
  });

  it('root_path prefixes path and raw_path', async () => {
    const paths = deferred<[string, string | null, string]>();
    server = await startWsServer(
      async (scope, receive, send) => {
        if (scope.type !== 'websocket') return;
        paths.resolve([scope.path, scope.raw_path, scope.root_path]);
        await receive();
        await send({ type: 'websocket.close' });
      },
      { rootPath: '/api' },
    );
    await connect(`${server.url}/ws`).catch(() => {});
    expect(await paths.promise).toEqual(['/api/ws', '/api/ws', '/api']);
  });
});
