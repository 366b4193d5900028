/**
 * node:http running the benchmark's ASGI-TS app through the least an ASGI
 * adapter must do per request, and nothing of tsgi: a scope (method, path,
 * query, lower-cased header pairs, addresses) in one object, the app's async
 * call with a receive() and a send(), and its two events written with one
 * writeHead() (the `server` header and a computed Content-Length, as
 * @tsgi/node sends them) and one end(). No event is checked, no state kept
 * past the response. It serves whole responses only (a start, then one final
 * body): the hello-world route. The gap between this and node-http is what
 * any ASGI layer on node:http pays; the gap between this and asgi-node is
 * tsgi's own.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { HttpResponseStartEvent, HttpScope, SendEvent } from '@tsgi/core';
import { app } from '../apps/asgi.js';
import { exitOnSignal, PORT } from './env.js';

const EXTENSIONS = {};
const NO_BODY = new Uint8Array(0);
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }).latin1Slice;

function serve(req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) headers[j] = [raw[i]!.toLowerCase(), raw[i + 1]!];
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const socket = req.socket;
  const scope: HttpScope = {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.4' },
    http_version: '1.1',
    method: req.method ?? 'GET',
    scheme: 'http',
    path,
    raw_path: path,
    query_string: q === -1 ? '' : url.slice(q + 1),
    root_path: '',
    headers,
    client: [socket.remoteAddress ?? '', socket.remotePort ?? 0],
    server: [socket.localAddress ?? '', socket.localPort ?? 0],
    extensions: EXTENSIONS,
  };
  let start: HttpResponseStartEvent | null = null;
  const send = (event: SendEvent): Promise<void> => {
    if (event.type === 'http.response.start') start = event;
    else if (event.type === 'http.response.body' && start !== null) {
      const body = event.body ?? NO_BODY;
      const fields = ['server', 'tsgi'];
      for (const [name, value] of start.headers ?? []) fields.push(name as string, value as string);
      fields.push('content-length', String(body.byteLength));
      res.writeHead(start.status, 'OK', fields);
      res.end(latin1Slice.call(body, 0, body.byteLength), 'latin1');
    }
    return Promise.resolve();
  };
  const receive = () => Promise.resolve({ type: 'http.request' as const, body: NO_BODY, more_body: false });
  app(scope, receive, send).then(
    () => {},
    () => res.destroy(),
  );
}

const server = createServer({ keepAliveTimeout: 5000 }, serve);
server.listen(PORT, '127.0.0.1');
exitOnSignal(() => void server.close());
