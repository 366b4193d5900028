import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildHttpScope, buildWebSocketScope, decodePath, splitTarget, type RequestHead } from '@tsgi/core';

function head(over: Partial<RequestHead> = {}): RequestHead {
  return {
    method: 'GET',
    target: '/',
    httpVersion: '1.1',
    headers: [['host', 'example.org']],
    client: ['127.0.0.1', 50000],
    server: ['127.0.0.1', 8000],
    scheme: 'http',
    ...over,
  };
}

describe('buildHttpScope', () => {
  it('fills every key of the http scope', () => {
    const s = buildHttpScope(head({ method: 'POST', target: '/a%20b/c?x=1&y=%20' }), { rootPath: '' });
    expect(s).toEqual({
      type: 'http',
      asgi: { version: '3.0', spec_version: '2.5' },
      http_version: '1.1',
      method: 'POST',
      scheme: 'http',
      path: '/a b/c',
      raw_path: '/a%20b/c',
      query_string: 'x=1&y=%20',
      root_path: '',
      headers: [['host', 'example.org']],
      client: ['127.0.0.1', 50000],
      server: ['127.0.0.1', 8000],
    });
  });

  it('puts root_path in front of path and raw_path (uvicorn >= 0.26)', () => {
    const s = buildHttpScope(head({ target: '/users/%C3%A9?q' }), { rootPath: '/api' });
    expect(s.root_path).toBe('/api');
    expect(s.path).toBe('/api/users/\u00e9');
    expect(s.raw_path).toBe('/api/users/%C3%A9');
    expect(s.query_string).toBe('q');
  });

  it('encodes a non-ASCII root_path as UTF-8 bytes in raw_path', () => {
    const s = buildHttpScope(head({ target: '/x' }), { rootPath: '/\u00e9t\u00e9' });
    expect(s.path).toBe('/\u00e9t\u00e9/x');
    expect(s.raw_path).toBe('/\u00c3\u00a9t\u00c3\u00a9/x');
  });

  it('shallow-copies state per request and shares extensions', () => {
    const state = { db: { n: 1 } };
    const extensions = { 'http.response.pathsend': {} };
    const a = buildHttpScope(head(), { rootPath: '', state, extensions });
    const b = buildHttpScope(head(), { rootPath: '', state, extensions });
    expect(a.state).toEqual(state);
    expect(a.state).not.toBe(state);
    a.state!.added = true;
    expect(b.state).not.toHaveProperty('added');
    expect(state).not.toHaveProperty('added');
    expect(a.state!.db).toBe(state.db);
    expect(a.extensions).toBe(extensions);
  });

  it('leaves out state and extensions when the server has none', () => {
    const s = buildHttpScope(head(), { rootPath: '' });
    expect('state' in s).toBe(false);
    expect('extensions' in s).toBe(false);
  });

  it('keeps the method as sent and header order and duplicates', () => {
    const headers: Array<[string, string]> = [['x-a', '1'], ['x-b', '2'], ['x-a', '3']];
    const s = buildHttpScope(head({ method: 'PROPFIND', headers }), { rootPath: '' });
    expect(s.method).toBe('PROPFIND');
    expect(s.headers).toEqual(headers);
  });
});

describe('splitTarget', () => {
  it('splits at the first ? only and keeps an empty query', () => {
    expect(splitTarget('/p?a=1?b=2')).toEqual({ rawPath: '/p', path: '/p', queryString: 'a=1?b=2' });
    expect(splitTarget('/p?')).toEqual({ rawPath: '/p', path: '/p', queryString: '' });
  });

  it('takes the path of an absolute-form target', () => {
    expect(splitTarget('http://example.org:8080/a/b?c')).toEqual({ rawPath: '/a/b', path: '/a/b', queryString: 'c' });
    expect(splitTarget('http://example.org?c')).toEqual({ rawPath: '/', path: '/', queryString: 'c' });
  });

  it('keeps the asterisk-form', () => {
    expect(splitTarget('*')).toEqual({ rawPath: '*', path: '*', queryString: '' });
  });
});

describe('decodePath', () => {
  it('decodes percent escapes as UTF-8, like unquote', () => {
    expect(decodePath('/caf%C3%A9')).toBe('/caf\u00e9');
    expect(decodePath('/a%2Fb')).toBe('/a/b');
    expect(decodePath('/%e2%82%ac')).toBe('/\u20ac');
  });

  it('leaves malformed escapes literal and replaces invalid UTF-8', () => {
    expect(decodePath('/100%')).toBe('/100%');
    expect(decodePath('/%zz%4')).toBe('/%zz%4');
    expect(decodePath('/%FF')).toBe('/\ufffd');
  });

  it('reads raw non-ASCII bytes of the target as UTF-8', () => {
    expect(decodePath('/caf\u00c3\u00a9')).toBe('/caf\u00e9');
  });

  it('inverts encodeURIComponent on every path segment', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 5 }), (segments) => {
        const raw = '/' + segments.map(encodeURIComponent).join('/');
        expect(decodePath(raw)).toBe('/' + segments.join('/'));
      }),
    );
  });
});

describe('buildWebSocketScope', () => {
  it('builds a websocket scope with ws/wss scheme and the offered subprotocols', () => {
    const headers: Array<[string, string]> = [
      ['sec-websocket-protocol', 'chat, superchat'],
      ['sec-websocket-protocol', ' v2 ,'],
    ];
    const s = buildWebSocketScope(head({ target: '/ws?t=1', headers, scheme: 'https' }), { rootPath: '/r' });
    expect(s.type).toBe('websocket');
    expect(s.asgi).toEqual({ version: '3.0', spec_version: '2.5' });
    expect(s.scheme).toBe('wss');
    expect(s.path).toBe('/r/ws');
    expect(s.raw_path).toBe('/r/ws');
    expect(s.query_string).toBe('t=1');
    expect(s.subprotocols).toEqual(['chat', 'superchat', 'v2']);
    expect(buildWebSocketScope(head(), { rootPath: '' }).scheme).toBe('ws');
    expect(buildWebSocketScope(head(), { rootPath: '' }).subprotocols).toEqual([]);
  });
});
