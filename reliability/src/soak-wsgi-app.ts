/**
 * The WSGI-TS app the soak serves with @tsgi/pool and through the bridge
 * (--server uws): the HTTP routes of soak-asgi-app.ts in PEP 3333 shape
 * (a generator without Content-Length for the streamed response). It counts
 * what it served (soak-count.ts) from whichever worker thread runs it.
 */
import type { WsgiApplication, WsgiResponse } from '@tsgi/core';
import { countServed, streamParts } from './soak-count.js';

const enc = new TextEncoder();

/** The app. */
export const app: WsgiApplication = (env, start) => {
  const [, root, kind, id = ''] = (env.SCRIPT_NAME + env.PATH_INFO).split('/');
  let body: Uint8Array;
  if (root === 'soak' && (kind === 'get' || kind === 'fresh')) body = enc.encode(`${kind} ${id}`);
  else if (root === 'soak' && kind === 'echo') body = env['wsgi.input'].read();
  else if (root === 'soak' && kind === 'stream') {
    start('200 OK', [['Content-Type', 'text/plain']]);
    const parts = streamParts(id);
    const stream: WsgiResponse = Object.assign(
      (function* () {
        for (const p of parts) yield enc.encode(p);
      })(),
      // Counted once the server has sent the whole body and closes the iterable (PEP 3333).
      { close: () => countServed('http') },
    );
    return stream;
  } else {
    start('404 Not Found', [['Content-Type', 'text/plain']]);
    return [enc.encode('not found')];
  }
  start('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', String(body.byteLength)]]);
  countServed('http');
  return [body];
};
