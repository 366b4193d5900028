/** The WSGI-TS app (apps/wsgi.ts) on @tsgi/pool with THREADS worker threads; with WORKERS > 1, in that many processes of THREADS each. */
import { serve } from '@tsgi/pool';
import { exitOnSignal, PORT, THREADS, WORKERS } from './env.js';

const server = await serve(
  { module: new URL('../apps/wsgi.js', import.meta.url).href, exportName: 'app' },
  { host: '127.0.0.1', port: PORT, threads: THREADS, workers: WORKERS, accessLog: false, logLevel: 'warning' },
);
exitOnSignal(() => server.close());
