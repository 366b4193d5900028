/**
 * ASGI `http` scope, request and response events, disconnects, event
 * validation, the optional HTTP extensions and lifespan — as far as each can
 * be seen from a client talking to the ASGI conformance app.
 */
import type { Check, CheckContext } from '../check.js';
import { asBytes } from '../json-bytes.js';
import { header } from '../raw-http.js';

const ASGI = ['asgi'] as const;

/** The echoed scope of a request. */
async function scopeOf(t: CheckContext, target = '/scope', extra: { headers?: Array<[string, string]>; version?: string; method?: string } = {}): Promise<any> {
  const res = await t.request({ target, ...extra });
  t.eq(res.status, 200, `status of ${target}`);
  return JSON.parse(res.body.toString('utf8'));
}

/** Asserts a value is a tagged byte string and returns its latin-1 text. */
function bytesField(t: CheckContext, v: unknown, what: string): string {
  const b = asBytes(v);
  if (b === null) t.fail(`${what} must be a byte string ({"$bytes": ...}); got ${JSON.stringify(v)}`);
  return b;
}

function scopeCheck(id: string, clauses: string[], title: string, fn: (t: CheckContext, scope: any) => void | Promise<void>, target?: string): Check {
  return { id, clauses, title, interfaces: [...ASGI], async run(t) { await fn(t, await scopeOf(t, target)); } };
}

/**
 * An invalid event the app sends; the server must reject it with an exception
 * out of send(). The app records whether send() raised before it tries to
 * answer, so what the server does with the connection afterwards does not matter.
 */
function invalidEventCheck(kind: string, clauses: string[], title: string, requires?: Check['requires']): Check {
  return {
    id: `asgi-invalid-${kind}`,
    clauses,
    title,
    interfaces: [...ASGI],
    ...(requires === undefined ? {} : { requires }),
    async run(t) {
      const token = t.token();
      await t.request(`/invalid?kind=${kind}&token=${token}`).catch(() => null);
      const r = await t.report(token, undefined, 'a report of send()');
      t.eq(r.raised, true, 'send() raised on the invalid event');
    },
  };
}

export const asgiHttpChecks: Check[] = [
  scopeCheck('asgi-scope-type', ['asgi.http.scope.1', 'asgi.scope.type.1'], 'scope["type"] is "http"', (t, s) => t.eq(s.type, 'http', 'type')),
  scopeCheck('asgi-scope-asgi-version', ['asgi.scope.asgi.1'], 'scope["asgi"]["version"] is "3.0"', (t, s) => t.eq(s.asgi?.version, '3.0', 'asgi.version')),
  scopeCheck('asgi-scope-spec-version', ['asgi.http.scope.2'], 'scope["asgi"]["spec_version"] is absent or a "2.x" string', (t, s) => {
    const v = s.asgi?.spec_version;
    t.ok(v === undefined || (typeof v === 'string' && /^2\.\d+$/.test(v)), 'asgi.spec_version', v);
  }),
  scopeCheck('asgi-scope-http-version', ['asgi.http.scope.3'], 'http_version is "1.1" for an HTTP/1.1 request', (t, s) => t.eq(s.http_version, '1.1', 'http_version')),
  {
    id: 'asgi-scope-http-version-10',
    clauses: ['asgi.http.scope.3'],
    title: 'http_version is "1.0" for an HTTP/1.0 request',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t, '/scope', { version: 'HTTP/1.0' });
      t.eq(s.http_version, '1.0', 'http_version');
    },
  },
  scopeCheck('asgi-scope-method', ['asgi.http.scope.4'], 'method is the upper-case method as sent', (t, s) => t.eq(s.method, 'GET', 'method')),
  ...['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m): Check => ({
    id: `asgi-scope-method-${m.toLowerCase()}`,
    clauses: ['asgi.http.scope.4'],
    title: `method ${m} reaches the app as "${m}"`,
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t, '/scope', { method: m });
      t.eq(s.method, m, 'method');
    },
  })),
  scopeCheck('asgi-scope-scheme', ['asgi.http.scope.5'], 'scheme is "http" on a plain connection', (t, s) => t.ok(s.scheme === undefined || s.scheme === 'http', 'scheme', s.scheme)),
  scopeCheck('asgi-scope-path-str', ['asgi.http.scope.6'], 'path is a text string', (t, s) => t.eq(typeof s.path, 'string', 'type of path')),
  scopeCheck('asgi-scope-path-decoded', ['asgi.http.scope.6'], 'path is percent-decoded and read as UTF-8', (t, s) => t.eq(s.path, '/scope/a b/\u00e9', 'path'), '/scope/a%20b/%C3%A9'),
  scopeCheck('asgi-scope-path-no-query', ['asgi.http.scope.6'], 'path does not contain the query string', (t, s) => t.eq(s.path, '/scope', 'path'), '/scope?x=1'),
  scopeCheck('asgi-scope-raw-path', ['asgi.http.scope.7'], 'raw_path is the path exactly as sent, as bytes, without the query', (t, s) => {
    if (s.raw_path === null || s.raw_path === undefined) t.skip('raw_path not provided (optional)');
    t.eq(bytesField(t, s.raw_path, 'raw_path'), '/scope/a%20b/%C3%A9', 'raw_path');
  }, '/scope/a%20b/%C3%A9?q=1'),
  scopeCheck('asgi-scope-query-string', ['asgi.http.scope.8'], 'query_string is the bytes after "?", exactly as sent', (t, s) => {
    t.eq(bytesField(t, s.query_string, 'query_string'), 'a=1&b=%20x&c', 'query_string');
  }, '/scope?a=1&b=%20x&c'),
  scopeCheck('asgi-scope-query-string-empty', ['asgi.http.scope.8'], 'query_string is empty bytes when the target has no "?"', (t, s) => {
    t.eq(bytesField(t, s.query_string, 'query_string'), '', 'query_string');
  }),
  scopeCheck('asgi-scope-query-string-raw', ['asgi.http.scope.8'], 'query_string keeps percent-escapes and "+" undecoded', (t, s) => {
    t.eq(bytesField(t, s.query_string, 'query_string'), 'q=%C3%A9+%2B', 'query_string');
  }, '/scope?q=%C3%A9+%2B'),
  scopeCheck('asgi-scope-root-path', ['asgi.http.scope.9', 'asgi.http.path.1'], 'root_path is a string, "" when not mounted, and path starts with it', (t, s) => {
    t.ok(s.root_path === undefined || s.root_path === '', 'root_path', s.root_path);
    t.ok(typeof s.path === 'string' && s.path.startsWith(s.root_path ?? ''), 'path starts with root_path', [s.path, s.root_path]);
  }),
  scopeCheck('asgi-scope-headers-shape', ['asgi.http.scope.10'], 'headers is a list of [name, value] byte-string pairs', (t, s) => {
    t.ok(Array.isArray(s.headers), 'headers must be a list', s.headers);
    for (const h of s.headers) {
      t.ok(Array.isArray(h) && h.length === 2, 'each header is a pair', h);
      bytesField(t, h[0], 'header name');
      bytesField(t, h[1], 'header value');
    }
  }),
  {
    id: 'asgi-scope-headers-lowercase',
    clauses: ['asgi.http.scope.10'],
    title: 'header names are lower-cased',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t, '/scope', { headers: [['X-MiXeD-CaSe', 'Value-Kept']] });
      const names = s.headers.map((h: unknown[]) => asBytes(h[0]));
      t.ok(names.includes('x-mixed-case'), 'lower-cased name present', names);
      t.ok(names.every((n: string | null) => n === n?.toLowerCase()), 'all names lower-case', names);
    },
  },
  {
    id: 'asgi-scope-headers-values-exact',
    clauses: ['asgi.http.scope.10'],
    title: 'header values are byte-exact (case, inner spaces and a 0xE9 byte kept)',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t, '/scope', { headers: [['X-Value', 'Mixed  Case caf\u00e9']] });
      const h = s.headers.find((p: unknown[]) => asBytes(p[0]) === 'x-value');
      t.ok(h, 'x-value header present', s.headers);
      t.eq(asBytes(h[1]), 'Mixed  Case caf\u00e9', 'x-value');
    },
  },
  {
    id: 'asgi-scope-headers-order-dups',
    clauses: ['asgi.http.scope.10'],
    title: 'repeated request headers are kept as separate entries, in order',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t, '/scope', { headers: [['X-Rep', 'first'], ['X-Other', 'mid'], ['X-Rep', 'second']] });
      const reps = s.headers.filter((p: unknown[]) => asBytes(p[0]) === 'x-rep').map((p: unknown[]) => asBytes(p[1]));
      t.eq(reps, ['first', 'second'], 'x-rep values');
    },
  },
  {
    id: 'asgi-scope-headers-host',
    clauses: ['asgi.http.scope.10'],
    title: 'the Host header is among the scope headers',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t);
      t.ok(s.headers.some((p: unknown[]) => asBytes(p[0]) === 'host'), 'host header present', s.headers);
    },
  },
  {
    id: 'asgi-scope-client',
    clauses: ['asgi.http.scope.11'],
    title: 'client is [host, port] of the connecting socket (or absent)',
    interfaces: [...ASGI],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/scope' }));
      const s = JSON.parse((await c.readResponse()).body.toString());
      if (s.client === null || s.client === undefined) t.skip('client not provided (optional)');
      t.eq(s.client, [c.socket.localAddress, c.socket.localPort], 'client');
    },
  },
  {
    id: 'asgi-scope-server',
    clauses: ['asgi.http.scope.12'],
    title: 'server is [host, port] the request came in on (or absent)',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t);
      if (s.server === null || s.server === undefined) t.skip('server not provided (optional)');
      t.ok(Array.isArray(s.server) && s.server.length === 2 && typeof s.server[0] === 'string', 'server is [host, port]', s.server);
      t.eq(s.server[1], t.target.port, 'server port');
    },
  },
  {
    id: 'asgi-scope-extensions-shape',
    clauses: ['asgi.scope.extensions.1', 'asgi.http.scope.14'],
    title: 'extensions, when present, is a dict of dicts',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t);
      if (s.extensions === undefined || s.extensions === null) return;
      t.ok(typeof s.extensions === 'object' && !Array.isArray(s.extensions), 'extensions is a dict', s.extensions);
      for (const [k, v] of Object.entries(s.extensions)) t.ok(typeof v === 'object' && v !== null, `extensions["${k}"] is a dict`, v);
    },
  },
  {
    id: 'asgi-scope-fresh-per-request',
    clauses: ['asgi.http.scope.1'],
    title: 'each request gets its own scope (a second request sees its own path and headers)',
    interfaces: [...ASGI],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/scope/one', headers: [['X-N', '1']] }));
      const a = JSON.parse((await c.readResponse()).body.toString());
      await c.write(t.serialize({ target: '/scope/two', headers: [['X-N', '2']] }));
      const b = JSON.parse((await c.readResponse()).body.toString());
      t.eq([a.path, b.path], ['/scope/one', '/scope/two'], 'paths');
      const xn = (s: any) => asBytes(s.headers.find((p: unknown[]) => asBytes(p[0]) === 'x-n')?.[1]);
      t.eq([xn(a), xn(b)], ['1', '2'], 'x-n header of each scope');
    },
  },
  // ---- request events
  {
    id: 'asgi-request-event-shape',
    clauses: ['asgi.http.request.1', 'asgi.http.request.2', 'asgi.events.type.1', 'asgi.events.type.3'],
    title: 'a body arrives as http.request events with bytes "body" and a final more_body=False',
    interfaces: [...ASGI],
    async run(t) {
      const r = await t.json({ method: 'POST', target: '/events', body: 'hello events' });
      t.ok(r.events.length >= 1, 'at least one event', r.events);
      for (const e of r.events) {
        t.eq(e.type, 'http.request', 'event type');
        t.ok(e.body_type === 'bytes' || e.body_type === 'Uint8Array' || e.body_type === 'Buffer', 'body is bytes', e.body_type);
      }
      t.eq(r.events.at(-1).more_body, false, 'more_body of the last event');
      t.eq(asBytes(r.body), 'hello events', 'the concatenated body');
    },
  },
  {
    id: 'asgi-request-empty-body',
    clauses: ['asgi.http.request.3'],
    title: 'a request without a body gives one http.request with empty body and more_body False',
    interfaces: [...ASGI],
    async run(t) {
      const r = await t.json({ target: '/events' });
      t.eq(r.events.map((e: any) => [e.type, e.body_len, e.more_body === true]), [['http.request', 0, false]], 'events');
    },
  },
  {
    id: 'asgi-request-chunked-stream',
    clauses: ['asgi.http.request.2', 'asgi.http.request.3'],
    title: 'a chunked body sent in pauses arrives whole, more_body True on every event but the last',
    interfaces: [...ASGI],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ method: 'POST', target: '/events', headers: [['Transfer-Encoding', 'chunked']] }));
      for (const part of ['aaa', 'bbbb', 'cc']) {
        await c.write(`${part.length.toString(16)}\r\n${part}\r\n`);
        await new Promise((r) => setTimeout(r, 150));
      }
      await c.write('0\r\n\r\n');
      const r = JSON.parse((await c.readResponse()).body.toString());
      t.eq(asBytes(r.body), 'aaabbbbcc', 'body');
      // One event or several both conform; what matters is that more_body marks the last one.
      const mores = r.events.map((e: any) => e.more_body === true);
      t.eq(mores.slice(0, -1).every(Boolean) && mores.at(-1) === false, true, 'more_body True on all but the last event');
    },
  },
  {
    id: 'asgi-disconnect-event',
    clauses: ['asgi.http.disconnect.1'],
    title: 'when the client goes away, receive() returns http.disconnect',
    interfaces: [...ASGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ method: 'POST', target: `/disconnect?token=${token}`, body: 'abc' }));
      await t.appStarted(token);
      c.destroy();
      const r = await t.report(token, (x) => x.event !== undefined, 'a report of http.disconnect');
      t.eq(r.event, 'http.disconnect', 'event after the client left');
    },
  },
  {
    id: 'asgi-disconnect-mid-body',
    clauses: ['asgi.http.disconnect.1', 'asgi.server.bad_request.2'],
    title: 'a client that leaves mid-upload turns into http.disconnect',
    interfaces: [...ASGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ method: 'POST', target: `/disconnect?token=${token}`, headers: [['Content-Length', '100000']] }));
      await c.write('x'.repeat(1000));
      await t.appStarted(token);
      c.destroy();
      const r = await t.report(token, (x) => x.event !== undefined, 'a report of http.disconnect');
      t.eq(r.event, 'http.disconnect', 'event after the client left mid-body');
    },
  },
  {
    id: 'asgi-receive-after-response',
    clauses: ['asgi.http.disconnect.2'],
    title: 'receive() after the response is complete returns http.disconnect once the client closes',
    interfaces: [...ASGI],
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ target: `/receive-after?token=${token}` }));
      t.eq((await c.readResponse()).body.toString(), 'done', 'body');
      c.destroy();
      const r = await t.report(token, undefined, 'a report of the event');
      t.eq(r.event, 'http.disconnect', 'event');
    },
  },
  {
    id: 'asgi-send-after-disconnect',
    clauses: ['asgi.http.disconnect.3'],
    title: 'send() after the client disconnected raises (spec_version 2.4)',
    interfaces: [...ASGI],
    requires: 'spec:http:2.4',
    async run(t) {
      const token = t.token();
      const c = await t.connect();
      await c.write(t.serialize({ target: `/send-after-disconnect?token=${token}` }));
      await t.appStarted(token);
      c.destroy();
      const r = await t.report(token, (x) => x.raised !== undefined, 'a report of send()');
      t.eq(r.raised, true, 'send() raised after the disconnect');
    },
  },
  // ---- response events the app gets wrong
  invalidEventCheck('status-str', ['asgi.http.start.1', 'asgi.app.call.4'], 'http.response.start with a string status is rejected'),
  invalidEventCheck('status-range', ['asgi.http.start.2', 'asgi.app.call.4'], 'http.response.start with status 1000 is rejected'),
  invalidEventCheck('header-name-str', ['asgi.events.headers.1', 'asgi.http.start.3'], 'a response header that is not a byte string is rejected'),
  invalidEventCheck('header-value-crlf', ['asgi.events.headers.1'], 'a response header value containing CR LF is rejected (no header injection)'),
  invalidEventCheck('unknown-type', ['asgi.events.type.2', 'asgi.errors.protocol.1'], 'an event of unknown type is rejected'),
  invalidEventCheck('body-before-start', ['asgi.http.order.1'], 'http.response.body before http.response.start is rejected'),
  invalidEventCheck('start-twice', ['asgi.http.order.2'], 'a second http.response.start is rejected'),
  invalidEventCheck('body-str', ['asgi.app.call.4'], 'a body that is text instead of bytes is rejected'),
  {
    id: 'asgi-invalid-header-injection-wire',
    clauses: ['asgi.events.headers.1'],
    title: 'a CR LF in a header value never produces an extra header on the wire',
    interfaces: [...ASGI],
    async run(t) {
      const res = await t.request('/invalid?kind=header-value-crlf').catch(() => null);
      if (res === null) return; // connection closed without a response: nothing was injected
      t.eq(header(res.headers, 'x-injected'), null, 'x-injected header');
    },
  },
  {
    id: 'asgi-invalid-after-complete',
    clauses: ['asgi.http.order.3'],
    title: 'a body event after the final body is rejected',
    interfaces: [...ASGI],
    async run(t) {
      const token = t.token();
      const res = await t.request(`/invalid?kind=after-complete&token=${token}`);
      t.eq(res.body.toString(), 'complete', 'body of the completed response');
      const r = await t.report(token, undefined, 'a report of the late send()');
      t.eq(r.raised, true, 'send() raised');
    },
  },
  // ---- extensions
  {
    id: 'asgi-ext-pathsend',
    clauses: ['asgi.ext.pathsend.1', 'asgi.ext.pathsend.2', 'asgi.ext.pathsend.3'],
    title: 'http.response.pathsend sends the file as the body',
    interfaces: [...ASGI],
    requires: 'ext:http.response.pathsend',
    async run(t) {
      const res = await t.request('/pathsend');
      t.eq(res.status, 200, 'status');
      const { readFileSync } = await import('node:fs');
      const expected = readFileSync(new URL('../../apps/fixtures/file.txt', import.meta.url));
      t.ok(res.body.equals(expected), 'body equals the file', `${res.body.length} bytes`);
    },
  },
  {
    id: 'asgi-ext-trailers',
    clauses: ['asgi.ext.trailers.1', 'asgi.ext.trailers.2', 'asgi.ext.trailers.3', 'asgi.ext.trailers.4', 'asgi.ext.trailers.5', 'asgi.http.start.7'],
    title: 'http.response.trailers are sent as chunked trailers',
    interfaces: [...ASGI],
    requires: 'ext:http.response.trailers',
    async run(t) {
      const res = await t.request({ target: '/trailers', headers: [['TE', 'trailers']] });
      t.eq(res.body.toString(), 'with trailers', 'body');
      t.eq(header(res.trailers, 'x-checksum'), 'abc', 'trailer');
    },
  },
  {
    id: 'asgi-ext-reason-phrase',
    clauses: ['asgi.ext.reason_phrase.1', 'asgi.ext.reason_phrase.3'],
    title: 'http.response.start\'s reason_phrase goes out as the status line\'s reason phrase, latin-1 bytes included',
    interfaces: [...ASGI],
    requires: 'ext:http.response.reason_phrase',
    async run(t) {
      const res = await t.request('/reason-phrase?reason=Custom%20Reason%20%C3%A9');
      t.eq([res.status, res.reason, res.body.toString()], [299, 'Custom Reason \u00e9', 'ok'], 'status, reason (as latin-1) and body');
    },
  },
  invalidEventCheck(
    'reason-phrase-crlf',
    ['asgi.ext.reason_phrase.2'],
    'a reason_phrase with CR/LF in http.response.start is rejected',
    'ext:http.response.reason_phrase',
  ),
  {
    id: 'asgi-ext-early-hint',
    clauses: ['asgi.ext.early_hint.1', 'asgi.ext.early_hint.2', 'asgi.ext.early_hint.3', 'asgi.ext.early_hint.4'],
    title: 'http.response.early_hint becomes a 103 interim response with the Link headers',
    interfaces: [...ASGI],
    requires: 'ext:http.response.early_hint',
    async run(t) {
      const res = await t.request('/early-hint');
      t.eq(res.status, 200, 'final status');
      t.eq(res.interim.map((r) => [r.status, header(r.headers, 'link')]), [[103, '</style.css>; rel=preload; as=style']], 'interim responses');
    },
  },
  // ---- lifespan
  {
    id: 'asgi-lifespan-startup',
    clauses: ['asgi.lifespan.startup.1', 'asgi.lifespan.startup.2', 'asgi.lifespan.order.2', 'asgi.lifespan.scope.3'],
    title: 'lifespan.startup was delivered before the first request',
    interfaces: [...ASGI],
    requires: 'lifespan',
    async run(t) {
      const r = await t.json('/lifespan');
      t.eq(r.events, ['lifespan.startup'], 'lifespan events while serving (startup once, no shutdown yet)');
    },
  },
  {
    id: 'asgi-lifespan-scope',
    clauses: ['asgi.lifespan.scope.1'],
    title: 'the lifespan scope carries asgi.version "3.0"',
    interfaces: [...ASGI],
    requires: 'lifespan',
    async run(t) {
      const r = await t.json('/lifespan');
      t.eq(r.asgi?.version, '3.0', 'lifespan scope asgi.version');
    },
  },
  {
    id: 'asgi-lifespan-state-copied',
    clauses: ['asgi.lifespan.state.1', 'asgi.http.scope.13', 'asgi.scope.state.1'],
    title: 'state set during startup appears in each request scope',
    interfaces: [...ASGI],
    requires: 'lifespan-state',
    async run(t) {
      const s = await scopeOf(t);
      t.eq(s.state?.conformance, 'lifespan-state', 'scope.state.conformance');
    },
  },
  {
    id: 'asgi-lifespan-state-shallow',
    clauses: ['asgi.lifespan.state.2'],
    title: 'state is copied per request: a key one request adds is not seen by the next',
    interfaces: [...ASGI],
    requires: 'lifespan-state',
    async run(t) {
      const mutated = await t.json('/state-mutate');
      t.eq(mutated.mutated, true, 'the request saw its own change');
      const s = await scopeOf(t);
      t.eq(s.state?.mutated, undefined, 'state.mutated in the next request');
    },
  },
  {
    id: 'asgi-lifespan-state-empty',
    clauses: ['asgi.lifespan.scope.2'],
    title: 'the lifespan state starts as an empty object',
    interfaces: [...ASGI],
    requires: 'lifespan-state',
    async run(t) {
      const r = await t.json('/lifespan');
      t.eq(r.state_keys_at_startup, [], 'keys of the state when startup began');
    },
  },
  {
    id: 'asgi-start-held-until-body',
    clauses: ['asgi.http.start.4', 'asgi.app.return.1'],
    title: 'the status line waits for the first body event: an app that fails in between still gets a 500',
    interfaces: [...ASGI],
    async run(t) {
      const res = await t.request('/start-then-raise');
      t.eq(res.status, 500, 'status');
    },
  },
  {
    id: 'asgi-100-continue-only-when-read',
    clauses: ['asgi.http.request.5'],
    title: 'no 100 Continue goes out when the app answers without reading the body',
    interfaces: [...ASGI],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ method: 'POST', target: '/ignore-body', headers: [['Expect', '100-continue'], ['Content-Length', '5']] }));
      const res = await c.readResponse();
      t.eq([res.interim.map((r) => r.status), res.status], [[], 200], 'interim responses and status');
    },
  },
  {
    id: 'asgi-extra-event-keys',
    clauses: ['asgi.events.keys.1'],
    title: 'unknown keys in an app\'s events are ignored',
    interfaces: [...ASGI],
    async run(t) {
      const res = await t.request('/extra-keys');
      t.eq([res.status, res.body.toString()], [200, 'ok'], 'status and body');
    },
  },
  invalidEventCheck('debug-unannounced', ['asgi.ext.announce.1', 'asgi.ext.debug.1', 'asgi.ext.debug.2'], 'an extension event the server did not announce (http.response.debug) is rejected'),
  {
    id: 'asgi-ext-pathsend-missing-file',
    clauses: ['asgi.ext.pathsend.4'],
    title: 'pathsend of a file that does not exist gives a 500, not a hang',
    interfaces: [...ASGI],
    requires: 'ext:http.response.pathsend',
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/pathsend-missing' }));
      const res = await c.readResponse().catch(() => null);
      if (res === null) {
        t.ok(c.peerClosed, 'the connection is aborted');
        return;
      }
      t.eq(res.status, 500, 'status');
    },
  },
  {
    id: 'asgi-ext-zerocopysend',
    clauses: ['asgi.ext.zerocopysend.1', 'asgi.ext.zerocopysend.2', 'asgi.ext.zerocopysend.3'],
    title: 'http.response.zerocopysend sends count bytes of the file from offset, mixed with body events',
    interfaces: [...ASGI],
    requires: 'ext:http.response.zerocopysend',
    async run(t) {
      const res = await t.request('/zerocopysend');
      const { readFileSync } = await import('node:fs');
      const file = readFileSync(new URL('../../apps/fixtures/file.txt', import.meta.url));
      t.eq(res.body.toString('latin1'), '0123456789' + file.subarray(0, 10).toString('latin1'), 'body');
    },
  },
  {
    id: 'asgi-ext-tls-absent',
    clauses: ['asgi.ext.tls.1', 'asgi.ext.tls.3'],
    title: 'the tls extension is not announced on a plain TCP connection',
    interfaces: [...ASGI],
    async run(t) {
      const s = await scopeOf(t);
      t.ok(!(s.extensions && 'tls' in s.extensions), 'no tls extension on a plain connection', s.extensions);
    },
  },
  {
    id: 'asgi-lifespan-shutdown',
    clauses: ['asgi.lifespan.shutdown.1', 'asgi.lifespan.shutdown.2', 'asgi.lifespan.order.1'],
    title: 'on SIGTERM the server delivers lifespan.shutdown and waits for the app\'s answer before it exits',
    interfaces: [...ASGI],
    requires: 'lifespan',
    afterStop: true,
    async run(t) {
      const { readFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      let text: string | null = null;
      try {
        text = readFileSync(join(t.target.stateDir!, `${t.target.shutdownToken}.json`), 'utf8');
      } catch {
        /* not recorded */
      }
      t.ok(text !== null && JSON.parse(text).shutdown === true, 'the app recorded lifespan.shutdown before the server exited', text);
    },
  },
  {
    id: 'asgi-upper-case-header-name',
    clauses: ['asgi.events.headers.3'],
    title: 'an upper-case response header name from the app does not fail the response',
    interfaces: [...ASGI],
    async run(t) {
      const res = await t.request('/upper-header');
      t.eq([res.status, header(res.headers, 'x-upper-case'), res.body.toString()], [200, 'kept', 'ok'], 'status, header and body');
    },
  },
];
