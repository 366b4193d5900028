import type { WsgiApplication } from '@tsgi/core';

const encoder = new TextEncoder();

/** A WSGI-TS app: blocking code is fine here, it runs on a worker thread of the pool. */
export const app: WsgiApplication = (environ, startResponse) => {
  const body = environ['wsgi.input'].read(); // blocks this thread until the whole body is in
  const text = `${environ.REQUEST_METHOD} ${environ.PATH_INFO}: ${body.length} bytes\n`;
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [encoder.encode(text)];
};
