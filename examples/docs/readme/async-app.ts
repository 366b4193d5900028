import type { AsgiApplication } from '@tsgi/core';

/** An ASGI-TS app: greets `?name=` (query_string is a byte string, as ASGI's bytes). */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return; // no lifespan or WebSocket here: returning opts out
  const name = new URLSearchParams(scope.query_string).get('name') ?? 'world';
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(`Hello, ${name}!\n`) });
};
