/**
 * WSGI environ, wsgi.input, start_response (status, exc_info, write()), the
 * response iterable and its close(), and wsgi.file_wrapper — as far as each
 * can be seen from a client talking to the WSGI conformance app.
 */
import type { Check, CheckContext } from '../check.js';
import { asBytes } from '../json-bytes.js';
import { header, headerValues } from '../raw-http.js';

const WSGI = ['wsgi'] as const;

async function environOf(t: CheckContext, target = '/environ', extra: { headers?: Array<[string, string]>; version?: string; method?: string; body?: string } = {}): Promise<Record<string, any>> {
  const res = await t.request({ target, ...extra });
  t.eq(res.status, 200, `status of ${target}`);
  return JSON.parse(res.body.toString('utf8'));
}

function envCheck(id: string, clauses: string[], title: string, fn: (t: CheckContext, env: Record<string, any>) => void, target?: string, extra?: Parameters<typeof environOf>[2]): Check {
  return { id, clauses, title, interfaces: [...WSGI], async run(t) { fn(t, await environOf(t, target, extra)); } };
}

/** True for a native string: text whose every char is <= 0xFF. */
function isNative(v: unknown): boolean {
  return typeof v === 'string' && !/[^\u0000-\u00ff]/.test(v);
}

const FOOD = 'line one\nline two\n\nlast line without newline';

export const wsgiChecks: Check[] = [
  // ---- environ
  envCheck('wsgi-environ-request-method', ['wsgi.environ.cgi.1', 'wsgi.environ.cgi.4'], 'REQUEST_METHOD is the method as sent', (t, e) => t.eq(e.REQUEST_METHOD, 'PUT', 'REQUEST_METHOD'), '/environ', { method: 'PUT' }),
  envCheck('wsgi-environ-script-name', ['wsgi.environ.cgi.2', 'wsgi.environ.path.1'], 'SCRIPT_NAME is present, "" when not mounted', (t, e) => t.eq(e.SCRIPT_NAME, '', 'SCRIPT_NAME')),
  envCheck('wsgi-environ-path-info', ['wsgi.environ.cgi.2', 'wsgi.environ.path.2'], 'PATH_INFO is the request path', (t, e) => t.eq(e.PATH_INFO, '/environ', 'PATH_INFO'), '/environ?x=1'),
  envCheck('wsgi-environ-path-decoded', ['wsgi.environ.path.3', 'wsgi.environ.cgi.3'], 'PATH_INFO is percent-decoded, its UTF-8 bytes as a latin-1 native string', (t, e) => t.eq(e.PATH_INFO, '/environ/a b/\u00c3\u00a9', 'PATH_INFO'), '/environ/a%20b/%C3%A9'),
  envCheck('wsgi-environ-path-invalid-utf8', ['wsgi.environ.path.3'], 'PATH_INFO keeps a byte that is not UTF-8 (%FF) as char 0xFF', (t, e) => t.eq(e.PATH_INFO, '/environ/\u00ff', 'PATH_INFO'), '/environ/%FF'),
  envCheck('wsgi-environ-query-string', ['wsgi.environ.cgi.2'], 'QUERY_STRING is the query exactly as sent, without "?"', (t, e) => t.eq(e.QUERY_STRING, 'a=1&b=%20x&c', 'QUERY_STRING'), '/environ?a=1&b=%20x&c'),
  envCheck('wsgi-environ-query-string-empty', ['wsgi.environ.cgi.2'], 'QUERY_STRING is "" (present) when there is no query', (t, e) => t.ok(e.QUERY_STRING === '', 'QUERY_STRING present and empty', e.QUERY_STRING)),
  envCheck('wsgi-environ-server-name-port', ['wsgi.environ.cgi.1', 'wsgi.environ.cgi.5'], 'SERVER_NAME is non-empty and SERVER_PORT is ASCII digits', (t, e) => {
    t.ok(typeof e.SERVER_NAME === 'string' && e.SERVER_NAME.length > 0, 'SERVER_NAME', e.SERVER_NAME);
    t.ok(typeof e.SERVER_PORT === 'string' && /^\d+$/.test(e.SERVER_PORT), 'SERVER_PORT', e.SERVER_PORT);
  }),
  envCheck('wsgi-environ-server-protocol', ['wsgi.environ.cgi.1', 'wsgi.environ.cgi.6'], 'SERVER_PROTOCOL is "HTTP/1.1" for an HTTP/1.1 request', (t, e) => t.eq(e.SERVER_PROTOCOL, 'HTTP/1.1', 'SERVER_PROTOCOL')),
  envCheck('wsgi-environ-server-protocol-10', ['wsgi.environ.cgi.6'], 'SERVER_PROTOCOL is "HTTP/1.0" for an HTTP/1.0 request', (t, e) => t.eq(e.SERVER_PROTOCOL, 'HTTP/1.0', 'SERVER_PROTOCOL'), '/environ', { version: 'HTTP/1.0' }),
  envCheck('wsgi-environ-content-type', ['wsgi.environ.http.1'], 'Content-Type goes in CONTENT_TYPE, never HTTP_CONTENT_TYPE', (t, e) => {
    t.eq(e.CONTENT_TYPE, 'text/x-conformance', 'CONTENT_TYPE');
    t.eq(e.HTTP_CONTENT_TYPE, undefined, 'HTTP_CONTENT_TYPE');
  }, '/environ', { method: 'POST', headers: [['Content-Type', 'text/x-conformance']], body: 'abc' }),
  envCheck('wsgi-environ-content-length', ['wsgi.environ.http.1', 'wsgi.environ.content_length.1'], 'Content-Length goes in CONTENT_LENGTH as digits, never HTTP_CONTENT_LENGTH', (t, e) => {
    t.eq(e.CONTENT_LENGTH, '3', 'CONTENT_LENGTH');
    t.eq(e.HTTP_CONTENT_LENGTH, undefined, 'HTTP_CONTENT_LENGTH');
  }, '/environ', { method: 'POST', body: 'abc' }),
  envCheck('wsgi-environ-content-length-absent', ['wsgi.environ.content_length.1'], 'CONTENT_LENGTH is absent or empty for a request without a body', (t, e) => {
    t.ok(e.CONTENT_LENGTH === undefined || e.CONTENT_LENGTH === '' || e.CONTENT_LENGTH === '0', 'CONTENT_LENGTH', e.CONTENT_LENGTH);
  }),
  envCheck('wsgi-environ-http-headers', ['wsgi.environ.cgi.3'], 'a request header X-Custom-Thing becomes HTTP_X_CUSTOM_THING with its value', (t, e) => t.eq(e.HTTP_X_CUSTOM_THING, 'Some Value', 'HTTP_X_CUSTOM_THING'), '/environ', { headers: [['X-Custom-Thing', 'Some Value']] }),
  envCheck('wsgi-environ-http-host', ['wsgi.environ.cgi.3'], 'the Host header is in HTTP_HOST', (t, e) => t.ok(typeof e.HTTP_HOST === 'string' && e.HTTP_HOST.length > 0, 'HTTP_HOST', e.HTTP_HOST)),
  envCheck('wsgi-environ-http-duplicates', ['wsgi.environ.http.2'], 'a repeated header becomes one key, values joined with ", " in order', (t, e) => {
    t.eq(e.HTTP_X_REP, 'first, second', 'HTTP_X_REP');
  }, '/environ', { headers: [['X-Rep', 'first'], ['X-Rep', 'second']] }),
  envCheck('wsgi-environ-cookie-join', ['wsgi.environ.http.2'], 'repeated Cookie headers are joined with "; " (a comma would merge two cookies into one value)', (t, e) => {
    t.eq(e.HTTP_COOKIE, 'a=1; b=2', 'HTTP_COOKIE');
  }, '/environ', { headers: [['Cookie', 'a=1'], ['Cookie', 'b=2']] }),
  envCheck('wsgi-environ-header-latin1', ['wsgi.environ.cgi.3'], 'a header byte 0xE9 arrives as char U+00E9 (latin-1 native string)', (t, e) => t.eq(e.HTTP_X_LATIN1, 'caf\u00e9', 'HTTP_X_LATIN1'), '/environ', { headers: [['X-Latin1', 'caf\u00e9']] }),
  envCheck('wsgi-environ-native-strings', ['wsgi.environ.cgi.3'], 'every CGI key holds a native string (chars <= 0xFF)', (t, e) => {
    const bad = Object.entries(e).filter(([k, v]) => !k.includes('.') && !isNative(v)).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    t.eq(bad, [], 'CGI keys that are not native strings');
  }, '/environ/%C3%A9', { headers: [['X-Latin1', 'caf\u00e9']] }),
  envCheck('wsgi-environ-version', ['wsgi.environ.version.1'], 'wsgi.version is (1, 0)', (t, e) => t.eq(e['wsgi.version'], [1, 0], 'wsgi.version')),
  envCheck('wsgi-environ-url-scheme', ['wsgi.environ.url_scheme.1'], 'wsgi.url_scheme is "http" on a plain connection', (t, e) => t.eq(e['wsgi.url_scheme'], 'http', 'wsgi.url_scheme')),
  envCheck('wsgi-environ-input', ['wsgi.environ.input.1'], 'wsgi.input is present (an object)', (t, e) => t.ok(e['wsgi.input'] !== undefined && typeof e['wsgi.input'] === 'object', 'wsgi.input', e['wsgi.input'])),
  envCheck('wsgi-environ-errors', ['wsgi.environ.errors.1'], 'wsgi.errors is present (an object)', (t, e) => t.ok(e['wsgi.errors'] !== undefined && typeof e['wsgi.errors'] === 'object', 'wsgi.errors', e['wsgi.errors'])),
  envCheck('wsgi-environ-flags', ['wsgi.environ.flags.1', 'wsgi.loading.blocking.2'], 'wsgi.multithread, wsgi.multiprocess and wsgi.run_once are booleans; run_once is false for a server', (t, e) => {
    for (const k of ['wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once']) t.eq(typeof e[k], 'boolean', `type of ${k}`);
    t.eq(e['wsgi.run_once'], false, 'wsgi.run_once');
  }),
  envCheck('wsgi-environ-input-terminated', ['wsgi.environ.input_terminated.1'], 'wsgi.input_terminated, when present, is a boolean', (t, e) => {
    const v = e['wsgi.input_terminated'];
    t.ok(v === undefined || typeof v === 'boolean', 'wsgi.input_terminated', v);
  }),
  envCheck('wsgi-environ-file-wrapper', ['wsgi.environ.file_wrapper.1'], 'wsgi.file_wrapper, when present, is callable', (t, e) => {
    const v = e['wsgi.file_wrapper'];
    t.ok(v === undefined || (typeof v === 'object' && v !== null), 'wsgi.file_wrapper', v);
  }),
  {
    id: 'wsgi-environ-remote-addr',
    clauses: ['wsgi.environ.cgi.3'],
    title: 'REMOTE_ADDR, when present, is the client\'s address',
    interfaces: [...WSGI],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/environ' }));
      const e = JSON.parse((await c.readResponse()).body.toString());
      if (e.REMOTE_ADDR === undefined) t.skip('REMOTE_ADDR not provided (optional)');
      t.eq(e.REMOTE_ADDR, c.socket.localAddress, 'REMOTE_ADDR');
    },
  },
  // ---- wsgi.input
  {
    id: 'wsgi-input-read-size',
    clauses: ['wsgi.input.read.1'],
    title: 'read(size) returns at most size bytes, in order, until the body ends',
    interfaces: [...WSGI],
    async run(t) {
      const r = await t.json({ method: 'POST', target: '/echo-size?size=4', body: 'abcdefghij' });
      t.eq(asBytes(r.body), 'abcdefghij', 'body read in pieces');
      t.ok(r.sizes.every((n: number) => n <= 4 && n > 0), 'every read(4) returned 1..4 bytes', r.sizes);
    },
  },
  {
    id: 'wsgi-input-never-past-length',
    clauses: ['wsgi.input.eof.1'],
    title: 'reading never returns bytes past CONTENT_LENGTH (a pipelined request stays intact)',
    interfaces: [...WSGI],
    async run(t) {
      const c = await t.connect();
      await c.write(Buffer.concat([t.serialize({ method: 'POST', target: '/echo-size?size=100', body: 'hello' }), t.serialize({ target: '/status?code=202' })]));
      const r = JSON.parse((await c.readResponse()).body.toString());
      t.eq(asBytes(r.body), 'hello', 'body');
      t.eq((await c.readResponse()).status, 202, 'status of the pipelined request');
    },
  },
  {
    id: 'wsgi-input-readline',
    clauses: ['wsgi.input.readline.1'],
    title: 'readline() returns one line at a time, LF included, then empty',
    interfaces: [...WSGI],
    async run(t) {
      const r = await t.json({ method: 'POST', target: '/echo-readline', body: FOOD });
      t.eq(r.lines.map(asBytes), ['line one\n', 'line two\n', '\n', 'last line without newline'], 'lines');
    },
  },
  {
    id: 'wsgi-input-readline-size',
    clauses: ['wsgi.input.readline.1'],
    title: 'readline(size) returns at most size bytes of the line',
    interfaces: [...WSGI],
    async run(t) {
      const r = await t.json({ method: 'POST', target: '/echo-readline?size=5', body: 'abcdefgh\nij\n' });
      t.eq(r.lines.map(asBytes).join(''), 'abcdefgh\nij\n', 'all bytes read');
      t.ok(r.lines.every((l: unknown) => (asBytes(l) ?? '').length <= 5), 'no piece longer than 5', r.lines.map(asBytes));
      t.eq(asBytes(r.lines[0]), 'abcde', 'first piece');
    },
  },
  {
    id: 'wsgi-input-readlines',
    clauses: ['wsgi.input.readlines.1'],
    title: 'readlines() returns every line',
    interfaces: [...WSGI],
    async run(t) {
      const r = await t.json({ method: 'POST', target: '/echo-readlines', body: FOOD });
      t.eq(r.lines.map(asBytes), ['line one\n', 'line two\n', '\n', 'last line without newline'], 'lines');
    },
  },
  {
    id: 'wsgi-input-iter',
    clauses: ['wsgi.input.iter.1'],
    title: 'iterating wsgi.input yields its lines',
    interfaces: [...WSGI],
    async run(t) {
      const r = await t.json({ method: 'POST', target: '/echo-iter', body: FOOD });
      t.eq(r.lines.map(asBytes), ['line one\n', 'line two\n', '\n', 'last line without newline'], 'lines');
    },
  },
  {
    id: 'wsgi-input-chunked-read',
    clauses: ['wsgi.input.chunked.1'],
    title: 'a chunked upload is read to its end by read(size) (no CONTENT_LENGTH)',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request({ method: 'POST', target: '/echo-size?size=7', body: 'chunked upload body', chunked: [4, 6] });
      t.eq(res.status, 200, 'status');
      t.eq(asBytes(JSON.parse(res.body.toString()).body), 'chunked upload body', 'body');
    },
  },
  // ---- start_response and the response
  {
    id: 'wsgi-status-reason',
    clauses: ['wsgi.start_response.status.2', 'wsgi.response.headers_sent.1', 'wsgi.server.passthrough.1'],
    title: 'the status code and reason phrase of start_response go out as the status line',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/status?code=299&reason=Custom%20Reason');
      t.eq([res.status, res.reason], [299, 'Custom Reason'], 'status and reason');
    },
  },
  {
    id: 'wsgi-write-callable',
    clauses: ['wsgi.start_response.return.1', 'wsgi.write.order.1', 'wsgi.write.headers.1'],
    title: 'data passed to write() goes out before the returned iterable\'s chunks',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/write');
      t.eq(res.body.toString(), 'written-1;written-2;iterated', 'body');
    },
  },
  {
    id: 'wsgi-late-start-response',
    clauses: ['wsgi.start_response.before_body.1', 'wsgi.response.headers_sent.1'],
    title: 'start_response called inside a generator, before its first chunk, works',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/late-start');
      t.eq([res.status, header(res.headers, 'x-late'), res.body.toString()], [200, 'yes', 'started late'], 'status, x-late, body');
    },
  },
  {
    id: 'wsgi-empty-first-chunk',
    clauses: ['wsgi.response.headers_sent.1', 'wsgi.response.chunk.2'],
    title: 'an empty first chunk does not end the response',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/generator-empty-first');
      t.eq(res.body.toString(), 'after-empty', 'body');
    },
  },
  {
    id: 'wsgi-exc-info-before-headers',
    clauses: ['wsgi.start_response.exc_info.2', 'wsgi.response.headers_sent.3'],
    title: 'start_response with exc_info before any body replaces the status and headers',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/exc-info');
      t.eq([res.status, res.body.toString()], [500, 'recovered'], 'status and body (the reason phrase is wsgi-status-reason\'s business)');
    },
  },
  {
    id: 'wsgi-exc-info-after-headers',
    clauses: ['wsgi.start_response.exc_info.4', 'wsgi.start_response.exc_info.1', 'wsgi.start_response.exc_info.3', 'wsgi.server.error.3'],
    title: 'start_response with exc_info after the body started re-raises, and the response is cut',
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ target: `/exc-info-after?token=${token}` }));
      let complete = false;
      try {
        await c.readResponse();
        complete = true;
      } catch {
        /* cut: as expected */
      }
      const r = await t.report(token, undefined, 'a report of start_response');
      t.eq(r.reraised, true, 'start_response re-raised');
      t.eq(r.same, true, 'the error start_response threw is the exc_info it was given');
      t.ok(!complete, 'the response must not complete normally');
    },
  },
  {
    id: 'wsgi-start-response-twice',
    clauses: ['wsgi.start_response.once.1'],
    title: 'a second start_response without exc_info raises',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/start-twice');
      if (res.status === 500) return;
      t.eq(JSON.parse(res.body.toString()).raised, true, 'start_response raised');
    },
  },
  {
    id: 'wsgi-hop-by-hop',
    clauses: ['wsgi.server.hop_by_hop.1', 'wsgi.start_response.headers.5'],
    title: 'a hop-by-hop header from the app (Keep-Alive) is refused, never sent as given',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/hop-by-hop');
      // The server may send a Keep-Alive of its own; the app's (a value no server picks) must not appear.
      t.ok(!headerValues(res.headers, 'keep-alive').some((v) => v.includes('timeout=77')), 'the app\'s Keep-Alive header must not reach the wire', header(res.headers, 'keep-alive'));
      if (res.status === 500) return;
      t.eq(JSON.parse(res.body.toString() || '{}').raised, true, 'start_response raised on the hop-by-hop header (it must not be dropped silently)');
    },
  },
  {
    id: 'wsgi-close-called',
    clauses: ['wsgi.response.close.1', 'wsgi.response.close.2'],
    title: 'close() of the response iterable is called exactly once after a normal response',
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      const res = await t.request(`/close?token=${token}`);
      t.eq(res.body.toString(), 'one;two;three', 'body');
      const r = await t.report(token, undefined, 'a close() report');
      await new Promise((resolve) => setTimeout(resolve, 100));
      const later = await t.report(token);
      t.eq([r.closes, later.closes, later.next_after_close], [1, 1, false], 'close() calls, and whether an item was asked for after close()');
    },
  },
  {
    id: 'wsgi-close-on-error',
    clauses: ['wsgi.response.close.1', 'wsgi.server.error.3'],
    title: 'close() is called when iteration raises',
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      await t.request(`/close-error?token=${token}`).catch(() => undefined);
      const r = await t.report(token, undefined, 'a close() report');
      t.eq(r.closes, 1, 'close() calls');
    },
  },
  {
    id: 'wsgi-close-on-disconnect',
    clauses: ['wsgi.response.close.1', 'wsgi.server.disconnect.1'],
    title: 'close() is called when the client goes away mid-response',
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ target: `/close-slow?token=${token}` }));
      await c.waitFor((b) => (b.length > 1000 ? true : null), t.target.timeoutMs, 'some of the body');
      c.destroy();
      const r = await t.report(token, undefined, 'a close() report');
      t.eq(r.closes, 1, 'close() calls');
    },
  },
  {
    id: 'wsgi-file-wrapper',
    clauses: ['wsgi.file_wrapper.result.1', 'wsgi.environ.file_wrapper.1'],
    title: 'a wsgi.file_wrapper response sends the whole file',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/file-wrapper');
      const { readFileSync } = await import('node:fs');
      const expected = readFileSync(new URL('../../apps/fixtures/file.txt', import.meta.url));
      t.ok(res.body.equals(expected), 'body equals the file', `${res.body.length} bytes`);
    },
  },
  {
    id: 'wsgi-errors-usable',
    clauses: ['wsgi.errors.write.1'],
    title: 'writing to wsgi.errors works and does not reach the client',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/errors');
      t.eq([res.status, res.body.toString()], [200, 'logged'], 'status and body');
    },
  },
  {
    id: 'wsgi-environ-plain-object',
    clauses: ['wsgi.environ.type.1', 'wsgi.app.callable.1'],
    title: 'the environ is a plain object (a dict) with string keys',
    interfaces: [...WSGI],
    async run(t) {
      const r = await t.json('/environ-meta');
      t.eq([r.plain, r.keys_are_str], [true, true], 'plain object, string keys');
    },
  },
  envCheck('wsgi-environ-extension-keys', ['wsgi.environ.extension.1'], 'keys the server adds contain a dot and do not invent wsgi.* names', (t, e) => {
    const known = new Set(['wsgi.version', 'wsgi.url_scheme', 'wsgi.input', 'wsgi.errors', 'wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once', 'wsgi.file_wrapper', 'wsgi.input_terminated']);
    const bad = Object.keys(e).filter((k) => (k.startsWith('wsgi.') && !known.has(k)) || (k !== k.toUpperCase() && !k.includes('.')));
    t.eq(bad, [], 'environ keys that are neither CGI keys nor dotted extension keys');
  }),
  ...([
    ['status-crlf', ['wsgi.start_response.status.3'], 'a status with CR LF'],
    ['header-name-space', ['wsgi.start_response.headers.3'], 'a header name with a space'],
    ['header-value-crlf', ['wsgi.start_response.headers.4'], 'a header value with CR LF'],
    ['two-content-length', ['wsgi.start_response.headers.6'], 'two Content-Length headers'],
  ] as const).map(([kind, clauses, what]): Check => ({
    id: `wsgi-start-response-${kind}`,
    clauses: [...clauses, 'wsgi.start_response.check.1'],
    title: `start_response refuses ${what} (raises in the app, nothing injected on the wire)`,
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      const res = await t.request(`/start-response-invalid?kind=${kind}&token=${token}`).catch(() => null);
      if (res) t.eq(header(res.headers, 'x-injected'), null, 'x-injected header');
      const r = await t.report(token, undefined, 'a report of start_response');
      t.eq(r.raised, true, 'start_response raised');
    },
  })),
  {
    id: 'wsgi-return-string',
    clauses: ['wsgi.app.return.2', 'wsgi.server.error.1'],
    title: 'an app that returns a string instead of an iterable of byte chunks gets a 500',
    interfaces: [...WSGI],
    async run(t) {
      const res = await t.request('/return-string').catch(() => null);
      t.ok(res !== null && res.status === 500, 'a 500 response', res && `${res.status} ${JSON.stringify(res.body.toString().slice(0, 60))}`);
    },
  },
  {
    id: 'wsgi-generator-finally-on-disconnect',
    clauses: ['wsgi.response.close.4', 'wsgi.server.disconnect.1'],
    title: 'a generator response is closed (its finally runs) when the client goes away mid-response',
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ target: `/close-generator?token=${token}` }));
      await c.waitFor((b) => (b.length > 1000 ? true : null), t.target.timeoutMs, 'some of the body');
      c.destroy();
      const r = await t.report(token, undefined, 'a report of the generator\'s finally');
      t.eq(r.finally, true, 'finally ran');
    },
  },
  {
    id: 'wsgi-input-short-body',
    clauses: ['wsgi.input.short.1'],
    title: 'a client leaving mid-body makes wsgi.input raise, not return a short body that looks complete',
    interfaces: [...WSGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(Buffer.concat([t.serialize({ method: 'POST', target: `/read-short?token=${token}`, headers: [['Content-Length', '100000']] }), Buffer.alloc(1000, 0x61)]));
      const started = await t.appStarted(token).then(() => true, () => false);
      c.destroy();
      if (!started) {
        // A server that reads whole bodies before calling the app never hands it a short one:
        // that conforms, as long as the app is not called after the client left.
        await new Promise((r) => setTimeout(r, 300));
        const late = await t.report(token, () => true, 'no report').catch(() => null);
        t.ok(late === null || late.raised !== false, 'the app must not get the short body as if it were complete', late);
        return;
      }
      const r = await t.report(token, (x) => x.raised !== undefined, 'a report of the read');
      t.eq(r.raised, true, 'read() raised');
    },
  },
];
