/**
 * Hello-world servers for the request-rate comparison (hello-ratio.ts):
 * `raw` is a bare uWebSockets.js handler answering synchronously,
 * `raw-async` one that answers a promise tick later (what any ASGI server
 * must do, since the app is async: onAborted attached, response corked),
 * `tsgi` the same answer from an ASGI-TS app on @tsgi/uws.
 * Prints `{"port": N}` once listening.
 */
import type { AsgiApplication } from '@tsgi/core';
import { loadBinding, serve } from '../src/index.js';

const BODY = Buffer.from('Hello, world!');
const kind = process.argv[2];
process.once('SIGINT', () => process.exit(0)); // exit normally, so --cpu-prof can write its profile

if (kind === 'raw' || kind === 'raw-async') {
  const { uws } = loadBinding();
  const app = uws.App();
  if (kind === 'raw') {
    app.any('/*', (res) => {
      res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(BODY);
    });
  } else {
    app.any('/*', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      void Promise.resolve().then(() => {
        if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(BODY));
      });
    });
  }
  app.listen('127.0.0.1', 0, (ls) => {
    if (!ls) throw new Error('listen failed');
    process.stdout.write(JSON.stringify({ port: uws.us_socket_local_port(ls) }) + '\n');
  });
} else {
  const app: AsgiApplication = async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: BODY });
  };
  const handle = await serve(app, { port: 0, lifespan: 'off', accessLog: false, logLevel: 'warning' });
  process.stdout.write(JSON.stringify({ port: 'port' in handle.address ? handle.address.port : 0 }) + '\n');
}
