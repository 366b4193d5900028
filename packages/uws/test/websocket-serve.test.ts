import type { AsgiApplication } from '@tsgi/core';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '../src/index.js';
import type { ServerHandle } from '@tsgi/core';
import { recordingLogger } from './helpers.js';
import { closed, connect, nextMessage } from './websocket-harness.js';

let handle: ServerHandle | undefined;
afterEach(async () => {
  await handle?.close();
  handle = undefined;
});

const echo: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const e = await receive();
      if (e.type === 'lifespan.startup') {
        scope.state!.greeting = 'hi';
        await send({ type: 'lifespan.startup.complete' });
      } else if (e.type === 'lifespan.shutdown') return send({ type: 'lifespan.shutdown.complete' });
    }
  }
  if (scope.type === 'http') {
    await send({ type: 'http.response.start', status: 200 });
    return send({ type: 'http.response.body', body: new TextEncoder().encode('http ok') });
  }
  await receive();
  await send({ type: 'websocket.accept' });
  await send({ type: 'websocket.send', text: String(scope.state?.greeting) });
  for (;;) {
    const e = await receive();
    if (e.type !== 'websocket.receive') return;
    await send({ type: 'websocket.send', text: `echo: ${e.text ?? ''}` });
  }
};

describe('WebSocket through serve()', () => {
  it('one server answers HTTP and WebSocket on the same port, with the lifespan state in the websocket scope', async () => {
    handle = await serve(echo, { port: 0, logger: recordingLogger() });
    const url = handle.url;
    expect(await (await fetch(`${url}/`)).text()).toBe('http ok');
    const ws = await connect(url.replace('http:', 'ws:') + '/ws');
    expect((await nextMessage(ws)).data.toString()).toBe('hi');
    ws.send('ping');
    expect((await nextMessage(ws)).data.toString()).toBe('echo: ping');
    ws.close(1000);
  });

  it('close() closes open WebSockets with 1012 and waits for their apps to return', async () => {
    handle = await serve(echo, { port: 0, logger: recordingLogger() });
    const ws = await connect(handle.url.replace('http:', 'ws:'));
    await nextMessage(ws);
    const c = closed(ws);
    await handle.close();
    handle = undefined;
    expect(await c).toMatchObject({ code: 1012 });
  });

  it('wsMaxSize from serve() options applies', async () => {
    handle = await serve(echo, { port: 0, wsMaxSize: 100, logger: recordingLogger() });
    const ws = await connect(handle.url.replace('http:', 'ws:'));
    await nextMessage(ws);
    ws.send('x'.repeat(150));
    expect(await closed(ws)).toMatchObject({ code: 1009 });
  });
});
