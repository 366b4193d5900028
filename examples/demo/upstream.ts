/**
 * A small "other HTTP service" the demo starts on loopback during lifespan
 * startup, so the fetch view has something real to call without internet
 * access. It answers GET /quote with a quote, after a short delay like any
 * remote service.
 */
import { once } from 'node:events';
import { currentSignal } from '@tsgi/bridge';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const QUOTES = [
  'Simple is better than complex.',
  'Readability counts.',
  'Errors should never pass silently.',
  'In the face of ambiguity, refuse the temptation to guess.',
  'Now is better than never.',
];

/** A running upstream: its base URL and how to stop it. */
export interface Upstream {
  url: string;
  close(): Promise<void>;
}

/** Starts the upstream on 127.0.0.1 on a free port. */
export async function startUpstream(delayMs = 150): Promise<Upstream> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/quote') {
      res.writeHead(404).end();
      return;
    }
    const quote = QUOTES[served++ % QUOTES.length]!;
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ quote, served }));
    }, delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Where the running upstream is: set at startup (process-wide, so every copy of this module and every thread sees it). */
export const UPSTREAM_URL_VAR = 'TSGI_DEMO_UPSTREAM_URL';

/**
 * One quote from the running upstream, with fetch: an async function, run
 * on the event loop. The sync view GET /api/notes/quote calls it through
 * asyncToSync, blocking its worker thread meanwhile; if that request's
 * client leaves, currentSignal() aborts the fetch.
 */
export async function fetchQuote(): Promise<{ quote: string; upstream: string }> {
  const base = process.env[UPSTREAM_URL_VAR];
  if (base === undefined) throw new Error('the upstream service is not running');
  const request = currentSignal();
  const signal = AbortSignal.any([AbortSignal.timeout(5000), ...(request === undefined ? [] : [request])]);
  const res = await fetch(`${base}/quote`, { signal });
  if (!res.ok) throw new Error(`upstream answered ${res.status}`);
  const { quote } = (await res.json()) as { quote: string };
  return { quote, upstream: base };
}
