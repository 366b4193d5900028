/**
 * The server side of the big-transfer check, run in its own process so its
 * memory can be measured alone: POST /upload counts the streamed body,
 * GET /download?<bytes> streams that many bytes in 64 KiB chunks.
 * Prints `{"port": N}` on stdout once listening; closes on SIGTERM.
 */
import type { AsgiApplication } from '@tsgi/core';
import { serve } from '../src/index.js';

const CHUNK = new Uint8Array(64 * 1024).fill(0x78);

const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  if (scope.path === '/upload') {
    let n = 0;
    for (;;) {
      const e = await receive();
      if (e.type !== 'http.request') return;
      n += e.body.byteLength;
      if (!e.more_body) break;
    }
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: Buffer.from(String(n)) });
    return;
  }
  const total = Number(scope.query_string);
  await send({ type: 'http.response.start', status: 200, headers: [['content-length', String(total)]] });
  let sent = 0;
  while (sent < total) {
    const n = Math.min(CHUNK.byteLength, total - sent);
    sent += n;
    await send({ type: 'http.response.body', body: n === CHUNK.byteLength ? CHUNK : CHUNK.subarray(0, n), more_body: sent < total });
  }
};

const handle = await serve(app, { port: 0, lifespan: 'off', accessLog: false, logLevel: 'warning' });
process.stdout.write(JSON.stringify({ port: 'port' in handle.address ? handle.address.port : 0 }) + '\n');
process.once('SIGTERM', () => void handle.close());
