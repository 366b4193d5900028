/** The ASGI-TS app (apps/asgi.ts) on @tsgi/node: node:http and ws underneath. */
import { serve } from '@tsgi/node';
import { app } from '../apps/asgi.js';
import { exitOnSignal, QUIET } from './env.js';

const server = await serve(app, QUIET);
exitOnSignal(() => server.close());
