/** The Hono app of scenario 1, served by @hono/node-server and by @tsgi/uws through fromFetchHandler. */
import { Hono } from 'hono';

export const hono = new Hono().get('/', (c) => c.text('Hello, world!'));
