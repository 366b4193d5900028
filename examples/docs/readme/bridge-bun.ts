import { serve } from '@tsgi/bridge/bun';
import { app } from './async-app.js'; // an ASGI-TS app (above); Bun finds the .ts file

// Lifespan startup first (a failure rejects, nothing listens), then Bun.serve; close() is graceful.
export const server = await serve(app, { port: Number(process.env.PORT ?? 8000), hostname: '127.0.0.1' });
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
