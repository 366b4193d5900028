import type { AsgiApplication } from '@tsgi/core';

const body = new TextEncoder().encode('Hello, world!\n');

/**
 * The smallest ASGI-TS app: answers every HTTP request with a greeting and
 * echoes WebSocket messages. Serve it with `pnpm exec tsgi serve examples/hello/app.ts`.
 */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const event = await receive();
      if (event.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else if (event.type === 'lifespan.shutdown') return send({ type: 'lifespan.shutdown.complete' });
    }
  }
  if (scope.type === 'websocket') {
    await receive(); // websocket.connect
    await send({ type: 'websocket.accept' });
    for (;;) {
      const event = await receive();
      if (event.type !== 'websocket.receive') return; // websocket.disconnect
      await send(event.text != null ? { type: 'websocket.send', text: event.text } : { type: 'websocket.send', bytes: event.bytes! });
    }
  }
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
  await send({ type: 'http.response.body', body });
};
