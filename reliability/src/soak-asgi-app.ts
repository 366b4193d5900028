/**
 * The ASGI-TS app the soak serves with @tsgi/uws: GET answers, POST echoes,
 * a streamed (chunked) response, and a WebSocket echo. It counts what it
 * served (soak-count.ts) so the driver can compare with what the client sent.
 */
import { concatBytes, type AsgiApplication, type HttpScope, type Receive, type Send } from '@tsgi/core';
import { countServed, streamParts } from './soak-count.js';

const enc = new TextEncoder();

async function readBody(receive: Receive): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const event = await receive();
    if (event.type !== 'http.request') return null;
    if (event.body.byteLength > 0) parts.push(event.body);
    total += event.body.byteLength;
    if (!event.more_body) break;
  }
  return concatBytes(parts, total);
}

async function whole(send: Send, status: number, body: Uint8Array): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain'], ['content-length', String(body.byteLength)]] });
  await send({ type: 'http.response.body', body });
}

async function websocket(receive: Receive, send: Send): Promise<void> {
  for (;;) {
    const event = await receive();
    if (event.type === 'websocket.connect') await send({ type: 'websocket.accept' });
    else if (event.type === 'websocket.receive') {
      await send(event.text != null ? { type: 'websocket.send', text: event.text } : { type: 'websocket.send', bytes: event.bytes ?? new Uint8Array(0) });
      countServed('wsMessages');
    } else {
      if (event.type === 'websocket.disconnect' && event.code === 1000) countServed('wsSessions');
      return;
    }
  }
}

/** The app. */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    // Answered so --lifespan auto/on works; nothing to set up.
    for (;;) {
      const event = await receive();
      if (event.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else return send({ type: 'lifespan.shutdown.complete' });
    }
  }
  if (scope.type === 'websocket') return websocket(receive, send);
  const http = scope as HttpScope;
  const [, root, kind, id = ''] = http.path.split('/');
  if (root !== 'soak') return whole(send, 404, enc.encode('not found'));
  switch (kind) {
    case 'get':
    case 'fresh':
      await whole(send, 200, enc.encode(`${kind} ${id}`));
      break;
    case 'echo': {
      const body = await readBody(receive);
      if (body === null) return;
      await whole(send, 200, body);
      break;
    }
    case 'stream': {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      const parts = streamParts(id);
      for (let k = 0; k < parts.length; k++) await send({ type: 'http.response.body', body: enc.encode(parts[k]!), more_body: k < parts.length - 1 });
      break;
    }
    default:
      return whole(send, 404, enc.encode('not found'));
  }
  countServed('http');
};
