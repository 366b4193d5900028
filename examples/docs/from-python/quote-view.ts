import { threadId } from 'node:worker_threads';
import type { WsgiApplication } from '@tsgi/core';
import { asyncToSync } from '@tsgi/bridge';
import type { fetchJson as FetchJson } from './fetch-json.js';

// async_to_sync(fetch_json): the function is named by module, since the server's thread imports it itself.
const fetchJson = asyncToSync<typeof FetchJson>(new URL('./fetch-json.ts', import.meta.url), 'fetchJson', { timeout: 5 });

/** A sync view (Flask's `def`) that needs one HTTP call: its worker thread blocks while the event loop fetches. */
export const app: WsgiApplication = (environ, startResponse) => {
  const quote = fetchJson(`${process.env.UPSTREAM_URL ?? 'http://127.0.0.1:9000'}/quote`);
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [new TextEncoder().encode(JSON.stringify({ quote, workerThread: threadId }))];
};
