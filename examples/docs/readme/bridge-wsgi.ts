import { serve } from '@tsgi/uws';
import { wsgiToAsgi } from '@tsgi/bridge';

// ../hello-sync.ts exports `app`, a WSGI-TS app that may block
const app = wsgiToAsgi({ module: new URL('../hello-sync.ts', import.meta.url).href, exportName: 'app' }, { threads: 4, timeout: 30 });
export const server = await serve(app, { port: Number(process.env.PORT ?? 8000) });
