import { AsgiTestClient, WsgiTestClient, type AsgiApplication, type WsgiApplication } from '@tsgi/core';

const encoder = new TextEncoder();

/** An ASGI-TS app, as in the ASGI spec: `http.response.start`, then the body. */
export const asyncApp: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: encoder.encode(`${scope.method} ${scope.path}`) });
};

/** A WSGI-TS app, as in PEP 3333: `start_response`, then an iterable of byte chunks. */
export const syncApp: WsgiApplication = (environ, startResponse) => {
  const body = environ['wsgi.input'].read();
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [encoder.encode(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}: ${body.length} bytes`)];
};

/** Calls both apps in process, no server: each call checked against the specs by the validators. */
export async function check(): Promise<string[]> {
  await using client = new AsgiTestClient(asyncApp); // closed when the block ends
  const a = await client.get('/hello');
  const b = await new WsgiTestClient(syncApp).post('/upload', { body: 'hello' });
  return [`${a.status} ${a.text()}`, `${b.status} ${b.text()}`];
}
