import { serve } from '@tsgi/bridge/deno';
import { app } from './async-app.js'; // an ASGI-TS app (above); deno's --sloppy-imports finds the .ts file

// Lifespan startup first (a failure rejects, nothing listens), then Deno.serve; close() is graceful.
export const server = await serve(app, { port: Number(process.env.PORT ?? 8000), hostname: '127.0.0.1' });
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
