import { serve } from '@tsgi/pool';

// ../hello-sync.ts exports `app`, a WSGI-TS app (PEP 3333 in TypeScript)
const ref = { module: new URL('../hello-sync.ts', import.meta.url).href, exportName: 'app' };
export const server = await serve(ref, { threads: 4, port: Number(process.env.PORT ?? 8000) });
// ... later:
// await server.close(); // in-flight requests finish first
