import { serve } from '@tsgi/pool';

// ./sync-app.ts (above) exports `app`, a WSGI-TS app
const ref = { module: new URL('./sync-app.ts', import.meta.url).href, exportName: 'app' };
export const server = await serve(ref, { threads: 4, port: Number(process.env.PORT ?? 8000) });
// ... later:
// await server.close(); // in-flight requests finish first
