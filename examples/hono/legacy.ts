/**
 * A WSGI-TS app, the kind a team already has: synchronous, may block (here
 * it just reports where it is mounted). examples/hono/mixed.ts serves it on
 * worker threads next to the Hono app.
 */
import type { WsgiApplication } from '@tsgi/core';

export const app: WsgiApplication = (environ, startResponse) => {
  const body = new TextEncoder().encode(`legacy WSGI app: SCRIPT_NAME=${environ.SCRIPT_NAME} PATH_INFO=${environ.PATH_INFO}\n`);
  startResponse('200 OK', [
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.byteLength)],
  ]);
  return [body];
};
