import { serve } from '@hono/node-server'; // or Deno.serve, Bun.serve, a worker's fetch
import { toFetchHandler } from '@tsgi/bridge';
import { app as asgiApp } from './async-app.js'; // an ASGI-TS app (above)

export const handler = toFetchHandler(asgiApp, { rootPath: '' });
await handler.startup(); // the app's lifespan, for hosts that have none
export const server = serve({ fetch: handler, port: Number(process.env.PORT ?? 8000) });
// ... later: server.close(); await handler.shutdown();
