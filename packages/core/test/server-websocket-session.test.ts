/**
 * ServerWebSocketSession, the transport-independent half of every tsgi
 * WebSocket (@tsgi/uws, @tsgi/node, the Bun and Deno hosts), driven here by
 * a scripted HandshakePort and SocketPort: the handshake's outcomes, the
 * endings of the app's run, the limits, pings, flow control, a socket that
 * opens after accept, and shutdown. What each transport does on the wire is
 * tested beside it and by the conformance suite.
 */
import { describe, expect, it } from 'vitest';
import { ClientDisconnected, buildWebSocketScope, type AsgiApplication, type NormalizedHeaders, type ReceiveEvent, type WebSocketScope } from '@tsgi/core';
import { ConnectionTracker, ServerWebSocketSession, type HandshakePort, type SessionLimits, type SocketPort } from '@tsgi/core/server';
import { deferred, delay, recordingLogger } from './support/server-tests.js';

const LIMITS: SessionLimits = {
  maxMessageBytes: 100,
  inbox: { maxMessages: 2, maxBytes: 1000 },
  pausable: false,
  pingIntervalMs: null,
  pingTimeoutMs: null,
};

/** A scripted transport: records what the session asked of it. */
class FakeTransport implements HandshakePort, SocketPort {
  log: string[] = [];
  responses: Array<{ status: number; headers: NormalizedHeaders; body: string }> = [];
  sent: Array<string | Uint8Array> = [];
  /** What accept() answers: true (accepted), false (the client is gone). */
  acceptResult = true;
  /** Call session.opened() inside accept(), as uWS and ws do; false: the test opens later, as Bun and Deno do. */
  opensAtOnce = true;
  session: ServerWebSocketSession | null = null;
  readonly ping: (() => void) | null;
  readonly pause: (() => void) | null;
  readonly resume: (() => void) | null;

  constructor(opts: { pings?: boolean; pausable?: boolean } = {}) {
    this.ping = opts.pings === true ? () => this.log.push('ping') : null;
    this.pause = opts.pausable === true ? () => this.log.push('pause') : null;
    this.resume = opts.pausable === true ? () => this.log.push('resume') : null;
  }
  accept(subprotocol: string | null, headers: NormalizedHeaders): boolean {
    this.log.push(`accept ${subprotocol ?? '-'} ${JSON.stringify(headers)}`);
    if (this.acceptResult && this.opensAtOnce) this.session!.opened(this);
    return this.acceptResult;
  }
  respond(status: number, headers: NormalizedHeaders, body: Uint8Array): void {
    this.responses.push({ status, headers, body: Buffer.from(body).toString('latin1') });
  }
  abort(): void {
    this.log.push('abort');
  }
  send(data: string | Uint8Array): Promise<void> {
    this.sent.push(typeof data === 'string' ? data : Buffer.from(data));
    return Promise.resolve();
  }
  close(code: number, reason: string): void {
    this.log.push(`close ${code} ${reason}`);
  }
  terminate(): void {
    this.log.push('terminate');
  }
}

function scope(subprotocols: string[] = []): WebSocketScope {
  const headers: NormalizedHeaders = subprotocols.length > 0 ? [['sec-websocket-protocol', subprotocols.join(', ')]] : [];
  return buildWebSocketScope({ method: 'GET', target: '/ws', httpVersion: '1.1', headers, client: ['10.0.0.1', 5000], server: null, scheme: 'http' }, { rootPath: '', extensions: { 'websocket.http.response': {} } });
}

/** Starts a session for `app` on a FakeTransport. */
function start(app: AsgiApplication, opts: { limits?: Partial<SessionLimits>; transport?: FakeTransport; subprotocols?: string[]; access?: boolean } = {}) {
  const logger = recordingLogger();
  const connections = new ConnectionTracker();
  const transport = opts.transport ?? new FakeTransport();
  const session = new ServerWebSocketSession(
    { app, logger, connections, limits: { ...LIMITS, ...opts.limits } },
    scope(opts.subprotocols),
    opts.access === true ? { prefix: '10.0.0.1:5000 - "WebSocket /ws"', startedMs: performance.now() } : null,
  );
  transport.session = session;
  session.start(transport);
  return { session, transport, logger, connections };
}

/** An app that accepts, then records every event it receives until the disconnect. */
function recordingApp(events: ReceiveEvent[], accept: Record<string, unknown> = {}): AsgiApplication {
  return async (_scope, receive, send) => {
    events.push(await receive());
    await send({ type: 'websocket.accept', ...accept });
    for (;;) {
      const event = await receive();
      events.push(event);
      if (event.type === 'websocket.disconnect') return;
    }
  };
}

describe('ServerWebSocketSession: the handshake', () => {
  it('accept completes the handshake with the subprotocol and headers; messages reach the app as text or bytes', async () => {
    const events: ReceiveEvent[] = [];
    const { session, transport } = start(recordingApp(events, { subprotocol: 'chat', headers: [['x-a', 'b']] }), { subprotocols: ['chat'] });
    await delay(1);
    expect(transport.log).toEqual(['accept chat [["x-a","b"]]']);
    session.received('hello');
    session.received(new Uint8Array([1, 2]));
    session.closed(1000, 'done');
    await delay(1);
    expect(events).toEqual([
      { type: 'websocket.connect' },
      { type: 'websocket.receive', bytes: null, text: 'hello' },
      { type: 'websocket.receive', bytes: new Uint8Array([1, 2]), text: null },
      { type: 'websocket.disconnect', code: 1000, reason: 'done' },
    ]);
  });

  it('websocket.close before accept answers 403, and the app then hears 1006', async () => {
    const events: ReceiveEvent[] = [];
    const { transport } = start(async (_s, receive, send) => {
      events.push(await receive());
      await send({ type: 'websocket.close' });
      events.push(await receive());
    });
    await delay(1);
    expect(transport.responses).toEqual([{ status: 403, headers: [], body: '' }]);
    expect(events[1]).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
  });

  it('a denial response goes to the transport once, whole, with its status and headers', async () => {
    const { transport } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.http.response.start', status: 401, headers: [['www-authenticate', 'Basic']] });
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('no '), more_body: true });
      expect(transport.responses).toEqual([]);
      await send({ type: 'websocket.http.response.body', body: new TextEncoder().encode('entry') });
    });
    await delay(1);
    expect(transport.responses).toEqual([{ status: 401, headers: [['www-authenticate', 'Basic']], body: 'no entry' }]);
  });

  it('a client that leaves during the handshake: receive() gives 1006 and accept raises ClientDisconnected', async () => {
    const seen: unknown[] = [];
    const { session, transport, connections } = start(async (_s, receive, send) => {
      seen.push(await receive());
      await delay(5);
      seen.push(await receive());
      await send({ type: 'websocket.accept' }).catch((e: unknown) => seen.push(e));
    });
    session.clientLeft();
    await delay(20);
    expect(seen[0]).toEqual({ type: 'websocket.connect' });
    expect(seen[1]).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
    expect(seen[2]).toBeInstanceOf(ClientDisconnected);
    expect(transport.log).toEqual([]);
    expect(connections.size).toBe(0);
  });

  it('a transport whose accept fails (the client already gone): the send raises ClientDisconnected, receive() gives 1006', async () => {
    const transport = new FakeTransport();
    transport.acceptResult = false;
    const seen: unknown[] = [];
    start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' }).catch((e: unknown) => seen.push(e));
        seen.push(await receive());
      },
      { transport },
    );
    await delay(1);
    expect(seen[0]).toBeInstanceOf(ClientDisconnected);
    expect(seen[1]).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
  });

  it('a transport that throws in accept() or respond(): logged, the app hears 1006, and the connection leaves the tracker', async () => {
    for (const step of ['accept', 'respond'] as const) {
      const transport = new FakeTransport();
      transport[step] = () => {
        throw new Error(`${step} broke`);
      };
      const seen: unknown[] = [];
      const { logger, connections } = start(
        async (_s, receive, send) => {
          await receive();
          await send({ type: step === 'accept' ? 'websocket.accept' : 'websocket.close' }).catch((e: unknown) => seen.push(e));
          seen.push(await receive());
        },
        { transport },
      );
      await delay(1);
      expect(logger.errors().map((r) => (r.error as Error).message)).toEqual([`${step} broke`]);
      expect(seen.at(-1)).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
      expect(connections.size).toBe(0);
    }
  });

  it('logs accepted, a refusal status and the close code as access lines', async () => {
    const accepted = start(recordingApp([]), { access: true });
    await delay(1);
    accepted.session.closed(1001, '');
    const refused = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.close' });
    }, { access: true });
    await delay(1);
    const lines = (r: typeof accepted) => r.logger.records.filter((x) => x.level === 'access').map((x) => x.message.replace(/ [\d.]+ms$/, ''));
    expect(lines(accepted)).toEqual(['10.0.0.1:5000 - "WebSocket /ws" [accepted]', '10.0.0.1:5000 - "WebSocket /ws" [closed 1001]']);
    expect(lines(refused)).toEqual(['10.0.0.1:5000 - "WebSocket /ws" 403']);
  });
});

describe('ServerWebSocketSession: how the app ends', () => {
  it('raises before accept: 500; raises after accept: close 1011; returns while connected: close 1000', async () => {
    const before = start(async () => {
      throw new Error('boom');
    });
    const after = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      throw new Error('boom');
    });
    const returns = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
    });
    await delay(1);
    expect(before.transport.responses).toEqual([{ status: 500, headers: [['content-type', 'text/plain; charset=utf-8']], body: 'Internal Server Error' }]);
    expect(before.logger.errors().length).toBe(1);
    expect(after.transport.log.slice(1)).toEqual(['close 1011 Internal Server Error']);
    expect(returns.transport.log.slice(1)).toEqual(['close 1000 ']);
  });

  it('reports the code it sent when the transport then says 1006, and leaves the tracker once both sides are done', async () => {
    const events: ReceiveEvent[] = [];
    const { session, transport, connections } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.close', code: 4000, reason: 'bye' });
      events.push(await receive());
    });
    await delay(1);
    expect(transport.log.slice(1)).toEqual(['close 4000 bye']);
    expect(connections.size).toBe(1);
    session.closed(1006, '');
    await delay(1);
    expect(events).toEqual([{ type: 'websocket.disconnect', code: 4000, reason: '' }]);
    expect(connections.size).toBe(0);
  });

  it('send() after the socket closed raises ClientDisconnected; messages after our close are dropped', async () => {
    const events: ReceiveEvent[] = [];
    let raised: unknown = null;
    const { session } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.close', code: 1000 });
      events.push(await receive());
      await send({ type: 'websocket.send', text: 'late' }).catch((e: unknown) => (raised = e));
    });
    await delay(1);
    session.received('after our close');
    session.closed(1000, '');
    await delay(1);
    expect(events).toEqual([{ type: 'websocket.disconnect', code: 1000, reason: '' }]);
    expect(raised).toBeInstanceOf(Error);
  });
});

describe('ServerWebSocketSession: limits, flow and pings', () => {
  it('a message over maxMessageBytes closes with 1009 before the transport copies it', async () => {
    const { session, transport } = start(recordingApp([]));
    await delay(1);
    expect(session.withinLimit(100)).toBe(true);
    expect(session.withinLimit(101)).toBe(false);
    expect(transport.log.slice(1)).toEqual(['close 1009 message too big']);
  });

  it('without pause, an app that leaves more messages unreceived than the inbox holds gets the client closed with 1008', async () => {
    const { session, transport, logger } = start(async (_s, receive, send) => {
      await receive();
      await send({ type: 'websocket.accept' });
      await new Promise(() => {}); // never receives again
    });
    await delay(1);
    for (let i = 0; i < 4; i++) session.received(`m${i}`);
    expect(transport.log.slice(1)).toEqual(['close 1008 receive queue full']);
    expect(logger.records.some((r) => r.level === 'warning' && r.message.includes('not receiving'))).toBe(true);
  });

  it('with pause, the inbox pauses reading at its bounds and resumes once the app catches up; nothing is lost', async () => {
    const transport = new FakeTransport({ pausable: true });
    const gate = deferred();
    const events: ReceiveEvent[] = [];
    const { session } = start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' });
        await gate.promise;
        for (let i = 0; i < 5; i++) events.push(await receive());
      },
      { transport, limits: { pausable: true } },
    );
    await delay(1);
    for (let i = 0; i < 5; i++) session.received(`m${i}`);
    expect(transport.log.slice(1)).toEqual(['pause']);
    gate.resolve();
    await delay(1);
    // ... and the app, having read all five, returns: close 1000.
    expect(transport.log.slice(1)).toEqual(['pause', 'resume', 'close 1000 ']);
    expect(events.map((e) => (e as { text: string }).text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('pings every interval; a peer that does not answer is terminated and the app hears 1006 "keepalive ping timeout"', async () => {
    const transport = new FakeTransport({ pings: true });
    const events: ReceiveEvent[] = [];
    const { session } = start(recordingApp(events), { transport, limits: { pingIntervalMs: 10, pingTimeoutMs: 15 } });
    await delay(18);
    expect(transport.log.slice(1)).toEqual(['ping']);
    session.ponged();
    await delay(45);
    expect(transport.log.filter((l) => l === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(transport.log.at(-1)).toBe('terminate');
    session.closed(1006, '');
    await delay(1);
    expect(events.at(-1)).toEqual({ type: 'websocket.disconnect', code: 1006, reason: 'keepalive ping timeout' });
  });
});

describe('ServerWebSocketSession: a socket that opens after accept (Bun, Deno)', () => {
  it('holds the sends and the close the app makes before the socket opens, and carries them out in order once it does', async () => {
    const transport = new FakeTransport();
    transport.opensAtOnce = false;
    let sentAll = false;
    const { session } = start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' });
        await Promise.all([send({ type: 'websocket.send', text: 'a' }), send({ type: 'websocket.send', bytes: new Uint8Array([7]) })]);
        sentAll = true;
        await send({ type: 'websocket.close', code: 4001 });
      },
      { transport },
    );
    await delay(1);
    expect([transport.sent, sentAll]).toEqual([[], false]);
    session.opened(transport);
    await delay(1);
    expect(transport.sent).toEqual(['a', Buffer.from([7])]);
    expect(sentAll).toBe(true);
    expect(transport.log.slice(1)).toEqual(['close 4001 ']);
  });

  it('a socket that opens after the connection ended is terminated', async () => {
    const transport = new FakeTransport();
    transport.opensAtOnce = false;
    const { session } = start(recordingApp([]), { transport });
    await delay(1);
    session.abort(); // nothing to drop yet: accepted, not open
    session.closed(1006, '');
    session.opened(transport);
    expect(transport.log.slice(1)).toEqual(['terminate']);
  });
});

describe('ServerWebSocketSession: graceful shutdown', () => {
  it('closes an open socket with 1012, resuming a paused one first; a socket that opens later is closed at once', async () => {
    const transport = new FakeTransport({ pausable: true });
    const { session } = start(
      async (_s, receive, send) => {
        await receive();
        await send({ type: 'websocket.accept' });
        await new Promise(() => {});
      },
      { transport, limits: { pausable: true, inbox: { maxMessages: 1, maxBytes: 100 } } },
    );
    await delay(1);
    session.received('a');
    session.received('b');
    session.shutdown();
    expect(transport.log.slice(1)).toEqual(['pause', 'resume', 'close 1012 server shutting down']);

    const later = new FakeTransport();
    later.opensAtOnce = false;
    const second = start(recordingApp([]), { transport: later });
    await delay(1);
    second.session.shutdown();
    second.session.opened(later);
    expect(later.log.slice(1)).toEqual(['close 1012 server shutting down']);
  });

  it('abort during the handshake drops the request and tells the app 1006', async () => {
    const seen: ReceiveEvent[] = [];
    const { session, transport } = start(async (_s, receive) => {
      seen.push(await receive());
      seen.push(await receive());
    });
    session.abort();
    await delay(1);
    expect(transport.log).toEqual(['abort']);
    expect(seen[1]).toEqual({ type: 'websocket.disconnect', code: 1006, reason: null });
  });
});
