import { createHash } from 'node:crypto';
import { asyncToSync, currentSignal, syncToAsync } from '@tsgi/bridge';

/** Async: runs on the server's event loop when a sync view calls it through asyncToSync. */
export async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: currentSignal() });
  return res.json();
}

/** Blocking: runs on a worker thread when an async view calls it through syncToAsync. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// For a WSGI-TS view (on a worker thread): the thread blocks until fetchJson settles on the loop.
export const fetchJsonSync = asyncToSync<typeof fetchJson>(import.meta.url, 'fetchJson', { timeout: 5 });

// For an ASGI-TS view (on the event loop): the loop keeps serving while a worker thread runs digest.
export const digestAsync = syncToAsync<typeof digest>(import.meta.url, 'digest');
