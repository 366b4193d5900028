import type { AsgiApplication, Receive } from '@tsgi/core';

const encoder = new TextEncoder();

/** Reads the whole request body: `http.request` events until `more_body` is false. */
async function readBody(receive: Receive): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const event = await receive();
    if (event.type === 'http.disconnect') throw new Error('client left');
    if (event.type !== 'http.request') continue;
    chunks.push(event.body);
    if (!event.more_body) return Buffer.concat(chunks);
  }
}

/** An ASGI-TS app: GET greets `?name=`, POST answers with the body's size. */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return; // no lifespan or WebSocket here: returning opts out
  let text: string;
  if (scope.method === 'POST') {
    const body = await readBody(receive);
    text = `${body.length} bytes\n`;
  } else {
    // query_string is a byte string (one char per byte), exactly as ASGI's bytes
    const name = new URLSearchParams(scope.query_string).get('name') ?? 'world';
    text = `Hello, ${name}!\n`;
  }
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
  await send({ type: 'http.response.body', body: encoder.encode(text) });
};
