import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { HttpScope, Scope } from '@tsgi/core';
import { closeAll, rawRequest, start } from './helpers.js';

afterEach(closeAll);

/** An app that answers with its scope as JSON (byte strings as they are). */
function scopeApp(seen: Scope[] = []) {
  return async (scope: Scope, _receive: unknown, send: (e: unknown) => Promise<void>) => {
    if (scope.type !== 'http') return;
    seen.push(scope);
    const { state: _s, ...rest } = scope;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body: Buffer.from(JSON.stringify(rest), 'utf8') });
  };
}

describe('http scope over the wire', () => {
  it('fills every key; client carries the real peer port; http_version 1.1', async () => {
    const seen: Scope[] = [];
    const s = await start(scopeApp(seen) as never);
    const res = await request(`${s.url}/caf%C3%A9/x?q=1&r=%20`, { headers: { 'x-a': 'b' } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const scope = seen[0] as HttpScope;
    expect(scope).toMatchObject({
      type: 'http',
      asgi: { version: '3.0', spec_version: '2.5' },
      http_version: '1.1',
      method: 'GET',
      scheme: 'http',
      path: '/café/x',
      raw_path: '/caf%C3%A9/x',
      query_string: 'q=1&r=%20',
      root_path: '',
      server: ['127.0.0.1', s.port],
    });
    expect(scope.client![0]).toBe('127.0.0.1');
    expect(scope.client![1]).toBeGreaterThan(0);
    expect(scope.headers).toContainEqual(['x-a', 'b']);
    expect(Object.keys(scope.extensions!).sort()).toEqual([
      'http.response.early_hint',
      'http.response.pathsend',
      'http.response.reason_phrase',
      'http.response.trailers',
      'http.response.zerocopysend',
    ]);
  });

  it('reports the client port the client really used', async () => {
    const seen: Scope[] = [];
    const s = await start(scopeApp(seen) as never);
    const { RawClient } = await import('./helpers.js');
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.response();
    expect((seen[0] as HttpScope).client).toEqual(['127.0.0.1', c.socket.localPort]);
    c.close();
  });

  it('http_version is 1.0 for an HTTP/1.0 request', async () => {
    const seen: Scope[] = [];
    const s = await start(scopeApp(seen) as never);
    const r = await rawRequest(s.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(r.status).toBe(200);
    expect((seen[0] as HttpScope).http_version).toBe('1.0');
  });

  it('prefixes root_path to path and raw_path', async () => {
    const seen: Scope[] = [];
    const s = await start(scopeApp(seen) as never, { rootPath: '/api' });
    await rawRequest(s.port, 'GET /users/%C3%A9?q=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(seen[0]).toMatchObject({ root_path: '/api', path: '/api/users/é', raw_path: '/api/users/%C3%A9', query_string: 'q=1' });
  });

  it('takes client and scheme from proxy headers only from a trusted peer', async () => {
    const seen: Scope[] = [];
    const trusted = await start(scopeApp(seen) as never);
    await rawRequest(trusted.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n');
    expect(seen[0]).toMatchObject({ scheme: 'https', client: ['203.0.113.7', 0] });
    const untrusted = await start(scopeApp(seen) as never, { forwardedAllowIps: '10.0.0.1' });
    await rawRequest(untrusted.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n');
    expect((seen[1] as HttpScope).scheme).toBe('http');
    expect((seen[1] as HttpScope).client![0]).toBe('127.0.0.1');
  });
});
