/**
 * The WSGI-TS app the reliability tests serve with @tsgi/pool: the same
 * routes as asgi-app.ts, in PEP 3333 shape, plus the faults only a thread
 * pool has (exiting the process, crashing the worker thread).
 */
import type { StartResponse, WsgiApplication, WsgiEnviron, WsgiResponse } from '@tsgi/core';
import { recordRequest } from '../record.js';
import { downloadMiB } from './params.js';

const enc = new TextEncoder();
const cell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => void Atomics.wait(cell, 0, 0, ms);

/** Marker text in every exception the fault routes throw; a client must never see it. */
export const SECRET = 'SECRET-stack-detail-7f3a';

function text(start: StartResponse, body: string, status = '200 OK'): WsgiResponse {
  start(status, [['Content-Type', 'text/plain']]);
  return [enc.encode(body)];
}

function headersOf(env: WsgiEnviron): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('HTTP_') && typeof v === 'string') out[k] = v;
  return out;
}

/** The app. */
export const app: WsgiApplication = (env, start) => {
  const path = env.SCRIPT_NAME + env.PATH_INFO;
  const seen = { method: env.REQUEST_METHOD, path, client: env.REMOTE_ADDR ?? null, scheme: env['wsgi.url_scheme'], headers: headersOf(env) };
  // A request counts as having reached the app once its whole body was read (the default route reads it first).
  if (!path.startsWith('/corpus/') && !path.startsWith('/smuggled/')) recordRequest(seen);
  const q = new URLSearchParams(env.QUERY_STRING);
  switch (path) {
    case '/raise-before-start':
      throw new Error(`boom before start ${SECRET}`);
    case '/raise-mid-stream':
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        yield enc.encode('partial');
        throw new Error(`boom mid-stream ${SECRET}`);
      })();
    case '/raise-in-close':
      start('200 OK', [['Content-Type', 'text/plain']]);
      return Object.assign([enc.encode('done')], {
        close() {
          throw new Error(`boom in close ${SECRET}`);
        },
      });
    case '/hang':
      for (;;) sleep(1000);
    case '/exit':
      process.exit(3);
    case '/crash-thread':
      queueMicrotask(() => {
        throw new Error(`worker crash ${SECRET}`);
      });
      return text(start, 'about to crash');
    case '/no-read':
      return text(start, 'did not read');
    case '/send-after-disconnect':
      // Streams until the client is gone; the pool makes the next write raise and calls close().
      start('200 OK', [['Content-Type', 'text/plain']]);
      return Object.assign(
        (function* () {
          for (let i = 0; i < 10_000; i++) {
            yield enc.encode('x'.repeat(1024));
            sleep(5);
          }
        })(),
        {
          close() {
            recordRequest({ method: 'RESULT', path: 'send-after-disconnect', client: null, scheme: 'closed', headers: {} });
          },
        },
      );
    case '/slow':
      sleep(Number(q.get('ms') ?? 100));
      return text(start, 'slow ok');
    case '/download': {
      // 8 MiB (or ?mib=N, 1-64) in 64 KiB chunks, with backpressure: for clients that leave mid-download or read slowly.
      const chunks = 16 * downloadMiB(q);
      const chunk = new Uint8Array(65536).fill(0x64);
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (function* () {
        for (let i = 0; i < chunks; i++) yield chunk;
      })();
    }
    case '/whoami':
      return text(start, JSON.stringify({ client: env.REMOTE_ADDR ?? null, scheme: env['wsgi.url_scheme'] }));
    default: {
      // A body the server cannot deliver whole makes read() raise: the request then never counts as seen.
      const body = env['wsgi.input'].read();
      // Load-test requests stay in flight a little, so a shutdown signal finds some running.
      if (path.startsWith('/load/')) sleep(20);
      recordRequest({ ...seen, headers: { ...seen.headers, 'x-body-bytes': String(body.byteLength) } });
      return text(start, `ok ${body.byteLength}`);
    }
  }
};
