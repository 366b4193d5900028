import { currentSignal } from '@tsgi/bridge';

/** Runs on the server's event loop (asyncToSync brings it there); its signal aborts if the request's client leaves. */
export async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: currentSignal() });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}
