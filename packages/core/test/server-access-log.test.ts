import { afterEach, describe, expect, it, vi } from 'vitest';
import { accessLine, accessPrefix, websocketAccessLine, websocketAccessPrefix } from '@tsgi/core/server';

afterEach(() => {
  vi.restoreAllMocks();
});

/** accessLine() with performance.now() pinned `elapsedMs` after `startedMs`. */
function lineAfter(prefix: string, status: number, elapsedMs: number, startedMs = 5000): string {
  vi.spyOn(performance, 'now').mockReturnValue(startedMs + elapsedMs);
  return accessLine(prefix, status, startedMs);
}

describe('accessPrefix / accessLine', () => {
  it("writes uvicorn's line with the duration: client - \"METHOD target HTTP/version\" status time", () => {
    const prefix = accessPrefix(['127.0.0.1', 5000], 'GET', '/p?q=1', '1.0');
    expect(prefix).toBe('127.0.0.1:5000 - "GET /p?q=1 HTTP/1.0"');
    expect(lineAfter(prefix, 200, 0.1)).toBe('127.0.0.1:5000 - "GET /p?q=1 HTTP/1.0" 200 0.1ms');
  });

  it('shows the duration in milliseconds with one decimal', () => {
    const prefix = accessPrefix(['::1', 1], 'POST', '/', '1.1');
    expect(lineAfter(prefix, 201, 1234.56)).toBe('::1:1 - "POST / HTTP/1.1" 201 1234.6ms');
    expect(lineAfter(prefix, 201, 0)).toBe('::1:1 - "POST / HTTP/1.1" 201 0.0ms');
  });

  it('measures from startedMs with performance.now()', () => {
    const started = performance.now();
    const line = accessLine(accessPrefix(null, 'GET', '/', '1.1'), 204, started);
    const m = /^- - "GET \/ HTTP\/1\.1" 204 (\d+\.\d)ms$/.exec(line);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1000);
  });

  it("shows '-' for an unknown client", () => {
    expect(accessPrefix(null, 'GET', '/', '1.1')).toBe('- - "GET / HTTP/1.1"');
  });

  it("shows status 0 (nothing sent) as '-'", () => {
    expect(lineAfter(accessPrefix(['10.0.0.2', 80], 'GET', '/x', '1.1'), 0, 2)).toBe('10.0.0.2:80 - "GET /x HTTP/1.1" - 2.0ms');
  });

  it("cuts a target longer than 2048 chars with '...'", () => {
    const long = `/${'a'.repeat(3000)}`;
    const prefix = accessPrefix(['127.0.0.1', 1], 'GET', long, '1.1');
    expect(prefix).toBe(`127.0.0.1:1 - "GET ${long.slice(0, 2048)}... HTTP/1.1"`);
    const exact = `/${'b'.repeat(2047)}`;
    expect(accessPrefix(['127.0.0.1', 1], 'GET', exact, '1.1')).toBe(`127.0.0.1:1 - "GET ${exact} HTTP/1.1"`);
  });

  it("shows a target that is not a byte string as '?'", () => {
    expect(accessPrefix(['127.0.0.1', 1], 'GET', '/caf\u20ac', '1.1')).toBe('127.0.0.1:1 - "GET ? HTTP/1.1"');
    // Latin-1 bytes are a byte string, shown as they are.
    expect(accessPrefix(['127.0.0.1', 1], 'GET', '/caf\u00e9', '1.1')).toBe('127.0.0.1:1 - "GET /caf\u00e9 HTTP/1.1"');
  });
});

describe('the client in access lines', () => {
  it('shows the address alone when the transport gives no port (uWebSockets.js v20.30: the scope says 0)', () => {
    expect(accessPrefix(['127.0.0.1', 0], 'GET', '/', '1.1')).toBe('127.0.0.1 - "GET / HTTP/1.1"');
  });
});

describe('websocketAccessPrefix / websocketAccessLine', () => {
  const prefix = websocketAccessPrefix(['127.0.0.1', 50000], '/ws?room=1');
  it('writes uvicorn\'s lines: accepted, refused with the status, closed with the code', () => {
    expect(prefix).toBe('127.0.0.1:50000 - "WebSocket /ws?room=1"');
    vi.spyOn(performance, 'now').mockReturnValue(1012.5);
    expect(websocketAccessLine(prefix, 'accepted', 1000)).toBe('127.0.0.1:50000 - "WebSocket /ws?room=1" [accepted] 12.5ms');
    expect(websocketAccessLine(prefix, { status: 403 }, 1000)).toBe('127.0.0.1:50000 - "WebSocket /ws?room=1" 403 12.5ms');
    expect(websocketAccessLine(prefix, { closed: 1000 }, 1000)).toBe('127.0.0.1:50000 - "WebSocket /ws?room=1" [closed 1000] 12.5ms');
  });
});
