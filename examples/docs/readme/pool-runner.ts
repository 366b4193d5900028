import { buildHttpScope, type RequestHead } from '@tsgi/core';
import { createSyncRunner, type ResponseSink } from '@tsgi/pool';

const appUrl = new URL('./sync-app.ts', import.meta.url).href; // exports `app`, a WSGI-TS app

/** Runs one `POST /echo` through the app on a worker thread, no HTTP server involved; returns what the sink got. */
export async function runOnce(): Promise<string> {
  const runner = createSyncRunner({ module: appUrl }, { threads: 1 });
  await runner.ready(); // rejects with the app's import error

  const head: RequestHead = { method: 'POST', target: '/echo', httpVersion: '1.1', headers: [], client: null, server: null, scheme: 'http' };
  const scope = buildHttpScope(head, { rootPath: '' });
  const body = (async function* () { yield new TextEncoder().encode('hello'); })(); // or null: no body
  let got = '';
  const sink: ResponseSink = {
    start: (status, reason) => { got += `${status} ${reason}\n`; }, // and the headers, WSGI spelling
    body: (chunk) => { got += new TextDecoder().decode(chunk); }, // a promise here would be the backpressure
    end: () => {},
    abort: (reason) => { got += `cut: ${String(reason)}`; },
  };
  const signal = new AbortController().signal; // abort it when the client leaves
  await runner.handle(scope, body, sink, { signal, tag: 'POST /echo #1' });

  const graceMs = 1000;
  await runner.close(graceMs);
  return got;
}
