/** The WSGI-TS app (apps/wsgi.ts) under @tsgi/uws through wsgiToAsgi, with THREADS worker threads. */
import { wsgiToAsgi } from '@tsgi/bridge';
import { serve } from '@tsgi/uws';
import { exitOnSignal, QUIET, THREADS } from './env.js';

const app = wsgiToAsgi({ module: new URL('../apps/wsgi.js', import.meta.url).href, exportName: 'app' }, { threads: THREADS });
await app.start();
const server = await serve(app, QUIET);
exitOnSignal(async () => {
  await server.close();
  await app.close();
});
