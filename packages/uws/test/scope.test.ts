import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpScope } from '@tsgi/core';
import { formatIpv6 } from '../src/request-head.js';
import { closeAll, rawRequest, start } from './helpers.js';

afterEach(closeAll);

/** An app that answers with its scope as JSON. */
const echoScope: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  const body = Buffer.from(JSON.stringify(scope));
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body });
};

describe('http scope over the wire', () => {
  it('fills every key as the spec asks', async () => {
    const { port } = await start(echoScope);
    const res = await rawRequest(port, 'PATCH /a%20b/caf%C3%A9?x=1&y=%20 HTTP/1.1\r\nHost: example.org\r\nX-Dup: 1\r\nX-Dup: 2\r\nX-Mixed-Case: Value\r\n\r\n');
    expect(res.status).toBe(200);
    const scope = JSON.parse(res.body.toString()) as HttpScope;
    expect(scope).toMatchObject({
      type: 'http',
      asgi: { version: '3.0', spec_version: '2.5' },
      http_version: '1.1',
      method: 'PATCH',
      scheme: 'http',
      path: '/a b/caf\u00e9',
      raw_path: '/a%20b/caf%C3%A9',
      query_string: 'x=1&y=%20',
      root_path: '',
      client: ['127.0.0.1', 0],
      server: ['127.0.0.1', port],
      extensions: { 'http.response.pathsend': {} },
      state: {},
    });
    expect(scope.headers).toEqual([
      ['host', 'example.org'],
      ['x-dup', '1'],
      ['x-dup', '2'],
      ['x-mixed-case', 'Value'],
    ]);
  });

  it('reports an IPv6 peer, and the server address, when listening on ::1', async () => {
    const { port } = await start(echoScope, { host: '::1' });
    const res = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: '::1', port }, () => c.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'));
      let out = '';
      c.on('data', (d) => (out += d.toString()));
      c.on('end', () => resolve(out));
      c.on('error', reject);
    });
    const scope = JSON.parse(res.slice(res.indexOf('\r\n\r\n') + 4)) as HttpScope;
    expect(scope.client).toEqual(['::1', 0]);
    expect(scope.server).toEqual(['::1', port]);
  });

  it('prefixes root_path to path and raw_path', async () => {
    const { port } = await start(echoScope, { rootPath: '/api' });
    const res = await rawRequest(port, 'GET /users HTTP/1.1\r\nHost: h\r\n\r\n');
    const scope = JSON.parse(res.body.toString()) as HttpScope;
    expect(scope.root_path).toBe('/api');
    expect(scope.path).toBe('/api/users');
    expect(scope.raw_path).toBe('/api/users');
  });

  it('takes client and scheme from proxy headers only from a trusted peer', async () => {
    const trusted = await start(echoScope, { forwardedAllowIps: '127.0.0.1' });
    const req = 'GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.7, 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n';
    const a = JSON.parse((await rawRequest(trusted.port, req)).body.toString()) as HttpScope;
    expect(a.client).toEqual(['10.0.0.1', 0]);
    expect(a.scheme).toBe('https');
    const untrusted = await start(echoScope, { forwardedAllowIps: '10.0.0.0/8' });
    const b = JSON.parse((await rawRequest(untrusted.port, req)).body.toString()) as HttpScope;
    expect(b.client).toEqual(['127.0.0.1', 0]);
    expect(b.scheme).toBe('http');
    const off = await start(echoScope, { proxyHeaders: false, forwardedAllowIps: '*' });
    const c = JSON.parse((await rawRequest(off.port, req)).body.toString()) as HttpScope;
    expect(c.client).toEqual(['127.0.0.1', 0]);
  });

  it('gives each request a shallow copy of the lifespan state', async () => {
    const shared = { hits: 0 };
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        scope.state!.shared = shared;
        scope.state!.name = 'boot';
        await send({ type: 'lifespan.startup.complete' });
        await receive();
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      const state = scope.state!;
      const before = state.name;
      state.name = 'changed';
      (state.shared as { hits: number }).hits++;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from(String(before)) });
    };
    const { port } = await start(app, { lifespan: 'on' });
    for (let i = 0; i < 3; i++) {
      const res = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
      expect(res.body.toString()).toBe('boot');
    }
    expect(shared.hits).toBe(3);
  });
});

describe('formatIpv6', () => {
  it('writes RFC 5952 text', () => {
    const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/:/g, ''), 'hex'));
    expect(formatIpv6(bytes('0000:0000:0000:0000:0000:0000:0000:0001'))).toBe('::1');
    expect(formatIpv6(bytes('2001:0db8:0000:0000:0001:0000:0000:0001'))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(bytes('2001:0db8:0000:0001:0001:0001:0001:0001'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6(bytes('fe80:0000:0000:0000:0000:0000:0000:0000'))).toBe('fe80::');
    expect(formatIpv6(bytes('0000:0000:0000:0000:0000:0000:0000:0000'))).toBe('::');
  });
});
