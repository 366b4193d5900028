import { serve } from '@tsgi/uws';
import { wsgiToAsgi } from '@tsgi/bridge';

// ./sync-app.ts (above) exports `app`, a WSGI-TS app that may block
const app = wsgiToAsgi({ module: new URL('./sync-app.ts', import.meta.url).href, exportName: 'app' }, { threads: 4, timeout: 30 });
export const server = await serve(app, { port: Number(process.env.PORT ?? 8000) });
