import type { WsgiApplication } from '@tsgi/core';

/** A WSGI-TS app (PEP 3333 in TypeScript): it may block, it runs on a worker thread. */
export const app: WsgiApplication = (environ, startResponse) => {
  const body = environ['wsgi.input'].read(); // blocks this thread until the whole body is in
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [new TextEncoder().encode(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}: ${body.length} bytes\n`)];
};
