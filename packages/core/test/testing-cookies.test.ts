import { describe, expect, it } from 'vitest';
import { AsgiTestClient, WsgiTestClient, type AsgiApplication, type HttpScope, type WebSocketScope, type WsgiApplication } from '@tsgi/core';

/** Sets the cookies listed in `?set=` (each a whole Set-Cookie value, `|`-separated) and answers with the Cookie header it got. */
const cookieApp: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    const cookie = (scope as WebSocketScope).headers.find(([n]) => n === 'cookie')?.[1] ?? '';
    await receive();
    await send({ type: 'websocket.accept', headers: [['set-cookie', 'ws=1']] });
    await send({ type: 'websocket.send', text: cookie });
    await send({ type: 'websocket.close' });
    return;
  }
  const s = scope as HttpScope;
  const set = new URLSearchParams(s.query_string).get('set');
  const headers: Array<[string, string]> = (set === null ? [] : set.split('|')).map((v) => ['set-cookie', v]);
  const cookie = s.headers.filter(([n]) => n === 'cookie').map(([, v]) => v).join(' / ');
  await send({ type: 'http.response.start', status: 200, headers });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(cookie) });
};

describe('test clients: cookies', () => {
  it('keeps Set-Cookie and sends it back until the server deletes it', async () => {
    await using client = new AsgiTestClient(cookieApp);
    expect((await client.get('/')).text()).toBe('');
    await client.get('/login', { query: { set: 'session=abc; Path=/; HttpOnly|theme=dark' } });
    expect(client.cookies?.toJSON()).toEqual({ session: 'abc', theme: 'dark' });
    expect((await client.get('/me')).text()).toBe('session=abc; theme=dark');
    await client.get('/logout', { query: { set: 'session=; Max-Age=0|theme=; Expires=Thu, 01 Jan 1970 00:00:00 GMT' } });
    expect((await client.get('/me')).text()).toBe('');
    expect(client.cookies?.toJSON()).toEqual({});
  });

  it('honors Path (explicit and default) and Secure', async () => {
    await using client = new AsgiTestClient(cookieApp);
    await client.get('/', { query: { set: 'admin=1; Path=/admin|s=1; Secure' } });
    await client.get('/shop/cart', { query: { set: 'cart=7' } });
    expect((await client.get('/')).text()).toBe('');
    expect((await client.get('/admin')).text()).toBe('admin=1');
    expect((await client.get('/admin/users')).text()).toBe('admin=1');
    expect((await client.get('/adminx')).text()).toBe('');
    // No Path: the directory of the request path, /shop.
    expect((await client.get('/shop/other')).text()).toBe('cart=7');
    await using secure = new AsgiTestClient(cookieApp, { scheme: 'https' });
    await secure.get('/', { query: { set: 's=1; Secure' } });
    expect((await secure.get('/')).text()).toBe('s=1');
  });

  it('a Cookie header the test sets wins; cookies: false keeps none; the jar can be primed', async () => {
    await using client = new AsgiTestClient(cookieApp);
    client.cookies!.set('token', 'primed');
    expect((await client.get('/')).text()).toBe('token=primed');
    expect((await client.get('/', { headers: { cookie: 'mine=1' } })).text()).toBe('mine=1');
    client.cookies!.delete('token');
    expect((await client.get('/')).text()).toBe('');
    await using none = new AsgiTestClient(cookieApp, { cookies: false });
    await none.get('/', { query: { set: 'a=1' } });
    expect(none.cookies).toBeNull();
    expect((await none.get('/')).text()).toBe('');
  });

  it('WebSocket handshakes carry cookies and keep those of the accept', async () => {
    await using client = new AsgiTestClient(cookieApp);
    await client.get('/', { query: { set: 'session=abc' } });
    const ws = await client.websocket('/ws');
    expect(await ws.receiveText()).toBe('session=abc');
    await ws.close();
    expect(client.cookies?.get('ws')).toBe('1');
  });

  it('the WSGI client keeps cookies too (header names in any case)', async () => {
    const app: WsgiApplication = (environ, startResponse) => {
      const headers: Array<[string, string]> = environ.PATH_INFO === '/login' ? [['Set-Cookie', 'sid=42; Path=/']] : [];
      startResponse('200 OK', headers);
      return [new TextEncoder().encode(String(environ.HTTP_COOKIE ?? ''))];
    };
    const client = new WsgiTestClient(app);
    await client.post('/login');
    expect((await client.get('/account')).text()).toBe('sid=42');
  });
});
