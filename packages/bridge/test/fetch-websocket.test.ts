/**
 * FetchWebSocket, the transport of the Bun and Deno hosts, driven here by a
 * scripted RuntimeHandshake and RuntimeSocket: what the fetch handler answers
 * the upgrade request, a client leaving through the Request's signal, a
 * runtime refusing the upgrade, send backpressure with and without a drain
 * event, a socket that opens after accept, and the 1009 size check. The
 * protocol rules themselves are ServerWebSocketSession's, tested in
 * @tsgi/core; the real runtimes in bun-host.test.ts and deno-host.test.ts.
 */
import { buildWebSocketScope, ClientDisconnected, type AsgiApplication, type Extensions, type NormalizedHeaders, type ReceiveEvent } from '@tsgi/core';
import { ConnectionTracker, silentLogger } from '@tsgi/core/server';
import { describe, expect, it } from 'vitest';
import { FetchWebSocket, refuseHandshake, type FetchWebSocketEnv, type RuntimeSocket } from '../src/hosts/fetch-websocket.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const EXTENSIONS: Extensions = { 'websocket.http.response': {} };

function upgradeRequest(init: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Request {
  return new Request('http://127.0.0.1:9/ws', {
    signal: init.signal,
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...init.headers },
  });
}

/** A scripted runtime socket: records what the transport did; `buffered` is what the runtime holds unsent. */
class FakeSocket implements RuntimeSocket {
  sent: Array<string | Uint8Array> = [];
  closes: Array<[number, string]> = [];
  terminated = false;
  buffered = 0;
  bufferedAsked = 0;
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
    this.bufferedAsked++;
    return this.buffered;
  }
}

interface StartOptions {
  request?: Request;
  /** What the runtime's upgrade returns: a Response (the default, Deno's way), undefined (Bun's), or null (refused). */
  accept?: Response | undefined | null;
  /** Runs inside the runtime's upgrade, as Deno aborts the Request's signal there. */
  duringAccept?: () => void;
  reportsDrain?: boolean;
}

/** Starts a transport and its session for `app`; `accepts` records the runtime's upgrade calls. */
function start(app: AsgiApplication, opts: StartOptions = {}) {
  const request = opts.request ?? upgradeRequest();
  const connections = new ConnectionTracker();
  const scope = buildWebSocketScope(
    { method: 'GET', target: '/ws', httpVersion: '1.1', headers: [...request.headers], client: null, server: null, scheme: 'http' },
    { rootPath: '', extensions: EXTENSIONS },
  );
  const env: FetchWebSocketEnv = {
    session: {
      app,
      logger: silentLogger,
      connections,
      limits: { maxMessageBytes: 100, inbox: { maxMessages: 2, maxBytes: 1000 }, pausable: false, pingIntervalMs: null, pingTimeoutMs: null },
    },
    sendHighWaterMark: 10,
  };
  const transport = new FetchWebSocket(env, scope, request);
  const socket = new FakeSocket(opts.reportsDrain ?? true);
  const accepts: Array<[string | null, NormalizedHeaders]> = [];
  const answer = transport.start({
    accept: (subprotocol, headers) => {
      accepts.push([subprotocol, headers]);
      opts.duringAccept?.();
      return 'accept' in opts ? opts.accept : new Response(null, { status: 200 });
    },
  });
  return { transport, socket, answer, accepts, connections };
}

/** An app that accepts, then runs `then`. */
function accepting(then: (receive: () => Promise<ReceiveEvent>, send: (e: object) => Promise<void>) => Promise<void> = async () => {}): AsgiApplication {
  return async (_scope, receive, send) => {
    await receive();
    await send({ type: 'websocket.accept', subprotocol: null, headers: [['x-ws', 'yes']] });
    await then(receive as () => Promise<ReceiveEvent>, send as (e: object) => Promise<void>);
  };
}

describe('refuseHandshake', () => {
  it('refuses a handshake of another version with 426, and one without a key with 400', () => {
    const version8 = refuseHandshake(upgradeRequest({ headers: { 'sec-websocket-version': '8' } }), silentLogger);
    expect([version8?.status, version8?.headers.get('sec-websocket-version')]).toEqual([426, '13']);
    expect(refuseHandshake(upgradeRequest({ headers: { 'sec-websocket-key': 'short' } }), silentLogger)?.status).toBe(400);
    expect(refuseHandshake(upgradeRequest(), silentLogger)).toBeNull();
  });
});

describe('FetchWebSocket: the answer to the upgrade request', () => {
  it("websocket.accept resolves with the runtime's Response, the subprotocol and headers handed to its upgrade", async () => {
    const upgraded = new Response(null, { status: 200, headers: { 'x-runtime': '101' } });
    const { answer, accepts } = start(accepting(), { accept: upgraded });
    expect(await answer).toBe(upgraded);
    expect(accepts).toEqual([[null, [['x-ws', 'yes']]]]);
  });

  it('resolves with undefined where the runtime answers the upgrade itself (Bun)', async () => {
    const { answer } = start(accepting(), { accept: undefined });
    expect(await answer).toBeUndefined();
  });

  it('a runtime that refuses the upgrade: the client gets a plain 400, the app a ClientDisconnected', async () => {
    let raised: unknown = null;
    const { answer, connections } = start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' }).catch((e: unknown) => (raised = e));
      },
      { accept: null },
    );
    const res = (await answer)!;
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([400, 'text/plain; charset=utf-8', 'Bad Request']);
    await tick();
    expect(raised).toBeInstanceOf(ClientDisconnected);
    await connections.drained();
  });

  it('websocket.close before accept answers 403 with an empty body', async () => {
    const { answer } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.close', code: 1000, reason: '' });
    });
    const res = (await answer)!;
    expect([res.status, await res.text()]).toEqual([403, '']);
  });

  it('a denial response is answered with its status, headers and body', async () => {
    const { answer } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [['x-why', 'no token']] });
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('go '), more_body: true });
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('away') });
    });
    const res = (await answer)!;
    expect([res.status, res.headers.get('x-why'), await res.text()]).toEqual([401, 'no token', 'go away']);
  });

  it('a denial response of a status without a body is answered too', async () => {
    const { answer } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 204, headers: [] });
      await send({ type: 'websocket.http.response.body' });
    });
    expect((await answer)?.status).toBe(204);
  });

  it('a denial response the app leaves unfinished rejects the answer (the runtime then drops or fails the request)', async () => {
    const { answer } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [] });
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('go'), more_body: true });
    });
    await expect(answer).rejects.toThrow(/unfinished/);
  });

  it('an app that raises before accept gets a plain 500', async () => {
    const { answer } = start(async () => {
      throw new Error('boom');
    });
    const res = (await answer)!;
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([500, 'text/plain; charset=utf-8', 'Internal Server Error']);
  });

  it('a client that leaves before the answer (the Request signal): receive() gives 1006 and accept raises', async () => {
    const leave = new AbortController();
    const seen: unknown[] = [];
    const { answer, accepts } = start(
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
    expect(accepts).toEqual([]);
    expect((await answer)?.status).toBe(400); // nobody reads it: the runtime only needs an answer
  });

  it('a Request signal already aborted when the upgrade arrives counts as a client that left', async () => {
    const leave = new AbortController();
    leave.abort();
    const seen: unknown[] = [];
    const { answer } = start(
      async (_s, receive) => {
        seen.push(await receive());
        seen.push(await receive());
      },
      { request: upgradeRequest({ signal: leave.signal }) },
    );
    expect((await answer)?.status).toBe(400);
    await tick();
    expect(seen[1]).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
  });

  it('the signal aborting as the runtime takes the connection over (Deno) is no client leaving', async () => {
    const taken = new AbortController();
    let events: ReceiveEvent[] = [];
    const { transport, socket, answer } = start(
      accepting(async (receive) => {
        events = [await receive()];
      }),
      { request: upgradeRequest({ signal: taken.signal }), duringAccept: () => taken.abort() },
    );
    expect((await answer)?.status).toBe(200);
    transport.opened(socket);
    transport.message('hi');
    await tick();
    expect(events).toEqual([{ type: 'websocket.receive', bytes: null, text: 'hi' }]);
  });
});

describe('FetchWebSocket: the open socket', () => {
  it('holds sends and the close until the runtime opens the socket after the 101', async () => {
    let sendDone = false;
    const { transport, socket, answer } = start(
      accepting(async (_receive, send) => {
        await send({ type: 'websocket.send', text: 'early' });
        sendDone = true;
        await send({ type: 'websocket.close', code: 4000, reason: 'done' });
      }),
    );
    await answer;
    await tick(10);
    expect([socket.sent, socket.closes, sendDone]).toEqual([[], [], false]);
    transport.opened(socket);
    await tick();
    expect([socket.sent, socket.closes, sendDone]).toEqual([['early'], [[4000, 'done']], true]);
    transport.closed(4000, 'done');
  });

  it('send() waits while the runtime holds more than the high-water mark, polling a runtime without a drain event', async () => {
    let sent = false;
    const { transport, socket } = start(
      accepting(async (receive, send) => {
        await send({ type: 'websocket.send', text: 'big' });
        sent = true;
        await receive();
      }),
      { reportsDrain: false },
    );
    socket.buffered = 50;
    await tick();
    transport.opened(socket);
    await tick(30);
    expect([socket.sent, sent]).toEqual([['big'], false]);
    expect(socket.bufferedAsked).toBeGreaterThan(2); // asked again every 5 ms
    socket.buffered = 5;
    await tick(20);
    expect(sent).toBe(true);
    transport.closed(1000, '');
  });

  it("send() waits for the runtime's drain event where it reports one, without polling", async () => {
    let sent = false;
    const { transport, socket } = start(
      accepting(async (receive, send) => {
        await send({ type: 'websocket.send', bytes: new Uint8Array(20) });
        sent = true;
        await receive();
      }),
      { reportsDrain: true },
    );
    socket.buffered = 50;
    await tick();
    transport.opened(socket);
    await tick(30);
    expect([socket.sent.length, sent, socket.bufferedAsked]).toEqual([1, false, 1]);
    socket.buffered = 0;
    transport.drained();
    await tick();
    expect(sent).toBe(true);
    transport.closed(1000, '');
  });

  it('a send waiting for the drain rejects with ClientDisconnected when the socket closes', async () => {
    let raised: unknown = null;
    const { transport, socket, connections } = start(
      accepting(async (_receive, send) => {
        await send({ type: 'websocket.send', text: 'big' }).catch((e: unknown) => (raised = e));
      }),
    );
    socket.buffered = 50;
    await tick();
    transport.opened(socket);
    await tick();
    transport.closed(1006, '');
    await tick();
    expect(raised).toBeInstanceOf(ClientDisconnected);
    await connections.drained();
  });

  it('closes with 1009 on a text message over the limit measured in UTF-8, and hands a smaller one to the app', async () => {
    const events: ReceiveEvent[] = [];
    const { transport, socket } = start(
      accepting(async (receive) => {
        for (;;) {
          const event = await receive();
          events.push(event);
          if (event.type === 'websocket.disconnect') return;
        }
      }),
    );
    await tick();
    transport.opened(socket);
    transport.message('é'.repeat(50)); // 100 bytes of UTF-8: at the limit
    transport.message('é'.repeat(51)); // 102 bytes in 51 UTF-16 units
    expect(socket.closes).toEqual([[1009, 'message too big']]);
    transport.closed(1009, 'message too big');
    await tick();
    expect(events).toEqual([
      { type: 'websocket.receive', bytes: null, text: 'é'.repeat(50) },
      { type: 'websocket.disconnect', code: 1009, reason: 'message too big' },
    ]);
  });
});
