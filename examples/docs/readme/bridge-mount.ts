import { Hono } from 'hono';
import { mount, wsgiToAsgi, fromFetchHandler } from '@tsgi/bridge';
import { app as asgiApp } from './async-app.js'; // an ASGI-TS app (above)

const legacyUrl = new URL('./sync-app.ts', import.meta.url).href; // exports `app`, a WSGI-TS app
const hono = new Hono().get('/api/hello', (c) => c.text('hi from Hono')); // Hono sees the full path

export const app = mount([
  ['/legacy', wsgiToAsgi({ module: legacyUrl }, { threads: 2 })], // SCRIPT_NAME = '/legacy'
  ['/api', fromFetchHandler(hono)],
  ['/', asgiApp], // everything else
]);
