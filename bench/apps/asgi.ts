/**
 * The ASGI-TS app every async contender serves: hello world at `/`, a
 * streamed download at `/download?bytes=N`, an upload counter at `/upload`,
 * and a WebSocket echo. bench/python/asgi_app.py is the same app in Python.
 */
import type { AsgiApplication, HttpScope, Receive, Send, WebSocketScope } from '@tsgi/core';

const HELLO = new TextEncoder().encode('Hello, world!');
const HELLO_HEADERS: Array<[string, string]> = [['content-type', 'text/plain']];
/** Download chunk: 64 KiB, the size Python servers and wsgi.input reads use. */
export const CHUNK_SIZE = 65536;
const CHUNK = new Uint8Array(CHUNK_SIZE).fill(120);

/** Byte count asked for in `?bytes=N` (0 when absent or malformed). */
export function bytesParam(queryString: string): number {
  const m = /(?:^|&)bytes=(\d+)/.exec(queryString);
  return m ? Number(m[1]) : 0;
}

async function download(scope: HttpScope, send: Send): Promise<void> {
  let left = bytesParam(scope.query_string);
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
  if (left === 0) return send({ type: 'http.response.body' });
  while (left > 0) {
    const n = Math.min(left, CHUNK_SIZE);
    left -= n;
    await send({ type: 'http.response.body', body: n === CHUNK_SIZE ? CHUNK : CHUNK.subarray(0, n), more_body: left > 0 });
  }
}

async function upload(receive: Receive, send: Send): Promise<void> {
  let total = 0;
  for (;;) {
    const event = await receive();
    if (event.type !== 'http.request') return; // the client left
    total += event.body?.byteLength ?? 0;
    if (!event.more_body) break;
  }
  await send({ type: 'http.response.start', status: 200, headers: HELLO_HEADERS });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(String(total)) });
}

async function echo(_scope: WebSocketScope, receive: Receive, send: Send): Promise<void> {
  for (;;) {
    const event = await receive();
    if (event.type === 'websocket.connect') await send({ type: 'websocket.accept' });
    else if (event.type === 'websocket.receive') {
      await send(event.bytes != null ? { type: 'websocket.send', bytes: event.bytes } : { type: 'websocket.send', text: event.text ?? '' });
    } else return;
  }
}

/** The benchmark's ASGI-TS app. */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'http') {
    if (scope.path === '/download') return download(scope, send);
    if (scope.path === '/upload') return upload(receive, send);
    await send({ type: 'http.response.start', status: 200, headers: HELLO_HEADERS });
    await send({ type: 'http.response.body', body: HELLO });
  } else if (scope.type === 'websocket') {
    return echo(scope, receive, send);
  }
};
