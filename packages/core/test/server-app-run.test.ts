import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpResponseCycle, WebSocketCycle, isClientDisconnected, type AsgiApplication, type Receive, type Scope, type Send } from '@tsgi/core';
import { httpEnding, RETURNED, runApp, websocketEnding, type AppExit, type Logger } from '@tsgi/core/server';

const bytes = (s: string) => new TextEncoder().encode(s);
const START = { type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] };
const bodyEvent = (s: string, more = false) => ({ type: 'http.response.body', body: bytes(s), more_body: more });
const raised = (error: unknown): AppExit => ({ raised: true, error });

/** The error the cycle's send() throws once the client is gone (what an app lets escape). */
function disconnectedError(cycle: { send(e: unknown): unknown }, event: unknown): unknown {
  try {
    cycle.send(event);
  } catch (e) {
    return e;
  }
  throw new Error('send() did not throw after the client disconnected');
}

describe('httpEnding', () => {
  it('does nothing and logs nothing when the app returned after a complete response', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(START);
    c.send(bodyEvent('ok'));
    expect(httpEnding(c, RETURNED)).toEqual({ action: 'none', log: null });
  });

  it('does nothing for a complete HEAD response too', () => {
    const c = new HttpResponseCycle({ method: 'HEAD' });
    c.send(START);
    c.send(bodyEvent('counted, not sent'));
    expect(httpEnding(c, RETURNED)).toEqual({ action: 'none', log: null });
  });

  it('answers 500 and logs when the app returned before starting the response', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    expect(httpEnding(c, RETURNED)).toEqual({ action: 'respond_500', log: { message: 'ASGI callable returned without starting response.' } });
  });

  it('aborts and logs when the app returned in the middle of the body', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(START);
    c.send(bodyEvent('part', true));
    const e = httpEnding(c, RETURNED);
    expect(e.action).toBe('abort');
    expect(e.log?.message).toBe('ASGI callable returned without completing response.');
  });

  it('aborts when the app returned after only the response start', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(START);
    expect(httpEnding(c, RETURNED).action).toBe('abort');
  });

  it('answers 500 and logs the error when the app raised before starting', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    const err = new Error('handler crashed');
    expect(httpEnding(c, raised(err))).toEqual({ action: 'respond_500', log: { message: 'Exception in ASGI application', error: err } });
  });

  it('logs the error when the app raised mid body (the 500 becomes a cut connection)', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(START);
    c.send(bodyEvent('part', true));
    const err = new TypeError('late crash');
    const e = httpEnding(c, raised(err));
    expect(e.action).toBe('respond_500');
    expect(e.log).toEqual({ message: 'Exception in ASGI application', error: err });
  });

  it('still logs an error raised after the response was complete', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(START);
    c.send(bodyEvent('ok'));
    const err = new Error('cleanup crashed');
    const e = httpEnding(c, raised(err));
    expect(e.action).not.toBe('abort');
    expect(e.log?.error).toBe(err);
  });

  it('does nothing and logs nothing when the app let ClientDisconnected escape after the client left', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.send(START);
    c.disconnect();
    const err = disconnectedError(c, bodyEvent('more'));
    expect(isClientDisconnected(err)).toBe(true);
    expect(httpEnding(c, raised(err))).toEqual({ action: 'none', log: null });
  });

  it('does nothing for the client but logs another error raised after the client left', () => {
    const c = new HttpResponseCycle({ method: 'GET' });
    c.disconnect();
    const err = new RangeError('unrelated bug');
    const e = httpEnding(c, raised(err));
    expect(e.action).toBe('none');
    expect(e.log).toEqual({ message: 'Exception in ASGI application', error: err });
  });

  it('does nothing and logs nothing when the app returned after the client left', () => {
    for (const sent of [0, 1, 2]) {
      const c = new HttpResponseCycle({ method: 'GET' });
      if (sent >= 1) c.send(START);
      if (sent >= 2) c.send(bodyEvent('part', true));
      c.disconnect();
      expect(httpEnding(c, RETURNED), `after ${sent} events`).toEqual({ action: 'none', log: null });
    }
  });
});

describe('websocketEnding', () => {
  const PATH = '/ws/chat';
  const denialExtensions = { 'websocket.http.response': {} };

  function connecting() {
    return new WebSocketCycle();
  }
  function connected() {
    const c = new WebSocketCycle();
    c.send({ type: 'websocket.accept' });
    return c;
  }
  function responding() {
    const c = new WebSocketCycle({ extensions: denialExtensions });
    c.send({ type: 'websocket.http.response.start', status: 401, headers: [] });
    c.send({ type: 'websocket.http.response.body', body: bytes('no'), more_body: true });
    return c;
  }
  function closedByApp() {
    const c = connected();
    c.send({ type: 'websocket.close', code: 1000 });
    return c;
  }

  it('denies with 403 when the app returned before answering the handshake', () => {
    const c = connecting();
    expect(c.state).toBe('connecting');
    expect(websocketEnding(c, RETURNED, PATH)).toEqual({ action: 'deny_403', log: null });
  });

  it('answers 500 and logs, naming the path, when the app raised before answering the handshake', () => {
    const err = new Error('boom');
    const e = websocketEnding(connecting(), raised(err), PATH);
    expect(e.action).toBe('respond_500');
    expect(e.log?.error).toBe(err);
    expect(e.log?.message).toContain(PATH);
  });

  it('closes with 1000 when the app returned on an open socket', () => {
    expect(websocketEnding(connected(), RETURNED, PATH)).toEqual({ action: 'close_1000', log: null });
  });

  it('closes with 1011 and logs when the app raised on an open socket', () => {
    const err = new Error('handler crashed');
    const e = websocketEnding(connected(), raised(err), PATH);
    expect(e.action).toBe('close_1011');
    expect(e.log).toEqual({ message: `Exception in ASGI application (websocket ${PATH})`, error: err });
  });

  it('aborts when the app ended in the middle of a denial response', () => {
    const c = responding();
    expect(c.state).toBe('responding');
    expect(websocketEnding(c, RETURNED, PATH)).toEqual({ action: 'abort', log: null });
    const err = new Error('mid denial');
    const e = websocketEnding(responding(), raised(err), PATH);
    expect(e.action).toBe('abort');
    expect(e.log?.error).toBe(err);
  });

  it('does nothing once the app closed the socket (and logs an error raised afterwards)', () => {
    expect(websocketEnding(closedByApp(), RETURNED, PATH)).toEqual({ action: 'none', log: null });
    const err = new Error('after close');
    const e = websocketEnding(closedByApp(), raised(err), PATH);
    expect(e.action).toBe('none');
    expect(e.log?.error).toBe(err);
  });

  it('does nothing once a denial response is complete', () => {
    const c = responding();
    c.send({ type: 'websocket.http.response.body', body: bytes('!') });
    expect(websocketEnding(c, RETURNED, PATH)).toEqual({ action: 'none', log: null });
  });

  it('does nothing and logs nothing when the client left and the app returned or let ClientDisconnected escape', () => {
    const c = connected();
    c.disconnect(1001);
    const err = disconnectedError(c, { type: 'websocket.send', text: 'hi' });
    expect(isClientDisconnected(err)).toBe(true);
    expect(websocketEnding(c, raised(err), PATH)).toEqual({ action: 'none', log: null });
    expect(websocketEnding(c, RETURNED, PATH)).toEqual({ action: 'none', log: null });
  });

  it('does nothing for the client but logs another error raised after the client left', () => {
    const c = connected();
    c.disconnect(1006);
    const err = new Error('unrelated');
    const e = websocketEnding(c, raised(err), PATH);
    expect(e.action).toBe('none');
    expect(e.log?.error).toBe(err);
  });
});

describe('runApp', () => {
  const scope = { type: 'http' } as unknown as Scope;
  const receive: Receive = async () => ({ type: 'http.disconnect' }) as never;
  const send: Send = async () => {};

  function recordingLogger(): Logger & { errors: Array<[string, unknown]> } {
    const errors: Array<[string, unknown]> = [];
    return { errors, debug() {}, info() {}, warning() {}, error: (m, e) => errors.push([m, e]), access() {} };
  }

  /** Runs `app` and resolves with the exits onExit saw, once the first arrives (plus a few turns for any second one). */
  function run(app: AsgiApplication, logger: Logger = recordingLogger()): { exits: AppExit[]; done: Promise<AppExit[]>; syncExits: number } {
    const exits: AppExit[] = [];
    let first!: () => void;
    const arrived = new Promise<void>((resolve) => (first = resolve));
    runApp(app, scope, receive, send, (exit) => {
      exits.push(exit);
      first();
    }, logger);
    const syncExits = exits.length;
    const done = arrived.then(() => new Promise<AppExit[]>((resolve) => setTimeout(() => resolve(exits), 5)));
    return { exits, done, syncExits };
  }

  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('hands the app its scope, receive and send', async () => {
    let args: unknown[] = [];
    const { done } = run(async (...a: unknown[]) => void (args = a));
    await done;
    expect(args[0]).toBe(scope);
    expect(args[1]).toBe(receive);
    expect(args[2]).toBe(send);
  });

  it('reports RETURNED once when the app resolves', async () => {
    const { done } = run(async () => {});
    expect(await done).toEqual([RETURNED]);
    expect((await done)[0]).toBe(RETURNED);
  });

  it('reports the error once when the app rejects', async () => {
    const err = new Error('async failure');
    const { done } = run(async () => {
      throw err;
    });
    expect(await done).toEqual([{ raised: true, error: err }]);
  });

  it('counts a synchronous throw as raising, reported after runApp returns', async () => {
    const err = new Error('sync failure');
    const r = run((() => {
      throw err;
    }) as unknown as AsgiApplication);
    expect(r.syncExits).toBe(0);
    const exits = await r.done;
    expect(exits).toHaveLength(1);
    expect(exits[0]).toEqual({ raised: true, error: err });
  });

  it('counts a non-promise return as returning', async () => {
    for (const value of [undefined, 42, null, { then: 'not a function' }]) {
      const { done } = run((() => value) as unknown as AsgiApplication);
      expect(await done, String(value)).toEqual([RETURNED]);
    }
  });

  it('logs an error thrown by onExit instead of leaving an unhandled rejection', async () => {
    const logger = recordingLogger();
    const bug = new Error('transport bug');
    for (const app of [async () => {}, async () => Promise.reject(new Error('app'))] as AsgiApplication[]) {
      runApp(app, scope, receive, send, () => {
        throw bug;
      }, logger);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(logger.errors).toEqual([
      ['Internal error after the ASGI application finished', bug],
      ['Internal error after the ASGI application finished', bug],
    ]);
    expect(unhandled).toEqual([]);
  });
});
