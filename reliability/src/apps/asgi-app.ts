/**
 * The ASGI-TS app the reliability tests serve with @tsgi/uws and @tsgi/node: it records
 * every request, answers /ok, reads /echo bodies, collects garbage and
 * answers what JavaScript holds on /gc (under --expose-gc), and has one
 * route per fault an app can commit (see docs/reliability.md for the outcomes).
 */
import type { AsgiApplication, HttpScope, Receive, Send } from '@tsgi/core';
import { recordRequest } from '../record.js';
import { collectGarbage } from './gc.js';
import { downloadMiB } from './params.js';

const enc = new TextEncoder();

/** Marker text in every exception the fault routes throw; a client must never see it. */
export const SECRET = 'SECRET-stack-detail-7f3a';

/** Lifespan events seen, for the shutdown tests (also written to the record as pseudo-requests). */
async function lifespan(receive: Receive, send: Send): Promise<void> {
  for (;;) {
    const event = await receive();
    if (event.type === 'lifespan.startup') {
      if (process.env.TSGI_RELIABILITY_LIFESPAN_FAIL === 'startup') throw new Error(`lifespan startup failed ${SECRET}`);
      recordRequest({ method: 'LIFESPAN', path: 'startup', client: null, scheme: '', headers: {} });
      await send({ type: 'lifespan.startup.complete' });
    } else {
      recordRequest({ method: 'LIFESPAN', path: 'shutdown', client: null, scheme: '', headers: {} });
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

/** Reads the whole body; null when the client went away (or the server gave up on the body) first. */
async function readBody(receive: Receive): Promise<number | null> {
  let total = 0;
  for (;;) {
    const event = await receive();
    if (event.type !== 'http.request') return null;
    total += event.body.byteLength;
    if (!event.more_body) return total;
  }
}

async function text(send: Send, status: number, body: string): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: enc.encode(body) });
}

const never = new Promise<never>(() => {});

/** The app. */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return lifespan(receive, send);
  if (scope.type !== 'http') return;
  const http = scope as HttpScope;
  const headers: Record<string, string> = {};
  for (const [k, v] of http.headers) headers[k] = v;
  const seen = { method: http.method, path: http.path, client: http.client ? http.client[0] : null, scheme: http.scheme, headers };
  // A request counts as having reached the app once its whole body was read (the default route reads it first).
  if (!http.path.startsWith('/corpus/') && !http.path.startsWith('/smuggled/')) recordRequest(seen);
  const q = new URLSearchParams(http.query_string);
  switch (http.path) {
    case '/raise-before-start':
      throw new Error(`boom before start ${SECRET}`);
    case '/raise-mid-stream':
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: enc.encode('partial'), more_body: true });
      throw new Error(`boom mid-stream ${SECRET}`);
    case '/raise-after-end':
      await text(send, 200, 'done');
      throw new Error(`boom after the response ${SECRET}`);
    case '/return-without-response':
      return;
    case '/hang':
      return never;
    case '/no-read':
      // Answers at once, leaving the upload unread.
      return text(send, 200, 'did not read');
    case '/send-after-disconnect': {
      // Waits for the client to leave, then sends: the send must fail (ASGI 2.4), not crash anything.
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: enc.encode('x'), more_body: true });
      for (;;) if ((await receive()).type === 'http.disconnect') break;
      try {
        await send({ type: 'http.response.body', body: enc.encode('late') });
        recordRequest({ method: 'RESULT', path: 'send-after-disconnect', client: null, scheme: 'sent', headers: {} });
      } catch (error) {
        recordRequest({ method: 'RESULT', path: 'send-after-disconnect', client: null, scheme: (error as Error).name, headers: {} });
      }
      return;
    }
    case '/slow': {
      await new Promise((r) => setTimeout(r, Number(q.get('ms') ?? 100)));
      return text(send, 200, 'slow ok');
    }
    case '/download': {
      // 8 MiB (or ?mib=N, 1-64) in 64 KiB chunks, with backpressure: for clients that leave mid-download or read slowly.
      const chunks = 16 * downloadMiB(q);
      const chunk = new Uint8Array(65536).fill(0x64);
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
      for (let i = 0; i < chunks; i++) await send({ type: 'http.response.body', body: chunk, more_body: i < chunks - 1 });
      return;
    }
    case '/gc': {
      const answer = collectGarbage();
      return text(send, answer.status, answer.text);
    }
    case '/whoami':
      return text(send, 200, JSON.stringify({ client: http.client ? http.client[0] : null, scheme: http.scheme }));
    default: {
      const n = await readBody(receive);
      if (n === null) return;
      // Load-test requests stay in flight a little, so a shutdown signal finds some running.
      if (http.path.startsWith('/load/')) await new Promise((r) => setTimeout(r, 20));
      recordRequest({ ...seen, headers: { ...headers, 'x-body-bytes': String(n) } });
      return text(send, 200, `ok ${n}`);
    }
  }
};
