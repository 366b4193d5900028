import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpReceiveEvent } from '@tsgi/core';
import { RawClient, closeAll, deferred, delay, rawRequest, start } from './helpers.js';

afterEach(closeAll);

describe('client disconnects', () => {
  it('mid-upload: receive() gives http.disconnect, then send() rejects with ClientDisconnected; nothing logged', async () => {
    const events: string[] = [];
    const failure = deferred<unknown>();
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      for (;;) {
        const e = (await receive()) as HttpReceiveEvent;
        events.push(e.type);
        if (e.type === 'http.disconnect') break;
      }
      try {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.body', body: Buffer.from('late') });
      } catch (e) {
        failure.resolve(e);
        throw e; // escaping ClientDisconnected is not an app error
      }
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf');
    await delay(50);
    c.close();
    expect(((await failure.promise) as Error).name).toBe('ClientDisconnected');
    expect(events.at(-1)).toBe('http.disconnect');
    await delay(20);
    expect(s.log.errors()).toEqual([]);
  });

  it('mid-download: the send() waiting on backpressure rejects with ClientDisconnected and the server keeps serving', async () => {
    const failure = deferred<unknown>();
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/ok') {
        await send({ type: 'http.response.start', status: 200, headers: [] });
        await send({ type: 'http.response.body', body: Buffer.from('ok') });
        return;
      }
      await send({ type: 'http.response.start', status: 200, headers: [] });
      try {
        for (;;) await send({ type: 'http.response.body', body: new Uint8Array(1024 * 1024), more_body: true });
      } catch (e) {
        failure.resolve(e);
      }
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.socket.pause();
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(200);
    c.close();
    expect(((await failure.promise) as Error).name).toBe('ClientDisconnected');
    expect((await rawRequest(s.port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')).body.toString()).toBe('ok');
  });

  it('a pending receive() after the body gets http.disconnect when the client leaves (long-poll)', async () => {
    const got = deferred<string>();
    const app: AsgiApplication = async (scope, receive) => {
      if (scope.type !== 'http') return;
      await receive(); // the (empty) body
      got.resolve(((await receive()) as HttpReceiveEvent).type);
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /poll HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(50);
    c.close();
    expect(await got.promise).toBe('http.disconnect');
  });

  it('a pipelined request whose response is still queued hears the disconnect too', async () => {
    const second = deferred<string>();
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await receive();
      if (scope.path === '/2') {
        second.resolve(((await receive()) as HttpReceiveEvent).type);
        return;
      }
      await new Promise(() => {}); // the first never answers
      await send({ type: 'http.response.start', status: 200, headers: [] });
    };
    const s = await start(app, { timeoutGracefulShutdown: 0 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(50);
    c.close();
    expect(await second.promise).toBe('http.disconnect');
  });

  it('after the response, receive() gives http.disconnect at once', async () => {
    const after = deferred<string>();
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('done') });
      after.resolve(((await receive()) as HttpReceiveEvent).type);
    };
    const s = await start(app);
    await rawRequest(s.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    expect(await after.promise).toBe('http.disconnect');
  });

  it('sends the app does not await, failing because the client left, do not take the process down', async () => {
    const done = deferred();
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/after') throw new Error('still serving');
      await receive();
      await receive(); // http.disconnect
      void send({ type: 'http.response.start', status: 200, headers: [] });
      void send({ type: 'http.response.body', body: Buffer.from('x') });
      void send({ type: 'http.response.nonsense' } as never);
      setTimeout(done.resolve, 20);
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await delay(20);
    c.close();
    await done.promise; // an unhandled rejection would fail this test run
    expect((await rawRequest(s.port, 'GET /after HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(500);
  });
});
