import { conformanceSuite } from '@tsgi/conformance/vitest';
import { serve } from '@tsgi/uws';

conformanceSuite({
  interface: 'asgi',
  async start(appPath, app) {            // appPath: '/abs/path/asgi-app.ts:app'
    const h = await serve({ module: app.path, exportName: app.exportName }, { port: 0 });
    return { url: h.url, close: () => h.close() };
  },
});
