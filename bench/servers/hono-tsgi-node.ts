/** The Hono app as an ASGI-TS app (fromFetchHandler) on @tsgi/node. */
import { fromFetchHandler } from '@tsgi/bridge';
import { serve } from '@tsgi/node';
import { hono } from '../apps/hono.js';
import { exitOnSignal, QUIET } from './env.js';

const server = await serve(fromFetchHandler(hono), QUIET);
exitOnSignal(() => server.close());
