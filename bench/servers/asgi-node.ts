/** The ASGI-TS app (apps/asgi.ts) on @tsgi/node: node:http and ws underneath; over TLS when the harness gives a certificate (SSL_CERTFILE); with WORKERS > 1, on that many processes. */
import { serve } from '@tsgi/node';
import { app } from '../apps/asgi.js';
import { exitOnSignal, QUIET, TLS, WORKERS } from './env.js';

const server =
  WORKERS > 1 ? await serve({ module: new URL('../apps/asgi.js', import.meta.url).href, exportName: 'app' }, { ...QUIET, ...TLS, workers: WORKERS }) : await serve(app, { ...QUIET, ...TLS });
exitOnSignal(() => server.close());
