import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpScope } from '@tsgi/core';
import { closeAll, rawRequest, readBody, start } from './helpers.js';

afterEach(closeAll);

/** Answers `METHOD path raw_path ?query body-length` and keeps the scopes. */
function echoApp(seen: HttpScope[]): AsgiApplication {
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    seen.push(scope);
    const body = await readBody(receive as never);
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body: Buffer.from(`${scope.method} ${scope.path} ${scope.raw_path} ?${scope.query_string} ${body.length}`) });
  };
}

describe('request lines and bodies llhttp takes (uWebSockets.js does not)', () => {
  it('methods beyond the common nine reach the app (PROPFIND, PURGE, QUERY)', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    for (const m of ['PROPFIND', 'PURGE', 'QUERY']) {
      const r = await rawRequest(s.port, `${m} /dav HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(r.body.toString()).toBe(`${m} /dav /dav ? 0`);
    }
  });

  it('a method token llhttp does not know gets 501 and never reaches the app', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    const r = await rawRequest(s.port, 'FROB /x HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r.status).toBe(501);
    expect(seen).toHaveLength(0);
  });

  it('PRI outside the HTTP/2 preface gets 505 (llhttp takes PRI only with HTTP/2.0) and never reaches the app', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    const r = await rawRequest(s.port, 'PRI /x HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(r.status).toBe(505);
    expect(seen).toHaveLength(0);
  });

  it('absolute-form targets reach the app with the path of the URL; OPTIONS * keeps its asterisk', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    const abs = await rawRequest(s.port, 'GET http://example.com/a%20b?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n');
    expect(abs.body.toString()).toBe('GET /a b /a%20b ?x=1 0');
    const star = await rawRequest(s.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(star.body.toString()).toBe('OPTIONS * * ? 0');
  });

  it('takes chunk extensions and request trailers in a chunked body', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    const r = await rawRequest(s.port, 'POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n3;x\r\nabc\r\n0\r\nX-Checksum: 42\r\n\r\n');
    expect(r.body.toString()).toBe('POST /t /t ? 8');
  });

  it('an HTTP/1.1 request without Host gets 400 from the shared head rules, without the app', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    const r = await rawRequest(s.port, 'GET / HTTP/1.1\r\n\r\n');
    expect(r.status).toBe(400);
    expect(r.header('connection')?.toLowerCase()).toBe('close');
    expect(seen).toHaveLength(0);
    expect(s.log.text()).toMatch(/without a Host field/);
  });

  it('refuses Content-Length with Transfer-Encoding, and a malformed request line, without the app', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    expect((await rawRequest(s.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).status).toBe(400);
    expect((await rawRequest(s.port, 'GET /a b c\r\n\r\n')).status).toBe(400);
    expect(seen).toHaveLength(0);
  });

  it('a head over 16 KiB gets 431 without the app; an expectation other than 100-continue is served (no 417)', async () => {
    const seen: HttpScope[] = [];
    const s = await start(echoApp(seen));
    const big = await rawRequest(s.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(seen).toHaveLength(0);
    const odd = await rawRequest(s.port, 'GET /e HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n');
    expect([odd.status, odd.body.toString()]).toEqual([200, 'GET /e /e ? 0']);
  });
});
