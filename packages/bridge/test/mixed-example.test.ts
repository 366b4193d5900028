/** examples/hono/mixed.ts on @tsgi/uws: a WSGI app, an ASGI app and a Hono app in one server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerHandle } from '@tsgi/core';
import { serve } from '@tsgi/uws';
import { app } from '../../../examples/hono/mixed.js';

describe('the mixed example', () => {
  let server: ServerHandle;
  beforeAll(async () => {
    server = await serve(app, { host: '127.0.0.1', port: 0, logLevel: 'warning', accessLog: false });
  });
  afterAll(() => server.close());

  const text = async (path: string) => (await fetch(`${server.url}${path}`)).text();

  it('routes each prefix to its app, with SCRIPT_NAME / root_path set', async () => {
    expect(await text('/legacy/users/7')).toBe('legacy WSGI app: SCRIPT_NAME=/legacy PATH_INFO=/users/7\n');
    expect(await text('/async/x')).toBe('async ASGI app: root_path=/async path=/async/x\n');
    expect(await text('/')).toBe('Hello from Hono on tsgi\n');
    expect((await fetch(`${server.url}/cookies`)).headers.getSetCookie()).toHaveLength(3);
  });
});
