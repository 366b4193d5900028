import { describe, expect, it } from 'vitest';
import { chunkLine, frameHttp1Response, lastChunk, type Http1ResponseFacts } from '@tsgi/core/server';

const KEEP = 'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n';
const facts = (over: Partial<Http1ResponseFacts> = {}): Http1ResponseFacts => ({ http11: true, isHead: false, keepAlive: true, date: null, keepAliveLines: KEEP, ...over });
const LENGTH = ['content-type', 'text/plain', 'content-length', '2'];

describe('frameHttp1Response', () => {
  it('writes the status line, the fields in order, then keep-alive, for a response with a Content-Length', () => {
    const f = frameHttp1Response(200, 'OK', ['server', 'tsgi', ...LENGTH], facts());
    expect(f.head).toBe(`HTTP/1.1 200 OK\r\nserver: tsgi\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n${KEEP}\r\n`);
    expect(f).toMatchObject({ chunked: false, close: false });
  });

  it('chunks an HTTP/1.1 body of unknown length and keeps the connection', () => {
    const f = frameHttp1Response(200, 'OK', ['content-type', 'text/plain'], facts());
    expect(f.head).toContain('Transfer-Encoding: chunked\r\n');
    expect(f).toMatchObject({ chunked: true, close: false });
  });

  it('never chunks for HTTP/1.0: a body of unknown length runs to the close, even when the client asked for keep-alive', () => {
    const f = frameHttp1Response(200, 'OK', ['content-type', 'text/plain'], facts({ http11: false }));
    expect(f.head).not.toContain('chunked');
    expect(f.head).toContain('Connection: close\r\n');
    expect(f).toMatchObject({ chunked: false, close: true });
  });

  it('keeps an HTTP/1.0 connection that asked for it when the length is known', () => {
    const f = frameHttp1Response(200, 'OK', LENGTH, facts({ http11: false }));
    expect(f.head).toContain(KEEP);
    expect(f.close).toBe(false);
  });

  it('gives HEAD, 204 and 304 no framing field and keeps the connection', () => {
    for (const [status, isHead] of [[200, true], [204, false], [304, false]] as const) {
      const f = frameHttp1Response(status, 'X', [], facts({ isHead }));
      expect(f.head).not.toMatch(/transfer-encoding|content-length/i);
      expect(f).toMatchObject({ chunked: false, close: false });
    }
  });

  it('says Connection: close when the connection is not kept', () => {
    const f = frameHttp1Response(200, 'OK', LENGTH, facts({ keepAlive: false }));
    expect(f.head).toContain('Connection: close\r\n');
    expect(f.head).not.toContain('keep-alive');
    expect(f.close).toBe(true);
  });

  it("adds the server's Date unless the response has one, whatever its case", () => {
    const date = 'Tue, 08 Dec 2026 04:00:00 GMT';
    expect(frameHttp1Response(200, 'OK', LENGTH, facts({ date })).head).toContain(`Date: ${date}\r\n`);
    const own = frameHttp1Response(200, 'OK', [...LENGTH, 'Date', 'yesterday'], facts({ date }));
    expect(own.head).toContain('Date: yesterday\r\n');
    expect(own.head).not.toContain(date);
  });

  it('takes a Content-Length field in any case as the length', () => {
    const f = frameHttp1Response(200, 'OK', ['Content-Length', '0'], facts());
    expect(f.chunked).toBe(false);
  });
});

describe('the chunked coding', () => {
  it('opens a chunk with its size in hex', () => {
    expect(chunkLine(255)).toBe('ff\r\n');
    expect(chunkLine(65536)).toBe('10000\r\n');
  });
  it('ends with the last chunk, then the trailer fields and a blank line', () => {
    expect(lastChunk(null)).toBe('0\r\n\r\n');
    expect(lastChunk([['x-checksum', 'abc'], ['x-n', '2']])).toBe('0\r\nx-checksum: abc\r\nx-n: 2\r\n\r\n');
  });
});
