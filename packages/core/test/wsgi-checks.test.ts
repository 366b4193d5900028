import { describe, expect, it } from 'vitest';
import { checkBodyChunk, checkEnviron, checkResponseHeaders, checkStatus, isHopByHop } from '@tsgi/core';
import { clauseOf } from './protocol-errors.js';

/** A minimal valid environ; tests break one key at a time. */
function environ(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const input = {
    read: () => new Uint8Array(0),
    readline: () => new Uint8Array(0),
    readlines: () => [],
    *[Symbol.iterator]() {},
  };
  const errors = { write() {}, writelines() {}, flush() {} };
  const env: Record<string, unknown> = {
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: '/',
    QUERY_STRING: '',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '8000',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REMOTE_ADDR: '127.0.0.1',
    HTTP_HOST: 'localhost:8000',
    'wsgi.version': [1, 0],
    'wsgi.url_scheme': 'http',
    'wsgi.input': input,
    'wsgi.errors': errors,
    'wsgi.multithread': true,
    'wsgi.multiprocess': false,
    'wsgi.run_once': false,
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

describe('checkStatus', () => {
  it('splits a valid status into code and reason', () => {
    expect(checkStatus('200 OK')).toEqual({ code: 200, reason: 'OK' });
    expect(checkStatus('404 Not Found')).toEqual({ code: 404, reason: 'Not Found' });
    expect(checkStatus('999 Message here')).toEqual({ code: 999, reason: 'Message here' });
    expect(checkStatus('201 Cr\u00e9\u00e9')).toEqual({ code: 201, reason: 'Cr\u00e9\u00e9' });
  });

  it('wsgi.start_response.status.1: refuses a non-string or non-byte string', () => {
    expect(clauseOf(() => checkStatus(200))).toBe('wsgi.start_response.status.1');
    expect(clauseOf(() => checkStatus(new TextEncoder().encode('200 OK')))).toBe('wsgi.start_response.status.1');
    expect(clauseOf(() => checkStatus('200 \u20ac'))).toBe('wsgi.start_response.status.1');
  });

  it('wsgi.start_response.status.2: refuses a malformed status line', () => {
    for (const bad of ['200', '200 ', '200OK', '20 OK', '2000 OK', '099 Low', 'abc OK', ' 200 OK', '']) {
      expect(clauseOf(() => checkStatus(bad)), bad).toBe('wsgi.start_response.status.2');
    }
  });

  it('wsgi.start_response.status.3: refuses control chars in the reason phrase', () => {
    for (const bad of ['200 OK\r\nX-Evil: 1', '200 OK\n', '200 O\u0000K', '200 \u007f']) {
      expect(clauseOf(() => checkStatus(bad)), JSON.stringify(bad)).toBe('wsgi.start_response.status.3');
    }
  });

  it('names the clause and the value in the message', () => {
    expect(() => checkStatus('200OK')).toThrow(/\[wsgi\.start_response\.status\.2\].*got "200OK"/);
  });
});

describe('isHopByHop', () => {
  it('knows every hop-by-hop header in any case', () => {
    for (const n of ['Connection', 'keep-alive', 'PROXY-AUTHENTICATE', 'Proxy-Authorization', 'TE', 'Trailers', 'Transfer-Encoding', 'upgrade']) {
      expect(isHopByHop(n), n).toBe(true);
    }
  });
  it('lets end-to-end headers through', () => {
    for (const n of ['Content-Type', 'Content-Length', 'Trailer', 'Set-Cookie', 'X-Connection', 'tea', 'Upgrade-Insecure-Requests']) {
      expect(isHopByHop(n), n).toBe(false);
    }
  });
});

describe('checkResponseHeaders', () => {
  it('returns the same array for valid headers', () => {
    const h = [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Content-Length', '12'],
      ['X-Latin1', 'caf\u00e9'],
    ];
    expect(checkResponseHeaders(h)).toBe(h);
    expect(checkResponseHeaders([])).toEqual([]);
  });

  it('wsgi.start_response.headers.1: wants a real Array of two-element Arrays', () => {
    expect(clauseOf(() => checkResponseHeaders(new Map([['a', 'b']])))).toBe('wsgi.start_response.headers.1');
    expect(clauseOf(() => checkResponseHeaders({ 'Content-Type': 'text/plain' }))).toBe('wsgi.start_response.headers.1');
    expect(clauseOf(() => checkResponseHeaders(undefined))).toBe('wsgi.start_response.headers.1');
    expect(clauseOf(() => checkResponseHeaders([['a', 'b', 'c']]))).toBe('wsgi.start_response.headers.1');
    expect(clauseOf(() => checkResponseHeaders([['a']]))).toBe('wsgi.start_response.headers.1');
    expect(clauseOf(() => checkResponseHeaders(['a: b']))).toBe('wsgi.start_response.headers.1');
  });

  it('wsgi.start_response.headers.2: names and values are byte strings', () => {
    expect(clauseOf(() => checkResponseHeaders([[1, 'b']]))).toBe('wsgi.start_response.headers.2');
    expect(clauseOf(() => checkResponseHeaders([['a', 5]]))).toBe('wsgi.start_response.headers.2');
    expect(clauseOf(() => checkResponseHeaders([['X-Euro', '\u20ac']]))).toBe('wsgi.start_response.headers.2');
  });

  it('wsgi.start_response.headers.3: names are RFC 9110 tokens', () => {
    for (const bad of ['', 'Bad Name', 'X:Y', 'X\u00e9', 'a\r\nb']) {
      expect(clauseOf(() => checkResponseHeaders([[bad, 'v']])), JSON.stringify(bad)).toBe('wsgi.start_response.headers.3');
    }
  });

  it('wsgi.start_response.headers.4: values hold no CR, LF, NUL or controls', () => {
    for (const bad of ['a\r\nSet-Cookie: x', 'a\nb', 'a\u0000', '\u001b[31m', 'a\u007f']) {
      expect(clauseOf(() => checkResponseHeaders([['X', bad]])), JSON.stringify(bad)).toBe('wsgi.start_response.headers.4');
    }
    expect(checkResponseHeaders([['X', 'tab\tok']])).toHaveLength(1);
  });

  it('wsgi.start_response.headers.5: refuses hop-by-hop headers', () => {
    expect(clauseOf(() => checkResponseHeaders([['Transfer-Encoding', 'chunked']]))).toBe('wsgi.start_response.headers.5');
    expect(clauseOf(() => checkResponseHeaders([['Content-Type', 'a'], ['connection', 'close']]))).toBe('wsgi.start_response.headers.5');
  });

  it('wsgi.start_response.headers.6: Content-Length is digits, at most once', () => {
    expect(clauseOf(() => checkResponseHeaders([['Content-Length', '-1']]))).toBe('wsgi.start_response.headers.6');
    expect(clauseOf(() => checkResponseHeaders([['content-length', '1e3']]))).toBe('wsgi.start_response.headers.6');
    expect(clauseOf(() => checkResponseHeaders([['Content-Length', '']]))).toBe('wsgi.start_response.headers.6');
    expect(clauseOf(() => checkResponseHeaders([['Content-Length', '3'], ['CONTENT-LENGTH', '3']]))).toBe('wsgi.start_response.headers.6');
  });
});

describe('checkBodyChunk', () => {
  it('accepts Uint8Array and Buffer', () => {
    const u = new Uint8Array([1, 2]);
    expect(checkBodyChunk(u)).toBe(u);
    const b = Buffer.from('hi');
    expect(checkBodyChunk(b)).toBe(b);
  });
  it('wsgi.response.chunk.1: refuses strings, numbers, ArrayBuffers and other views', () => {
    for (const bad of ['hello', 42, new ArrayBuffer(2), new Uint16Array(2), new DataView(new ArrayBuffer(1)), null]) {
      expect(clauseOf(() => checkBodyChunk(bad))).toBe('wsgi.response.chunk.1');
    }
  });
  it('cites the clause it is given', () => {
    expect(clauseOf(() => checkBodyChunk('x', 'wsgi.write.chunk.1'))).toBe('wsgi.write.chunk.1');
  });
});

describe('checkEnviron', () => {
  it('accepts a complete environ and returns it', () => {
    const env = environ();
    expect(checkEnviron(env)).toBe(env);
    expect(checkEnviron(environ({ CONTENT_LENGTH: '12', CONTENT_TYPE: 'text/plain', 'wsgi.input_terminated': true, 'wsgi.file_wrapper': () => [] }))).toBeTruthy();
    expect(checkEnviron(environ({ SCRIPT_NAME: '/app', PATH_INFO: '' }))).toBeTruthy();
    expect(checkEnviron(environ({ REQUEST_METHOD: 'OPTIONS', PATH_INFO: '*' }))).toBeTruthy();
    expect(checkEnviron(environ({ 'wsgi.url_scheme': 'https', SERVER_PROTOCOL: 'HTTP/2' }))).toBeTruthy();
    expect(checkEnviron(Object.assign(Object.create(null), environ()))).toBeTruthy();
  });

  it('wsgi.environ.type.1: a plain object', () => {
    expect(clauseOf(() => checkEnviron(null))).toBe('wsgi.environ.type.1');
    expect(clauseOf(() => checkEnviron(new Map()))).toBe('wsgi.environ.type.1');
    expect(clauseOf(() => checkEnviron([]))).toBe('wsgi.environ.type.1');
  });

  it('wsgi.environ.cgi.1: REQUEST_METHOD, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL present and non-empty', () => {
    for (const key of ['REQUEST_METHOD', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL']) {
      expect(clauseOf(() => checkEnviron(environ({ [key]: undefined }))), key).toBe('wsgi.environ.cgi.1');
      expect(clauseOf(() => checkEnviron(environ({ [key]: '' }))), key).toBe('wsgi.environ.cgi.1');
    }
  });

  it('wsgi.environ.cgi.2: SCRIPT_NAME, PATH_INFO, QUERY_STRING always present', () => {
    for (const key of ['SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING']) {
      expect(clauseOf(() => checkEnviron(environ({ [key]: undefined }))), key).toBe('wsgi.environ.cgi.2');
    }
  });

  it('wsgi.environ.cgi.3: every CGI key holds a byte string', () => {
    expect(clauseOf(() => checkEnviron(environ({ SERVER_PORT: 8000 })))).toBe('wsgi.environ.cgi.3');
    expect(clauseOf(() => checkEnviron(environ({ HTTP_X_TEXT: 'caf\u00e9 \u2713' })))).toBe('wsgi.environ.cgi.3');
    expect(clauseOf(() => checkEnviron(environ({ REMOTE_PORT: 1234 })))).toBe('wsgi.environ.cgi.3');
    expect(clauseOf(() => checkEnviron(environ({ PATH_INFO: Buffer.from('/') })))).toBe('wsgi.environ.cgi.3');
  });

  it('wsgi.environ.cgi.4: REQUEST_METHOD is a token', () => {
    expect(clauseOf(() => checkEnviron(environ({ REQUEST_METHOD: 'G ET' })))).toBe('wsgi.environ.cgi.4');
  });

  it('wsgi.environ.cgi.5: SERVER_PORT is digits', () => {
    expect(clauseOf(() => checkEnviron(environ({ SERVER_PORT: 'http' })))).toBe('wsgi.environ.cgi.5');
  });

  it('wsgi.environ.cgi.6: SERVER_PROTOCOL looks like HTTP/1.1', () => {
    expect(clauseOf(() => checkEnviron(environ({ SERVER_PROTOCOL: 'HTTP 1.1' })))).toBe('wsgi.environ.cgi.6');
  });

  it('wsgi.environ.path.1: SCRIPT_NAME is empty or starts with / and is not / alone', () => {
    expect(clauseOf(() => checkEnviron(environ({ SCRIPT_NAME: 'app' })))).toBe('wsgi.environ.path.1');
    expect(clauseOf(() => checkEnviron(environ({ SCRIPT_NAME: '/' })))).toBe('wsgi.environ.path.1');
  });

  it('wsgi.environ.path.2: PATH_INFO is empty or starts with /, and is / at least when SCRIPT_NAME is empty', () => {
    expect(clauseOf(() => checkEnviron(environ({ PATH_INFO: 'x' })))).toBe('wsgi.environ.path.2');
    expect(clauseOf(() => checkEnviron(environ({ PATH_INFO: '' })))).toBe('wsgi.environ.path.2');
    expect(clauseOf(() => checkEnviron(environ({ PATH_INFO: '*' })))).toBe('wsgi.environ.path.2');
  });

  it('wsgi.environ.content_length.1: CONTENT_LENGTH is digits or absent', () => {
    for (const bad of ['', '-1', '1.5', ' 3', 'abc']) {
      expect(clauseOf(() => checkEnviron(environ({ CONTENT_LENGTH: bad }))), JSON.stringify(bad)).toBe('wsgi.environ.content_length.1');
    }
  });

  it('wsgi.environ.http.1: no HTTP_CONTENT_TYPE or HTTP_CONTENT_LENGTH', () => {
    expect(clauseOf(() => checkEnviron(environ({ HTTP_CONTENT_TYPE: 'text/plain' })))).toBe('wsgi.environ.http.1');
    expect(clauseOf(() => checkEnviron(environ({ HTTP_CONTENT_LENGTH: '3' })))).toBe('wsgi.environ.http.1');
  });

  it('wsgi.environ.version.1: wsgi.version is [1, 0]', () => {
    for (const bad of [[1, 1], [2, 0], '1.0', [1], undefined]) {
      expect(clauseOf(() => checkEnviron(environ({ 'wsgi.version': bad ?? null })))).toBe('wsgi.environ.version.1');
    }
  });

  it('wsgi.environ.url_scheme.1: http or https', () => {
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.url_scheme': 'ws' })))).toBe('wsgi.environ.url_scheme.1');
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.url_scheme': undefined })))).toBe('wsgi.environ.url_scheme.1');
  });

  it('wsgi.environ.input.1: wsgi.input has the reader methods and is iterable', () => {
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.input': undefined })))).toBe('wsgi.environ.input.1');
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.input': { read() {}, readline() {}, readlines() {} } })))).toBe('wsgi.environ.input.1');
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.input': new Uint8Array(0) })))).toBe('wsgi.environ.input.1');
  });

  it('wsgi.environ.errors.1: wsgi.errors has write, writelines and flush', () => {
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.errors': { write() {} } })))).toBe('wsgi.environ.errors.1');
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.errors': process.stderr.write })))).toBe('wsgi.environ.errors.1');
  });

  it('wsgi.environ.flags.1: multithread, multiprocess and run_once are booleans', () => {
    for (const key of ['wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once']) {
      expect(clauseOf(() => checkEnviron(environ({ [key]: 1 }))), key).toBe('wsgi.environ.flags.1');
      expect(clauseOf(() => checkEnviron(environ({ [key]: undefined }))), key).toBe('wsgi.environ.flags.1');
    }
  });

  it('wsgi.environ.input_terminated.1 and wsgi.environ.file_wrapper.1: optional keys have the right type', () => {
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.input_terminated': 'yes' })))).toBe('wsgi.environ.input_terminated.1');
    expect(clauseOf(() => checkEnviron(environ({ 'wsgi.file_wrapper': {} })))).toBe('wsgi.environ.file_wrapper.1');
  });
});
