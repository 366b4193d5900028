import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkHttpSendEvent,
  checkLifespanSendEvent,
  checkReceiveEvent,
  checkWebSocketSendEvent,
  isProtocolError,
  normalizeHeaders,
} from '@tsgi/core';
import { clauseOf } from './protocol-errors.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('normalizeHeaders', () => {
  it('accepts any iterable of 2-item iterables and returns plain arrays', () => {
    function* gen() {
      yield ['content-type', 'text/plain'] as const;
      yield new Set(['x-a', 'b']);
    }
    expect(normalizeHeaders(gen(), 'c.x.y.1')).toEqual([
      ['content-type', 'text/plain'],
      ['x-a', 'b'],
    ]);
    expect(normalizeHeaders(new Map([['a', '1']]), 'c.x.y.1')).toEqual([['a', '1']]);
    expect(normalizeHeaders(undefined, 'c.x.y.1')).toEqual([]);
  });

  it('folds upper-case names by default and rejects them when asked', () => {
    expect(normalizeHeaders([['Content-Type', 'a']], 'c.x.y.1')).toEqual([['content-type', 'a']]);
    expect(clauseOf(() => normalizeHeaders([['Content-Type', 'a']], 'c.x.y.1', 'require'))).toBe('asgi.events.headers.2');
  });

  it.each([
    ['a string', 'content-type: x'],
    ['null', null],
    ['a number', 5],
    ['a 3-item header', [['a', 'b', 'c']]],
    ['a 1-item header', [['a']]],
    ['a string as header', ['ab']],
    ['a non-token name', [['a b', 'x']]],
    ['a pseudo header', [[':status', '200']]],
    ['an empty name', [['', 'x']]],
    ['a name above 0xFF', [['\u20ac', 'x']]],
    ['a value with CR LF', [['a', 'x\r\nSet-Cookie: y']]],
    ['a value with NUL', [['a', 'x\0']]],
    ['a value above 0xFF', [['a', '\u20ac']]],
    ['a Uint8Array value', [['a', bytes('x')]]],
  ])('rejects %s with the site clause', (_, h) => {
    expect(clauseOf(() => normalizeHeaders(h, 'asgi.http.start.3'))).toBe('asgi.http.start.3');
  });

  it('keeps latin-1 (obs-text) values and tabs', () => {
    expect(normalizeHeaders([['x', 'caf\u00e9\tok']], 'c.x.y.1')).toEqual([['x', 'caf\u00e9\tok']]);
  });
});

describe('checkHttpSendEvent', () => {
  it('normalizes http.response.start with defaults', () => {
    expect(checkHttpSendEvent({ type: 'http.response.start', status: 200 })).toEqual({
      type: 'http.response.start',
      status: 200,
      headers: [],
      trailers: false,
    });
  });

  it.each([
    [{}, 'asgi.events.type.1'],
    [null, 'asgi.events.type.1'],
    [[], 'asgi.events.type.1'],
    [{ type: 5 }, 'asgi.events.type.1'],
    [{ type: 'websocket.send', text: 'x' }, 'asgi.events.type.2'],
    [{ type: 'http.response.start', status: '200' }, 'asgi.http.start.1'],
    [{ type: 'http.response.start', status: 200.5 }, 'asgi.http.start.1'],
    [{ type: 'http.response.start', status: 103 }, 'asgi.http.start.2'],
    [{ type: 'http.response.start', status: 600 }, 'asgi.http.start.2'],
    [{ type: 'http.response.start', status: 200, headers: [['a', 1]] }, 'asgi.http.start.3'],
    [{ type: 'http.response.start', status: 200, trailers: 'yes' }, 'asgi.ext.trailers.2'],
    [{ type: 'http.response.body', body: 'hello' }, 'asgi.http.body.1'],
    [{ type: 'http.response.body', body: [1, 2] }, 'asgi.http.body.1'],
    [{ type: 'http.response.body', more_body: 1 }, 'asgi.http.body.2'],
    [{ type: 'http.response.trailers', headers: 'x' }, 'asgi.ext.trailers.3'],
    [{ type: 'http.response.trailers', more_trailers: 'no' }, 'asgi.ext.trailers.3'],
    [{ type: 'http.response.zerocopysend', file: -1 }, 'asgi.ext.zerocopysend.2'],
    [{ type: 'http.response.zerocopysend', file: 3, count: 1.5 }, 'asgi.ext.zerocopysend.2'],
    [{ type: 'http.response.pathsend', path: 'relative/file' }, 'asgi.ext.pathsend.2'],
    [{ type: 'http.response.push', path: 'x', headers: [] }, 'asgi.ext.push.2'],
    [{ type: 'http.response.early_hint', links: 'rel=preload' }, 'asgi.ext.early_hint.2'],
    [{ type: 'http.response.early_hint', links: ['a\nb'] }, 'asgi.ext.early_hint.2'],
    [{ type: 'http.response.debug', info: 'x' }, 'asgi.ext.debug.2'],
  ])('rejects %j with %s', (event, clause) => {
    expect(clauseOf(() => checkHttpSendEvent(event))).toBe(clause);
  });

  it('accepts a Buffer as body and an absent body', () => {
    expect(() => checkHttpSendEvent({ type: 'http.response.body', body: Buffer.from('x'), more_body: true })).not.toThrow();
    expect(() => checkHttpSendEvent({ type: 'http.response.body' })).not.toThrow();
  });
});

describe('checkWebSocketSendEvent', () => {
  it.each([
    [{ type: 'websocket.send' }, 'asgi.websocket.send.1'],
    [{ type: 'websocket.send', bytes: bytes('a'), text: 'a' }, 'asgi.websocket.send.1'],
    [{ type: 'websocket.send', bytes: 'a' }, 'asgi.websocket.send.2'],
    [{ type: 'websocket.send', text: bytes('a') }, 'asgi.websocket.send.3'],
    [{ type: 'websocket.send', text: 'a\ud800' }, 'asgi.websocket.send.3'],
    [{ type: 'websocket.accept', subprotocol: 5 }, 'asgi.websocket.accept.1'],
    [{ type: 'websocket.accept', headers: [['x', '\n']] }, 'asgi.websocket.accept.2'],
    [{ type: 'websocket.accept', headers: [['Sec-WebSocket-Protocol', 'chat']] }, 'asgi.websocket.accept.3'],
    [{ type: 'websocket.close', code: 999 }, 'asgi.websocket.close.1'],
    [{ type: 'websocket.close', code: 1005 }, 'asgi.websocket.close.1'],
    [{ type: 'websocket.close', code: 2000 }, 'asgi.websocket.close.1'],
    [{ type: 'websocket.close', code: 5000 }, 'asgi.websocket.close.1'],
    [{ type: 'websocket.close', code: '1000' }, 'asgi.websocket.close.1'],
    [{ type: 'websocket.close', reason: 'x'.repeat(124) }, 'asgi.websocket.close.2'],
    [{ type: 'websocket.close', reason: '\u00e9'.repeat(62) }, 'asgi.websocket.close.2'],
    [{ type: 'websocket.close', reason: 5 }, 'asgi.websocket.close.2'],
    [{ type: 'websocket.http.response.start', status: 99 }, 'asgi.ext.websocket_http_response.2'],
    [{ type: 'websocket.http.response.body', body: 'x' }, 'asgi.ext.websocket_http_response.3'],
    [{ type: 'http.response.start', status: 200 }, 'asgi.events.type.2'],
  ])('rejects %j with %s', (event, clause) => {
    expect(clauseOf(() => checkWebSocketSendEvent(event))).toBe(clause);
  });

  it('accepts close codes at the edges and a 123-byte reason', () => {
    for (const code of [1000, 1003, 1007, 1014, 3000, 4999]) {
      expect(() => checkWebSocketSendEvent({ type: 'websocket.close', code })).not.toThrow();
    }
    expect(() => checkWebSocketSendEvent({ type: 'websocket.close', reason: 'x'.repeat(123), code: null })).not.toThrow();
  });

  it('normalizes websocket.accept', () => {
    expect(checkWebSocketSendEvent({ type: 'websocket.accept', headers: [['X-A', 'b']] })).toEqual({
      type: 'websocket.accept',
      subprotocol: null,
      headers: [['x-a', 'b']],
    });
  });
});

describe('checkLifespanSendEvent', () => {
  it('checks types and message', () => {
    expect(clauseOf(() => checkLifespanSendEvent({ type: 'lifespan.startup.failed', message: 5 }))).toBe('asgi.lifespan.message.1');
    expect(clauseOf(() => checkLifespanSendEvent({ type: 'lifespan.startup' }))).toBe('asgi.events.type.2');
    expect(checkLifespanSendEvent({ type: 'lifespan.shutdown.failed', message: 'x' })).toEqual({ type: 'lifespan.shutdown.failed', message: 'x' });
  });
});

describe('checkReceiveEvent', () => {
  it.each([
    ['http', { type: 'http.request', body: 'x' }, 'asgi.http.request.1'],
    ['http', { type: 'http.request', more_body: 'yes' }, 'asgi.http.request.2'],
    ['http', { type: 'websocket.connect' }, 'asgi.events.type.3'],
    ['websocket', { type: 'websocket.receive' }, 'asgi.websocket.receive.1'],
    ['websocket', { type: 'websocket.receive', bytes: 'x' }, 'asgi.websocket.receive.2'],
    ['websocket', { type: 'websocket.receive', text: 1 }, 'asgi.websocket.receive.3'],
    ['websocket', { type: 'websocket.disconnect' }, 'asgi.websocket.disconnect.1'],
    ['websocket', { type: 'websocket.disconnect', code: 1000, reason: 1 }, 'asgi.websocket.disconnect.2'],
    ['lifespan', { type: 'lifespan.startup.complete' }, 'asgi.events.type.3'],
    ['lifespan', 'lifespan.startup', 'asgi.events.type.1'],
  ] as const)('on %s rejects %j with %s', (scopeType, event, clause) => {
    expect(clauseOf(() => checkReceiveEvent(scopeType, event))).toBe(clause);
  });

  it('accepts what servers deliver', () => {
    expect(() => checkReceiveEvent('http', { type: 'http.request', body: bytes('x'), more_body: false })).not.toThrow();
    expect(() => checkReceiveEvent('http', { type: 'http.disconnect' })).not.toThrow();
    expect(() => checkReceiveEvent('websocket', { type: 'websocket.connect' })).not.toThrow();
    expect(() => checkReceiveEvent('websocket', { type: 'websocket.disconnect', code: 1006, reason: null })).not.toThrow();
    expect(() => checkReceiveEvent('lifespan', { type: 'lifespan.shutdown' })).not.toThrow();
  });
});

describe('normalizeHeaders: property', () => {
  // Independent reading of RFC 9110: tchar for names; VCHAR, obs-text, SP and HTAB for values.
  const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const isTokenRef = (s: string) => s.length > 0 && [...s].every((c) => TCHAR.includes(c));
  const isValueRef = (s: string) =>
    [...s].every((c) => {
      const n = c.codePointAt(0)!;
      return n === 0x09 || (n >= 0x20 && n <= 0x7e) || (n >= 0x80 && n <= 0xff);
    });
  const chars = fc.constantFrom('a', 'Z', '-', '_', '!', ' ', ':', '\t', '\r', '\n', '\0', '\x7f', '\u00e9', '\u0100', '\u20ac', '"', '(', '9');
  const str = fc.array(chars, { maxLength: 6 }).map((a) => a.join(''));

  it('accepts exactly the token names and field values, lower-casing names', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(str, str), { maxLength: 4 }), (pairs) => {
        const legal = pairs.every(([n, v]) => isTokenRef(n) && isValueRef(v));
        let out: Array<[string, string]> | null = null;
        try {
          out = normalizeHeaders(pairs, 'asgi.http.start.3');
        } catch (e) {
          expect(isProtocolError(e) && e.clause).toBe('asgi.http.start.3');
        }
        expect(out !== null).toBe(legal);
        if (out !== null) expect(out).toEqual(pairs.map(([n, v]) => [n.toLowerCase(), v]));
      }),
      { numRuns: 1000 },
    );
  });
});
