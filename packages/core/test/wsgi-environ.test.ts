import { describe, expect, it } from 'vitest';
import { buildHttpScope, checkEnviron, createWsgiInput, environFromScope, memorySource, type HttpScope, type RequestHead, type WsgiErrors } from '@tsgi/core';

const errors: WsgiErrors = { write() {}, writelines() {}, flush() {} };

function head(over: Partial<RequestHead> = {}): RequestHead {
  return {
    method: 'GET',
    target: '/',
    httpVersion: '1.1',
    headers: [['host', 'example.com']],
    client: ['127.0.0.1', 50123],
    server: ['127.0.0.1', 8000],
    scheme: 'http',
    ...over,
  };
}

function environ(h: Partial<RequestHead> = {}, rootPath = '') {
  const input = createWsgiInput(memorySource([]), 0);
  return environFromScope(buildHttpScope(head(h), { rootPath }), { input, errors, multithread: true, multiprocess: false });
}

describe('environFromScope', () => {
  it('sets every required CGI key and wsgi.* key', () => {
    const env = environ({ method: 'POST', target: '/a/b?x=1&y=2' });
    expect(env).toMatchObject({
      REQUEST_METHOD: 'POST',
      SCRIPT_NAME: '',
      PATH_INFO: '/a/b',
      QUERY_STRING: 'x=1&y=2',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: '8000',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: '50123',
      HTTP_HOST: 'example.com',
      'wsgi.version': [1, 0],
      'wsgi.url_scheme': 'http',
      'wsgi.multithread': true,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
      'wsgi.input_terminated': true,
    });
    expect(env['wsgi.errors']).toBe(errors);
    expect(typeof env['wsgi.input'].read).toBe('function');
    expect('CONTENT_TYPE' in env).toBe(false);
    expect('CONTENT_LENGTH' in env).toBe(false);
  });

  it('passes the environ checks the validator runs, in every shape built here', () => {
    for (const env of [environ(), environ({ target: '/x?y', headers: [['content-length', '3'], ['content-type', 'a/b']] }, '/api'), environ({ method: 'OPTIONS', target: '*' })]) {
      expect(() => checkEnviron(env)).not.toThrow();
    }
  });

  it('splits root_path into SCRIPT_NAME and the rest into PATH_INFO', () => {
    const env = environ({ target: '/users/7?q' }, '/api');
    expect(env.SCRIPT_NAME).toBe('/api');
    expect(env.PATH_INFO).toBe('/users/7');
    expect(environ({ target: '/' }, '/api').PATH_INFO).toBe('/');
  });

  it('takes PATH_INFO from raw_path when the server did not prefix raw_path with root_path', () => {
    const scope: HttpScope = { ...buildHttpScope(head({ target: '/x' }), { rootPath: '/mnt' }), raw_path: '/x' };
    const env = environFromScope(scope, { input: createWsgiInput(memorySource([]), 0), errors, multithread: false, multiprocess: false });
    expect(env.SCRIPT_NAME).toBe('/mnt');
    expect(env.PATH_INFO).toBe('/x');
  });

  it('percent-decodes PATH_INFO into a latin-1 byte string, keeping invalid UTF-8 and %2F', () => {
    expect(environ({ target: '/caf%C3%A9/a%2Fb' }).PATH_INFO).toBe('/caf\u00c3\u00a9/a/b');
    expect(environ({ target: '/bad%FF%fe' }).PATH_INFO).toBe('/bad\u00ff\u00fe');
    expect(environ({ target: '/raw\u00e9' }).PATH_INFO).toBe('/raw\u00e9');
    expect(environ({ target: '/50%zz' }).PATH_INFO).toBe('/50%zz');
  });

  it('encodes a non-ASCII root_path as UTF-8 bytes in SCRIPT_NAME', () => {
    const env = environ({ target: '/x' }, '/caf\u00e9');
    expect(env.SCRIPT_NAME).toBe('/caf\u00c3\u00a9');
    expect(env.PATH_INFO).toBe('/x');
  });

  it('puts CONTENT_TYPE and CONTENT_LENGTH without the HTTP_ prefix', () => {
    const env = environ({ headers: [['content-type', 'text/plain'], ['content-length', '12']] });
    expect(env.CONTENT_TYPE).toBe('text/plain');
    expect(env.CONTENT_LENGTH).toBe('12');
    expect('HTTP_CONTENT_TYPE' in env).toBe(false);
    expect('HTTP_CONTENT_LENGTH' in env).toBe(false);
  });

  it('joins repeated headers with ", " and cookies with "; "', () => {
    const env = environ({
      headers: [
        ['accept', 'text/html'],
        ['x-forwarded-for', '10.0.0.1'],
        ['cookie', 'a=1'],
        ['accept', 'application/json'],
        ['cookie', 'b=2'],
      ],
    });
    expect(env.HTTP_ACCEPT).toBe('text/html, application/json');
    expect(env.HTTP_X_FORWARDED_FOR).toBe('10.0.0.1');
    expect(env.HTTP_COOKIE).toBe('a=1; b=2');
  });

  it('drops header names with underscores so they cannot forge the dashed spelling', () => {
    const env = environ({ headers: [['x-user', 'real'], ['x_user', 'forged']] });
    expect(env.HTTP_X_USER).toBe('real');
  });

  it('keeps header values byte-exact (latin-1)', () => {
    expect(environ({ headers: [['x-name', 'caf\u00c3\u00a9 \u00ff']] }).HTTP_X_NAME).toBe('caf\u00c3\u00a9 \u00ff');
  });

  it('reflects scheme, HTTP version and a unix socket (Host header as SERVER_NAME)', () => {
    const env = environ({ scheme: 'https', httpVersion: '1.0', client: null, server: ['/tmp/s.sock', null], headers: [['host', 'h.example:8443']] });
    expect(env['wsgi.url_scheme']).toBe('https');
    expect(env.SERVER_PROTOCOL).toBe('HTTP/1.0');
    expect(env.SERVER_NAME).toBe('h.example');
    expect(env.SERVER_PORT).toBe('8443');
    expect('REMOTE_ADDR' in env).toBe(false);
    const bare = environ({ scheme: 'https', client: null, server: null, headers: [] });
    expect([bare.SERVER_NAME, bare.SERVER_PORT]).toEqual(['localhost', '443']);
  });

  it('adds wsgi.file_wrapper, run_once and extra keys when given', () => {
    const fileWrapper = () => [];
    const env = environFromScope(buildHttpScope(head(), { rootPath: '' }), {
      input: createWsgiInput(memorySource([]), 0),
      errors,
      multithread: false,
      multiprocess: true,
      runOnce: true,
      fileWrapper,
      extra: { 'tsgi.request_id': 'r1' },
    });
    expect(env['wsgi.file_wrapper']).toBe(fileWrapper);
    expect(env['wsgi.run_once']).toBe(true);
    expect(env['wsgi.multiprocess']).toBe(true);
    expect(env['tsgi.request_id']).toBe('r1');
  });
});
