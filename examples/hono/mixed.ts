/**
 * One @tsgi/uws server, three kinds of app side by side:
 *   tsgi serve examples/hono/mixed.ts:app
 * - /legacy/... a sync WSGI-TS app on worker threads (through wsgiToAsgi): SCRIPT_NAME is /legacy
 * - /async/...  a plain ASGI-TS app: root_path is /async
 * - the rest    the Hono app (a fetch handler, through fromFetchHandler)
 * Each mounted app sees the full path, with root_path grown by its prefix
 * (the ASGI rule; a WSGI app sees it as SCRIPT_NAME + PATH_INFO).
 */
import type { AsgiApplication } from '@tsgi/core';
import { fromFetchHandler, mount, wsgiToAsgi } from '@tsgi/bridge';
import { app as hono } from './app.js';

const asyncApp: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  const body = new TextEncoder().encode(`async ASGI app: root_path=${scope.root_path} path=${scope.path}\n`);
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
  await send({ type: 'http.response.body', body });
};

export const app = mount([
  ['/legacy', wsgiToAsgi({ module: new URL('./legacy.ts', import.meta.url).href }, { threads: 2 })],
  ['/async', asyncApp],
  ['/', fromFetchHandler(hono)],
]);
