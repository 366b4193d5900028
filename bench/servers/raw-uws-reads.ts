/**
 * Raw uWebSockets.js doing by hand only what any ASGI adapter on this
 * binding must do per request, and nothing of tsgi: copy the method, path,
 * query and headers (req.forEach) and the peer address out of the request
 * (an http scope carries them all, and HttpRequest dies with the handler),
 * attach onAborted (required before answering later than the handler), and
 * answer one microtask later (an async app awaits at least once). The gap
 * between this and raw-uws is the binding's own price of a scope, which no
 * adapter can go under; the gap between this and asgi-uws is tsgi's.
 */
import { loadBinding } from '@tsgi/uws';
import { exitOnSignal, PORT } from './env.js';

const HELLO = Buffer.from('Hello, world!');
const { uws } = loadBinding();
const app = uws.App();

let headers: Array<[string, string]> = [];
function collect(name: string, value: string): void {
  headers.push([name, value]);
}

/** What the handler copied; kept in a module variable so the reads cannot be optimized away. */
export let last: { method: string; url: string; query: string; headers: Array<[string, string]>; address: Uint8Array } | null = null;

app.any('/*', (res, req) => {
  headers = [];
  req.forEach(collect);
  last = { method: req.getCaseSensitiveMethod(), url: req.getUrl(), query: req.getQuery() ?? '', headers, address: new Uint8Array(res.getRemoteAddress()) };
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  void Promise.resolve().then(() => {
    if (!aborted) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(HELLO));
  });
});
app.listen('127.0.0.1', PORT, (socket) => {
  if (!socket) throw new Error(`raw uWebSockets.js could not listen on ${PORT}`);
});
exitOnSignal();
