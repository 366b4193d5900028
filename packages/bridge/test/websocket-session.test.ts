/**
 * WebSocketSession, the runtime-independent half of the Bun and Deno hosts,
 * driven here by a scripted Handshake and SocketPort: the edges the real
 * runtimes reach only with effort (a full inbox, a message over the limit, a
 * client leaving mid-handshake, a runtime refusing the upgrade, a runtime
 * without a drain event, app errors on either side of accept).
 */
import { buildWebSocketScope, ClientDisconnected, type AsgiApplication, type ReceiveEvent } from '@tsgi/core';
import { ConnectionTracker, silentLogger } from '@tsgi/core/server';
import { describe, expect, it } from 'vitest';
import { WebSocketSession, refuseHandshake, type SessionLimits, type SocketPort } from '../src/hosts/websocket-session.js';

const LIMITS: SessionLimits = { maxMessageBytes: 100, maxQueuedMessages: 2, maxQueuedBytes: 1000, sendHighWaterMark: 10 };
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

function upgradeRequest(init: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Request {
  return new Request('http://127.0.0.1:9/ws', {
    signal: init.signal,
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...init.headers },
  });
}

/** A scripted socket: records what the session did; `buffered` is what the runtime holds unsent. */
class FakePort implements SocketPort {
  sent: Array<string | Uint8Array> = [];
  closes: Array<[number, string]> = [];
  terminated = false;
  buffered = 0;
  constructor(readonly reportsDrain: boolean) {}
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
  }
  terminate(): void {
    this.terminated = true;
  }
  bufferedAmount(): number {
    return this.buffered;
  }
}

/** Starts a session for `app`; `accept` says what the runtime's upgrade returns (null: refused). */
function start(app: AsgiApplication, opts: { request?: Request; accept?: Response | null; reportsDrain?: boolean } = {}) {
  const request = opts.request ?? upgradeRequest();
  const connections = new ConnectionTracker();
  const scope = buildWebSocketScope(
    { method: 'GET', target: '/ws', httpVersion: '1.1', headers: [...request.headers], client: null, server: null, scheme: 'http' },
    { rootPath: '', extensions: {} },
  );
  const session = new WebSocketSession({ app, logger: silentLogger, limits: LIMITS, connections }, scope, request);
  const port = new FakePort(opts.reportsDrain ?? true);
  const answer = session.start({ accept: () => (opts.accept === undefined ? new Response(null, { status: 200 }) : opts.accept) });
  return { session, port, answer, connections };
}

describe('WebSocketSession', () => {
  it('refuses a handshake of another version with 426, and one without a key with 400', () => {
    const version8 = refuseHandshake(upgradeRequest({ headers: { 'sec-websocket-version': '8' } }), silentLogger);
    expect([version8?.status, version8?.headers.get('sec-websocket-version')]).toEqual([426, '13']);
    expect(refuseHandshake(upgradeRequest({ headers: { 'sec-websocket-key': 'short' } }), silentLogger)?.status).toBe(400);
    expect(refuseHandshake(upgradeRequest(), silentLogger)).toBeNull();
  });

  it('closes with 1008 when the app leaves more messages unreceived than the inbox holds', async () => {
    const { session, port } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await new Promise(() => {}); // never receives again
    });
    await tick();
    session.opened(port);
    for (let i = 0; i < 4; i++) session.message(`m${i}`);
    expect(port.closes).toEqual([[1008, 'receive queue full']]);
  });

  it('closes with 1009 on a message over maxMessageBytes, text measured in UTF-8', async () => {
    const { session, port } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
    });
    await tick();
    session.opened(port);
    session.message('é'.repeat(51)); // 102 bytes of UTF-8 in 51 UTF-16 units
    expect(port.closes).toEqual([[1009, 'message too big']]);
  });

  it('a client that leaves during the handshake: receive() gives 1006 and accept raises ClientDisconnected', async () => {
    const leave = new AbortController();
    const seen: unknown[] = [];
    const { answer } = start(
      async (_s, receive, send) => {
        seen.push(await receive());
        await tick(10);
        seen.push(await receive());
        await send({ type: 'websocket.accept' }).catch((e: unknown) => seen.push(e));
      },
      { request: upgradeRequest({ signal: leave.signal }) },
    );
    leave.abort();
    await tick(30);
    expect(seen[0]).toEqual({ type: 'websocket.connect' });
    expect(seen[1]).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
    expect(seen[2]).toBeInstanceOf(ClientDisconnected);
    expect((await answer)?.status).toBe(400); // nobody reads it: the runtime only needs an answer
  });

  it('a runtime that refuses the upgrade: the client gets 400, the app a ClientDisconnected', async () => {
    let raised: unknown = null;
    const { answer } = start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' }).catch((e: unknown) => (raised = e));
      },
      { accept: null },
    );
    expect((await answer)?.status).toBe(400);
    await tick();
    expect(raised).toBeInstanceOf(ClientDisconnected);
  });

  it('send() waits while the runtime holds more than the high-water mark, polling a runtime without a drain event', async () => {
    let sent = false;
    const { session, port } = start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' });
        await send({ type: 'websocket.send', text: 'big' });
        sent = true;
        await receive();
      },
      { reportsDrain: false },
    );
    port.buffered = 50;
    await tick();
    session.opened(port);
    await tick(20);
    expect([port.sent, sent]).toEqual([['big'], false]);
    port.buffered = 5;
    await tick(20);
    expect(sent).toBe(true);
    session.closed(1000, '');
  });

  it('reports the close code it sent when the runtime then says 1006, and leaves the tracker once both sides are done', async () => {
    const events: ReceiveEvent[] = [];
    const { session, port, connections } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.close', code: 4000, reason: 'bye' });
      events.push(await receive());
    });
    await tick();
    session.opened(port);
    await tick();
    expect(port.closes).toEqual([[4000, 'bye']]);
    session.closed(1006, '');
    await tick();
    expect(events).toEqual([{ type: 'websocket.disconnect', code: 4000, reason: '' }]);
    await connections.drained();
  });

  it('an app that raises before accept gets a 500; after accept, a close 1011', async () => {
    const before = start(async () => {
      throw new Error('boom');
    });
    expect((await before.answer)?.status).toBe(500);
    const after = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      throw new Error('boom');
    });
    await tick();
    after.session.opened(after.port);
    await tick();
    expect(after.port.closes).toEqual([[1011, 'Internal Server Error']]);
  });

  it('shutdown closes an open socket with 1012', async () => {
    const { session, port } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
    });
    await tick();
    session.opened(port);
    session.shutdown();
    expect(port.closes).toEqual([[1012, 'server shutting down']]);
  });
});
