/** The ASGI-TS app (apps/asgi.ts) as a fetch handler (toFetchHandler) on @hono/node-server: the other fetch direction. */
import { serve } from '@hono/node-server';
import { toFetchHandler } from '@tsgi/bridge';
import { app } from '../apps/asgi.js';
import { exitOnSignal, PORT } from './env.js';

const server = serve({ fetch: toFetchHandler(app, { lifespan: 'off' }), port: PORT, hostname: '127.0.0.1' });
exitOnSignal(() => void server.close());
