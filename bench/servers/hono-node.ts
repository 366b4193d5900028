/** The Hono app on @hono/node-server (node:http underneath): how Hono is usually served on Node. */
import { serve } from '@hono/node-server';
import { hono } from '../apps/hono.js';
import { exitOnSignal, PORT } from './env.js';

const server = serve({ fetch: hono.fetch, port: PORT, hostname: '127.0.0.1' });
exitOnSignal(() => void server.close());
