import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocketReceiveEventUnion } from '@tsgi/core';
import { RawClient, closeAll, deferred, delay, start, until } from './helpers.js';
import { accepting, closed, connect, echo, frame, handshake, nextMessage } from './ws-helpers.js';

afterEach(closeAll);

describe('WebSocket messages', () => {
  it('echoes text and binary, each kind preserved, exactly one of text/bytes set, in order both ways', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    ws.send('h\u00e9llo \u{1F600}');
    const t = await nextMessage(ws);
    expect([t.isBinary, t.data.toString()]).toEqual([false, 'h\u00e9llo \u{1F600}']);
    ws.send(Buffer.from([0, 255, 1]));
    const b = await nextMessage(ws);
    expect([b.isBinary, [...b.data]]).toEqual([true, [0, 255, 1]]);
    expect(events[0]).toEqual({ type: 'websocket.receive', bytes: null, text: 'h\u00e9llo \u{1F600}' });
    expect(events[1]).toMatchObject({ type: 'websocket.receive', text: null });
    const got: string[] = [];
    const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => got.push(d.toString()) === 500 && resolve()));
    for (let i = 0; i < 500; i++) ws.send(`m${i}`);
    await all;
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    ws.close();
  });

  it('negotiates permessage-deflate only when wsPerMessageDeflate is on', async () => {
    const off = await start(echo());
    const a = await connect(`ws://127.0.0.1:${off.port}/`, [], { perMessageDeflate: true });
    expect(a.extensions).toBe('');
    a.close();
    const on = await start(echo(), { wsPerMessageDeflate: true });
    const b = await connect(`ws://127.0.0.1:${on.port}/`, [], { perMessageDeflate: true });
    expect(b.extensions).toMatch(/permessage-deflate/);
    b.send('x'.repeat(10_000));
    expect((await nextMessage(b)).data.toString()).toBe('x'.repeat(10_000));
    b.close();
  });
});

describe('WebSocket close', () => {
  it("the client's close code and reason reach the app (1005 for a Close frame without code)", async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    ws.close(4001, 'bye now');
    expect(await closed(ws)).toEqual({ code: 4001, reason: 'bye now' });
    await until(() => events.at(-1)?.type === 'websocket.disconnect');
    expect(events.at(-1)).toEqual({ type: 'websocket.disconnect', code: 4001, reason: 'bye now' });
    const events2: WebSocketReceiveEventUnion[] = [];
    const s2 = await start(echo(events2));
    const ws2 = await connect(`ws://127.0.0.1:${s2.port}/`);
    ws2.close();
    await closed(ws2);
    await until(() => events2.at(-1)?.type === 'websocket.disconnect');
    expect(events2.at(-1)).toMatchObject({ code: 1005 });
  });

  it("the app's websocket.close reaches the client; receive() then gives the client's answer; send() raises ClientDisconnected", async () => {
    const after = deferred<unknown[]>();
    const s = await start(accepting(async (receive, send) => {
      await send({ type: 'websocket.close', code: 4321, reason: 'r\u00e9ason' });
      const e = await receive();
      const again = await receive();
      let err: unknown;
      try {
        await send({ type: 'websocket.send', text: 'late' });
      } catch (x) {
        err = x;
      }
      after.resolve([e, again, err]);
    }));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    expect(await closed(ws)).toEqual({ code: 4321, reason: 'r\u00e9ason' });
    const [e, again, err] = await after.promise;
    expect(e).toMatchObject({ type: 'websocket.disconnect', code: 4321 });
    expect(again).toEqual(e);
    expect((err as Error).message).toMatch(/asgi\.websocket\.order\.3|ClientDisconnected|disconnected/);
  });

  it('an app that returns closes with 1000; one that raises after accept closes with 1011 and a generic reason', async () => {
    const s = await start(accepting(async (_receive, _send) => {}));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    expect(await closed(ws)).toEqual({ code: 1000, reason: '' });
    const s2 = await start(accepting(async () => {
      throw new Error('secret');
    }));
    const ws2 = await connect(`ws://127.0.0.1:${s2.port}/`);
    expect(await closed(ws2)).toEqual({ code: 1011, reason: 'Internal Server Error' });
    expect((s2.log.errors()[0]!.error as Error).message).toBe('secret');
  });

  it('graceful shutdown closes open sockets with 1012 and waits for the app', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    const seen = closed(ws);
    await s.handle.close();
    expect((await seen).code).toBe(1012);
    expect(events.at(-1)).toMatchObject({ type: 'websocket.disconnect', code: 1012 });
  });

  it('a message over wsMaxSize closes with 1009 and never reaches the app', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events), { wsMaxSize: 1000 });
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    ws.send('x'.repeat(1000));
    expect((await nextMessage(ws)).data.length).toBe(1000);
    ws.send('y'.repeat(1001));
    expect((await closed(ws)).code).toBe(1009);
    await until(() => events.at(-1)?.type === 'websocket.disconnect');
    expect(events.filter((e) => e.type === 'websocket.receive')).toHaveLength(1);
  });
});

describe('WebSocket protocol errors of the client (ws enforces RFC 6455)', () => {
  async function rawSocket(port: number): Promise<RawClient> {
    const c = new RawClient(port);
    await c.ready;
    c.write(handshake());
    expect((await c.response()).status).toBe(101);
    return c;
  }

  /** The close code of the server's Close frame, read off the raw socket. */
  async function serverCloseCode(c: RawClient): Promise<number> {
    for (;;) {
      const b = c.pending;
      if (b.length >= 4 && (b[0]! & 0x0f) === 0x8) return b.readUInt16BE(2);
      if (c.isClosed) return -1;
      await c.next(2000);
    }
  }

  it('an unmasked frame: 1002', async () => {
    const s = await start(echo());
    const c = await rawSocket(s.port);
    c.write(frame(0x1, Buffer.from('hi'), { mask: false }));
    expect(await serverCloseCode(c)).toBe(1002);
    c.close();
  });

  it('invalid UTF-8 in a text message: 1007, and the app never sees it', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events));
    const c = await rawSocket(s.port);
    c.write(frame(0x1, Buffer.from([0xc3, 0x28])));
    expect(await serverCloseCode(c)).toBe(1007);
    c.close();
    await until(() => events.at(-1)?.type === 'websocket.disconnect');
    expect(events.filter((e) => e.type === 'websocket.receive')).toEqual([]);
  });

  it('a Close frame with a code no endpoint may send (1005, 999): 1002', async () => {
    for (const code of [1005, 999]) {
      const s = await start(echo());
      const c = await rawSocket(s.port);
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      c.write(frame(0x8, payload));
      expect(await serverCloseCode(c)).toBe(1002);
      c.close();
    }
  });

  it('answers pings with pongs and reassembles fragments', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events));
    const c = await rawSocket(s.port);
    c.write(frame(0x9, Buffer.from('p')));
    while (c.pending.length < 3) await c.next();
    expect([...c.pending.subarray(0, 3)]).toEqual([0x8a, 1, 0x70]);
    c.write(frame(0x1, Buffer.from('frag'), { fin: false }));
    c.write(frame(0x0, Buffer.from('ments')));
    await until(() => events.length > 0);
    expect(events[0]).toMatchObject({ text: 'fragments' });
    c.close();
  });
});

describe('WebSocket keepalive', () => {
  it('pings every wsPingInterval; a peer that does not answer within wsPingTimeout is dropped (1006 for the app)', async () => {
    const events: WebSocketReceiveEventUnion[] = [];
    const s = await start(echo(events), { wsPingInterval: 0.05, wsPingTimeout: 0.1 });
    const live = await connect(`ws://127.0.0.1:${s.port}/`);
    let pings = 0;
    live.on('ping', () => pings++);
    const dead = await connect(`ws://127.0.0.1:${s.port}/`, [], { autoPong: false });
    expect((await closed(dead)).code).toBe(1006);
    await until(() => events.some((e) => e.type === 'websocket.disconnect'));
    expect(events.find((e) => e.type === 'websocket.disconnect')).toEqual({ type: 'websocket.disconnect', code: 1006, reason: 'keepalive ping timeout' });
    await delay(100);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(live.readyState).toBe(live.OPEN);
    live.close();
  });
});

describe('WebSocket backpressure', () => {
  it('send: a client that does not read makes send() wait, bounded in flight; all arrive intact once it reads', async () => {
    const total = 64;
    const size = 1024 * 1024;
    let sent = 0;
    const done = deferred();
    const s = await start(accepting(async (receive, send) => {
      const chunk = new Uint8Array(size);
      for (let i = 0; i < total; i++) {
        chunk.fill(i); // reused once send() resolved
        await send({ type: 'websocket.send', bytes: chunk });
        sent++;
      }
      done.resolve();
      await receive();
    }));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    ws.pause();
    let last = -1;
    while (sent !== last) {
      last = sent;
      await delay(150);
    }
    expect(sent).toBeLessThan(24);
    const got: number[] = [];
    const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => {
      expect(d.length).toBe(size);
      expect(d[size - 1]).toBe(d[0]);
      if (got.push(d[0]!) === total) resolve();
    }));
    ws.resume();
    await all;
    await done.promise;
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    ws.close();
  });

  it('send: a client that leaves while send() waits makes it reject with ClientDisconnected', async () => {
    const failure = deferred<unknown>();
    const s = await start(accepting(async (_receive, send) => {
      try {
        for (;;) await send({ type: 'websocket.send', bytes: new Uint8Array(512 * 1024) });
      } catch (e) {
        failure.resolve(e);
      }
    }));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    ws.pause();
    await delay(150);
    ws.terminate();
    expect(((await failure.promise) as Error).name).toBe('ClientDisconnected');
  });

  it('wsMaxQueue (uvicorn\'s --ws-max-queue): reading stops once that many messages wait for the app, and resumes as it takes them', async () => {
    const gate = deferred();
    const received: string[] = [];
    const s = await start(
      accepting(async (receive, send) => {
        await gate.promise;
        while (received.length < 6) {
          const e = await receive();
          if (e.type === 'websocket.receive') received.push(e.text!);
        }
        await send({ type: 'websocket.send', text: 'all' });
        await receive();
      }),
      { wsMaxQueue: 4 },
    );
    const paused = () => s.log.records.filter((r) => r.message.includes('reading paused')).map((r) => r.message);
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    for (let i = 0; i < 3; i++) ws.send(`m${i}`);
    await delay(100);
    expect(paused()).toEqual([]);
    ws.send('m3');
    await until(() => paused().length === 1);
    expect(paused()).toEqual(['WebSocket /: the app left 4 messages unreceived (16 bytes held); reading paused']);
    ws.send('m4');
    ws.send('m5');
    gate.resolve();
    expect((await nextMessage(ws)).data.toString()).toBe('all');
    expect(received).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(s.log.records.some((r) => r.message.includes('reading resumed'))).toBe(true);
    ws.close();
    await expect(start(echo(), { wsMaxQueue: 0 })).rejects.toThrow(/wsMaxQueue.*positive integer.*0/);
  });

  it('receive: an app that stops receiving pauses the socket (the client stalls); nothing is lost once it reads', async () => {
    const gate = deferred();
    const received: number[] = [];
    const s = await start(accepting(async (receive, send) => {
      await gate.promise;
      for (;;) {
        const e = await receive();
        if (e.type !== 'websocket.receive') return;
        received.push(e.bytes![0]!);
        if (received.length === 200) await send({ type: 'websocket.send', text: 'all' });
      }
    }));
    const ws = await connect(`ws://127.0.0.1:${s.port}/`);
    const msg = Buffer.alloc(256 * 1024);
    for (let i = 0; i < 200; i++) {
      msg[0] = i;
      ws.send(Buffer.from(msg));
    }
    // 50 MiB queued by the client: the server takes its inbox bound plus the kernel buffers, then stops reading.
    let last = -1;
    while (ws.bufferedAmount !== last) {
      last = ws.bufferedAmount;
      await delay(150);
    }
    expect(ws.bufferedAmount).toBeGreaterThan(20 * 1024 * 1024);
    gate.resolve();
    expect((await nextMessage(ws)).data.toString()).toBe('all');
    expect(received).toEqual(Array.from({ length: 200 }, (_, i) => i));
    ws.close();
  });
});
