/** The same Hono app on @tsgi/uws through fetch interop (fromFetchHandler). */
import { fromFetchHandler } from '@tsgi/bridge';
import { serve } from '@tsgi/uws';
import { hono } from '../apps/hono.js';
import { exitOnSignal, QUIET } from './env.js';

const server = await serve(fromFetchHandler(hono), QUIET);
exitOnSignal(() => server.close());
