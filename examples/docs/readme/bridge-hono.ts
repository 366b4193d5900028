import { Hono } from 'hono';
import { serve } from '@tsgi/uws';
import { fromFetchHandler } from '@tsgi/bridge';

export const hono = new Hono().get('/', (c) => c.text('hi'));
export const server = await serve(fromFetchHandler(hono), { port: Number(process.env.PORT ?? 8000) });
// or, with only the `hono` export: tsgi serve app.ts:hono
