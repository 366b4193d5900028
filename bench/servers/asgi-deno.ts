/** The ASGI-TS app (apps/asgi.ts) on Deno through @tsgi/bridge/deno (Deno.serve underneath); run by deno, not node. */
import { serve } from '@tsgi/bridge/deno';
import { consoleLogger } from '@tsgi/core/server';
import { app } from '../apps/asgi.js';
import { exitOnSignal, PORT } from './env.js';

const server = await serve(app, { port: PORT, hostname: '127.0.0.1', lifespan: 'off', logger: consoleLogger('warning') });
exitOnSignal(() => server.close());
