/**
 * HTTP/1.1 on the wire, for both interfaces: response framing, keep-alive,
 * pipelining, request bodies in every framing, HEAD and bodiless statuses,
 * the app's Content-Length, and how errors reach (or do not reach) the client.
 * Every check here runs against the ASGI and the WSGI conformance app; each
 * cites the clause of spec/asgi.md and of spec/wsgi.md that it verifies.
 */
import type { Check, CheckContext } from '../check.js';
import { header, headerValues, FramingError, TimeoutError, type RawResponse } from '../raw-http.js';

const BOTH = ['asgi', 'wsgi'] as const;

/** Reads one response, or null when the server closed the connection instead. */
async function responseOrClose(t: CheckContext, conn: Awaited<ReturnType<CheckContext['connect']>>, method = 'GET'): Promise<RawResponse | null> {
  try {
    return await conn.readResponse({ method, timeoutMs: t.target.timeoutMs });
  } catch (e) {
    if (e instanceof FramingError && conn.peerClosed) return null;
    throw e;
  }
}

/**
 * After a response on connection `c`, checks that the connection carries
 * nothing more than that response: either a following request gets its own
 * answer, or, when the server announced `Connection: close`, the connection
 * ends without another byte.
 */
async function assertCleanAfter(t: CheckContext, c: Awaited<ReturnType<CheckContext['connect']>>, res: RawResponse): Promise<void> {
  if ((header(res.headers, 'connection') ?? '').toLowerCase().includes('close')) {
    t.ok(await c.waitClosed(), 'the server announced Connection: close, so it closes');
    t.eq(c.buffered.toString('latin1'), '', 'bytes after the response');
    return;
  }
  await c.write(t.serialize({ target: '/status?code=201' }));
  const next = await c.readResponse();
  t.eq([next.status, next.body.toString()], [201, 'status 201'], 'the next response on the connection');
}

/** Asserts that a response is a bare error page: status 500 and nothing of the app's exception. */
function assertOpaque500(t: CheckContext, res: RawResponse): void {
  t.eq(res.status, 500, 'status');
  const text = res.body.toString('latin1') + res.rawHead;
  t.ok(!/SECRET-TRACE|Traceback|RuntimeError|raised before|at .*\(.*:\d+:\d+\)/.test(text), 'the error response must not reveal the exception', text.slice(0, 300));
}

const STATUS_CASES: Array<[number, string]> = [
  [201, 'a 201 status reaches the client'],
  [404, 'a 404 status from the app reaches the client unchanged'],
  [418, 'an uncommon status (418) reaches the client unchanged'],
  [503, 'a 503 status from the app reaches the client unchanged'],
];

export const httpWireChecks: Check[] = [
  {
    id: 'http-basic-get',
    title: 'a GET gets the app\'s status, headers and body',
    clauses: ['asgi.http.start.1', 'asgi.http.body.1', 'asgi.http.body.2', 'wsgi.start_response.status.1', 'wsgi.response.chunk.1', 'wsgi.app.call.1', 'wsgi.app.return.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/head');
      t.eq(res.status, 200, 'status');
      t.eq(res.body.toString('latin1'), 'hello world', 'body');
      t.eq(header(res.headers, 'content-type'), 'text/plain', 'content-type');
    },
  },
  {
    id: 'http-status-line',
    title: 'the status line is "HTTP/1.1 <3 digits> <reason>" for an HTTP/1.1 request',
    clauses: ['asgi.http.start.1', 'wsgi.start_response.status.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/head');
      t.ok(/^HTTP\/1\.1 200( [^\r\n]*)?$/.test(res.rawHead.split('\r\n')[0]!), 'status line', res.rawHead.split('\r\n')[0]);
    },
  },
  ...STATUS_CASES.map(([code, title]): Check => ({
    id: `http-status-${code}`,
    title,
    clauses: ['asgi.http.start.1', 'asgi.http.start.2', 'wsgi.start_response.status.1', 'wsgi.start_response.status.2', 'wsgi.server.passthrough.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request(`/status?code=${code}`);
      t.eq(res.status, code, 'status');
      t.eq(res.body.toString(), `status ${code}`, 'body');
    },
  })),
  {
    id: 'http-status-204-no-body',
    title: 'a 204 response carries no body and the connection stays usable',
    clauses: ['asgi.http.body.3', 'wsgi.response.no_body.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/status?code=204' }));
      const res = await c.readResponse();
      t.eq(res.status, 204, 'status');
      t.eq(headerValues(res.headers, 'transfer-encoding'), [], 'Transfer-Encoding on a 204');
      await assertCleanAfter(t, c, res);
    },
  },
  {
    id: 'http-status-304-no-body',
    title: 'a 304 response carries no body and the connection stays usable',
    clauses: ['asgi.http.body.3', 'wsgi.response.no_body.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/status?code=304' }));
      const res = await c.readResponse();
      t.eq(res.status, 304, 'status');
      await assertCleanAfter(t, c, res);
    },
  },
  {
    id: 'http-head-no-body',
    title: 'HEAD gets the GET headers and no body bytes (the next response parses cleanly)',
    clauses: ['asgi.http.body.3', 'wsgi.response.head.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ method: 'HEAD', target: '/head' }));
      const res = await c.readResponse({ method: 'HEAD' });
      t.eq(res.status, 200, 'status');
      const cl = header(res.headers, 'content-length');
      t.ok(cl === null || cl === '11', 'Content-Length of a HEAD response is absent or the GET length', cl);
      await assertCleanAfter(t, c, res);
    },
  },
  {
    id: 'http-keepalive-reuse',
    title: 'an HTTP/1.1 connection serves a second request (keep-alive by default)',
    clauses: ['asgi.http.connection.1', 'wsgi.server.keepalive.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      for (const code of [201, 202]) {
        await c.write(t.serialize({ target: `/status?code=${code}` }));
        const res = await c.readResponse();
        t.eq(res.status, code, `status of request ${code - 200}`);
      }
    },
  },
  {
    id: 'http-keepalive-many',
    title: '50 sequential requests on one connection all get their own answer',
    clauses: ['asgi.http.connection.1', 'wsgi.server.keepalive.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      for (let i = 0; i < 50; i++) {
        const body = `req-${i}`;
        await c.write(t.serialize({ method: 'POST', target: '/echo', body }));
        const res = await c.readResponse();
        t.eq(res.body.toString(), body, `body of request ${i}`);
      }
    },
  },
  {
    id: 'http-pipelining',
    title: 'pipelined requests are answered in order',
    clauses: ['asgi.http.connection.2', 'wsgi.server.keepalive.2'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(Buffer.concat([201, 202, 203].map((code) => t.serialize({ target: `/status?code=${code}` }))));
      for (const code of [201, 202, 203]) {
        const res = await c.readResponse();
        t.eq(res.status, code, 'status of the pipelined response');
      }
    },
  },
  {
    id: 'http-pipelining-bodies',
    title: 'pipelined POSTs with bodies are each answered with their own body',
    clauses: ['asgi.http.connection.2', 'asgi.http.request.1', 'wsgi.server.keepalive.2', 'wsgi.input.read.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      const bodies = ['first body', 'second', 'third and last'];
      await c.write(Buffer.concat(bodies.map((body) => t.serialize({ method: 'POST', target: '/echo', body }))));
      for (const b of bodies) t.eq((await c.readResponse()).body.toString(), b, 'echoed body');
    },
  },
  {
    // The two checks above pass on a server that finishes each response before it parses the
    // next request of the same read; real apps wait on I/O (a database, an upstream) before
    // answering, so the pipelined requests arrive while a response is still pending.
    id: 'http-pipelining-io-wait',
    title: 'pipelined requests behind a response that waits on I/O (50 ms) are answered in order',
    clauses: ['asgi.http.connection.2', 'wsgi.server.keepalive.2'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      const requests: Array<[string, string]> = [['/slow-then-echo?ms=50', 'first, slow'], ['/echo', 'second'], ['/slow-then-echo?ms=50', 'third, slow']];
      await c.write(Buffer.concat(requests.map(([target, body]) => t.serialize({ method: 'POST', target, body }))));
      for (const [, body] of requests) {
        const res = await responseOrClose(t, c);
        t.ok(res !== null, `the server closed the connection without answering the pipelined request "${body}"`);
        t.eq(res!.body.toString(), body, 'echoed body, in request order');
      }
    },
  },
  {
    id: 'http-connection-close',
    title: '"Connection: close" from the client: the server answers, then closes',
    clauses: ['asgi.http.connection.3', 'wsgi.server.keepalive.3'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/head', headers: [['Connection', 'close']] }));
      const res = await c.readResponse();
      t.eq(res.status, 200, 'status');
      t.ok(await c.waitClosed(), 'the server closes the connection after the response');
    },
  },
  {
    id: 'http-10-close',
    title: 'an HTTP/1.0 request without keep-alive gets a response and then the connection closes',
    clauses: ['asgi.http.scope.3', 'wsgi.environ.cgi.6'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/head', version: 'HTTP/1.0' }));
      const res = await c.readResponse();
      t.eq(res.status, 200, 'status');
      t.eq(res.body.toString(), 'hello world', 'body');
      t.ok(await c.waitClosed(), 'the server closes the HTTP/1.0 connection');
    },
  },
  {
    id: 'http-10-no-chunked',
    title: 'a streamed response to an HTTP/1.0 request is not chunked (1.0 has no chunked coding)',
    clauses: ['asgi.http.body.5', 'wsgi.response.content_length.3'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request({ target: '/stream?n=3&size=4', version: 'HTTP/1.0' });
      t.ok(res.framing !== 'chunked', 'framing of the HTTP/1.0 response', res.framing);
      t.eq(res.body.toString(), 'aaaabbbbcccc', 'body');
    },
  },
  {
    id: 'http-chunked-when-no-length',
    title: 'a streamed response without Content-Length is sent chunked on HTTP/1.1',
    clauses: ['asgi.http.body.5', 'wsgi.response.content_length.3'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/stream?n=3&size=4');
      t.eq(res.framing, 'chunked', 'framing');
      t.eq(res.body.toString(), 'aaaabbbbcccc', 'body');
    },
  },
  {
    id: 'http-streaming-progressive',
    title: 'streamed chunks reach the client as they are produced, not all at the end',
    clauses: ['asgi.http.body.2', 'wsgi.response.stream.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/stream?n=4&size=4&delay=250' }));
      const t0 = Date.now();
      await c.waitFor((b) => (b.includes('aaaa') ? true : null), t.target.timeoutMs, 'the first chunk');
      const first = Date.now() - t0;
      const res = await c.readResponse();
      const total = Date.now() - t0;
      t.eq(res.body.toString().slice(-12), 'bbbbccccdddd', 'tail of the body');
      t.ok(total - first >= 400, `the first chunk must arrive well before the last (first at ${first} ms, complete at ${total} ms)`);
    },
  },
  {
    id: 'http-empty-chunk-mid-stream',
    title: 'an empty body chunk in the middle of a response does not end it',
    clauses: ['asgi.http.body.4', 'wsgi.response.chunk.2'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/chunks?sizes=3,0,5');
      t.eq(res.status, 200, 'status');
      t.eq(res.body.toString(), 'zzzzzzzz', 'body');
    },
  },
  {
    id: 'http-request-body-length',
    title: 'a Content-Length request body reaches the app byte for byte',
    clauses: ['asgi.http.request.1', 'wsgi.input.read.1'],
    interfaces: [...BOTH],
    async run(t) {
      const body = Buffer.alloc(3000, 'q');
      const res = await t.request({ method: 'POST', target: '/echo', body });
      t.ok(res.body.equals(body), 'echoed body equals the upload', res.body.length);
    },
  },
  {
    id: 'http-request-body-binary',
    title: 'all 256 byte values survive the request body',
    clauses: ['asgi.http.request.1', 'wsgi.input.read.1'],
    interfaces: [...BOTH],
    async run(t) {
      const body = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
      const res = await t.request({ method: 'POST', target: '/echo', body });
      t.ok(res.body.equals(body), 'echoed body equals the upload', res.body.toString('hex').slice(0, 64));
    },
  },
  {
    id: 'http-request-body-chunked',
    title: 'a chunked request body reaches the app whole',
    clauses: ['asgi.http.request.2', 'wsgi.input.chunked.1'],
    interfaces: [...BOTH],
    async run(t) {
      const body = 'chunked-' + 'x'.repeat(100);
      const res = await t.request({ method: 'POST', target: '/echo', body, chunked: [5, 50, 3] });
      t.eq(res.status, 200, 'status');
      t.eq(res.body.toString(), body, 'echoed body');
    },
  },
  {
    id: 'http-request-chunk-extensions',
    title: 'chunk extensions and request trailers are accepted and not part of the body',
    clauses: ['asgi.http.request.2', 'wsgi.input.chunked.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      const head = t.serialize({ method: 'POST', target: '/echo', headers: [['Transfer-Encoding', 'chunked']] });
      await c.write(Buffer.concat([head, Buffer.from('3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nx-trailer: 1\r\n\r\n')]));
      const res = await c.readResponse();
      t.eq([res.status, res.body.toString()], [200, 'abcde'], 'status and echoed body');
    },
  },
  {
    id: 'http-request-body-large',
    title: 'a 4 MiB upload reaches the app intact',
    clauses: ['asgi.http.request.1', 'wsgi.input.read.1'],
    interfaces: [...BOTH],
    async run(t) {
      const body = Buffer.alloc(4 << 20);
      for (let i = 0; i < body.length; i += 4096) body.write(`${i}`, i, 'latin1');
      const res = await t.request({ method: 'POST', target: '/echo', body }, { timeoutMs: t.target.timeoutMs * 3 });
      t.eq(res.body.length, body.length, 'echoed length');
      t.ok(res.body.equals(body), 'echoed bytes equal the upload');
    },
  },
  {
    id: 'http-request-empty-post',
    title: 'a POST with Content-Length: 0 is an empty body',
    clauses: ['asgi.http.request.1', 'asgi.http.request.3', 'wsgi.environ.content_length.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request({ method: 'POST', target: '/echo', body: '' });
      t.eq([res.status, res.body.length], [200, 0], 'status and body length');
    },
  },
  {
    id: 'http-expect-100-continue',
    title: '"Expect: 100-continue": the body is accepted after an interim 100 (or without one) and echoed',
    clauses: ['asgi.http.request.5', 'wsgi.input.continue.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ method: 'POST', target: '/echo', headers: [['Expect', '100-continue'], ['Content-Length', '5']] }));
      try {
        await c.waitFor((b) => (b.length > 0 ? true : null), 1500, '100 Continue');
        const interim = await c.readHead();
        t.ok(interim.status === 100, 'a response before the body must be 100 Continue', interim.status);
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
      }
      await c.write('hello');
      const res = await c.readResponse();
      t.eq([res.status, res.body.toString()], [200, 'hello'], 'status and echoed body');
    },
  },
  {
    id: 'http-unread-body-keepalive',
    title: 'a body the app never read does not leak into the next request on the connection',
    clauses: ['asgi.http.connection.4', 'wsgi.input.unread.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      const smuggled = t.serialize({ target: '/status?code=418' });
      await c.write(t.serialize({ method: 'POST', target: '/ignore-body', body: smuggled }));
      const res = await c.readResponse();
      t.eq([res.status, res.body.toString()], [200, 'ok'], 'first response');
      try {
        await c.write(t.serialize({ target: '/status?code=202' }));
      } catch {
        return;
      }
      const next = await responseOrClose(t, c);
      if (next === null) return;
      t.eq(next.status, 202, 'status of the next response (418 means the ignored body was parsed as a request)');
    },
  },
  {
    id: 'http-response-duplicate-headers',
    title: 'repeated response headers are all sent, in order, as separate fields',
    clauses: ['asgi.http.start.3', 'wsgi.start_response.headers.1', 'wsgi.server.passthrough.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/headers');
      t.eq(headerValues(res.headers, 'x-dup'), ['one', 'two'], 'x-dup values');
      t.eq(headerValues(res.headers, 'set-cookie'), ['a=1', 'b=2'], 'Set-Cookie fields');
    },
  },
  {
    id: 'http-response-header-latin1',
    title: 'a response header value byte 0xE9 goes out as that byte',
    clauses: ['asgi.http.start.3', 'asgi.events.headers.1', 'wsgi.start_response.headers.2'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/headers');
      t.eq(header(res.headers, 'x-latin1'), 'caf\u00e9', 'x-latin1 value (latin-1 bytes)');
    },
  },
  {
    id: 'http-response-header-empty',
    title: 'a response header with an empty value is sent',
    clauses: ['asgi.http.start.3', 'wsgi.start_response.headers.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/headers');
      t.eq(headerValues(res.headers, 'x-empty'), [''], 'x-empty values');
    },
  },
  {
    id: 'http-app-content-length',
    title: 'the app\'s Content-Length is used as is (no chunked coding on top)',
    clauses: ['asgi.http.length.1', 'wsgi.response.content_length.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/content-length?declared=5&actual=5');
      t.eq(res.framing, 'content-length', 'framing');
      t.eq([header(res.headers, 'content-length'), res.body.toString()], ['5', 'yyyyy'], 'Content-Length and body');
    },
  },
  {
    id: 'http-app-content-length-short',
    title: 'a body shorter than the app\'s Content-Length never looks complete: the connection is closed',
    clauses: ['asgi.http.length.3', 'wsgi.response.content_length.2'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/content-length?declared=10&actual=4' }));
      const res = await responseOrClose(t, c);
      if (res === null) return;
      t.ok(res.status === 500, 'a complete response to a short body must be a 500', `${res.status} with ${res.body.length} body bytes`);
    },
  },
  {
    id: 'http-app-content-length-long',
    title: 'a body longer than the app\'s Content-Length is cut: extra bytes never reach the client as a response',
    clauses: ['asgi.http.length.2', 'wsgi.response.content_length.2'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/content-length?declared=4&actual=9' }));
      const res = await responseOrClose(t, c);
      if (res === null) return;
      if (res.status === 200) t.eq(res.body.toString(), 'yyyy', 'body limited to the declared length');
      await new Promise((r) => setTimeout(r, 100));
      t.ok(c.buffered.length === 0 || c.peerClosed, 'no bytes beyond the declared length', c.buffered.toString('latin1'));
    },
  },
  {
    id: 'http-app-error-500',
    title: 'an app that raises before responding gets a 500',
    clauses: ['asgi.app.return.1', 'wsgi.server.error.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/raise-before');
      t.eq(res.status, 500, 'status');
    },
  },
  {
    id: 'http-app-error-no-leak',
    title: 'the 500 reveals nothing of the exception (no message, no trace)',
    clauses: ['asgi.app.exception.2', 'asgi.app.exception.1', 'wsgi.server.error.2'],
    interfaces: [...BOTH],
    async run(t) {
      assertOpaque500(t, await t.request('/raise-before'));
    },
  },
  {
    id: 'http-app-error-after-start',
    title: 'an app that raises mid-body: the response is left visibly incomplete and the connection closed',
    clauses: ['asgi.app.return.2', 'wsgi.server.error.3'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(t.serialize({ target: '/raise-after' }));
      const res = await responseOrClose(t, c);
      t.ok(res === null, 'the response must not complete normally', res && `${res.status} ${JSON.stringify(res.body.toString())}`);
    },
  },
  {
    id: 'http-app-error-keeps-serving',
    title: 'after an app error, the server keeps serving new connections',
    clauses: ['asgi.app.exception.1', 'wsgi.server.error.4'],
    interfaces: [...BOTH],
    async run(t) {
      await t.request('/raise-before');
      await t.request('/raise-after').catch(() => undefined);
      const res = await t.request('/head');
      t.eq(res.status, 200, 'status of a request after the errors');
    },
  },
  {
    id: 'http-app-no-response',
    title: 'an app that returns without starting a response gets a 500',
    clauses: ['asgi.app.return.1', 'wsgi.start_response.before_body.1'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request(t.iface === 'asgi' ? '/no-response' : '/no-start-response');
      t.eq(res.status, 500, 'status');
    },
  },
  {
    id: 'http-bad-request-line',
    title: 'a malformed request line gets a 4xx (or a close), and the server keeps serving',
    clauses: ['asgi.server.bad_request.1', 'wsgi.server.bad_request.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write('THIS IS NOT HTTP\r\n\r\n');
      const res = await responseOrClose(t, c);
      if (res) t.ok(res.status >= 400 && res.status < 500, 'status of the malformed request', res.status);
      t.eq((await t.request('/head')).status, 200, 'status of a following good request');
    },
  },
  {
    id: 'http-bad-header-line',
    title: 'a header line without a colon gets a 4xx (or a close)',
    clauses: ['asgi.server.bad_request.1', 'wsgi.server.bad_request.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(`GET /head HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n`);
      const res = await responseOrClose(t, c);
      if (res) t.ok(res.status >= 400 && res.status < 500, 'status', res.status);
    },
  },
  {
    id: 'http-bad-content-length',
    title: 'a non-numeric Content-Length gets a 4xx (or a close), never reaches the app as a body',
    clauses: ['asgi.server.bad_request.1', 'asgi.http.request.6', 'wsgi.server.bad_request.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello`);
      const res = await responseOrClose(t, c);
      if (res) t.ok(res.status >= 400 && res.status < 500, 'status', res.status);
    },
  },
  {
    id: 'http-header-size-8k',
    title: 'a request header of 8 KiB is accepted and reaches the app',
    clauses: ['asgi.http.scope.10', 'wsgi.environ.cgi.3'],
    interfaces: [...BOTH],
    async run(t) {
      const v = 'v'.repeat(8000);
      const res = await t.request({ target: t.iface === 'asgi' ? '/scope' : '/environ', headers: [['X-Big', v]] });
      t.eq(res.status, 200, 'status');
      t.ok(res.body.includes(v), 'the 8000-byte header value is in the echo');
    },
  },
  {
    id: 'http-many-headers',
    title: '60 request header fields all reach the app',
    clauses: ['asgi.http.scope.10', 'wsgi.environ.cgi.3'],
    interfaces: [...BOTH],
    async run(t) {
      const headers: Array<[string, string]> = Array.from({ length: 60 }, (_, i) => [`X-H${i}`, `v${i}`]);
      const res = await t.request({ target: t.iface === 'asgi' ? '/scope' : '/environ', headers });
      t.eq(res.status, 200, 'status');
      const text = res.body.toString('latin1');
      const missing = headers.filter(([, v]) => !text.includes(`"${v}"`)).map(([k]) => k);
      t.eq(missing, [], 'header fields missing from the echo');
    },
  },
  {
    id: 'http-bad-chunk-size',
    title: 'a malformed chunk size in a request body gets a 4xx (or a close), and the server keeps serving',
    clauses: ['asgi.server.bad_request.1', 'asgi.http.request.6', 'wsgi.server.bad_request.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(`POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`);
      const res = await responseOrClose(t, c);
      if (res) t.ok(res.status >= 400 && res.status < 500, 'status', res.status);
      t.eq((await t.request('/head')).status, 200, 'status of a following good request');
    },
  },
  {
    id: 'http-abrupt-disconnect-isolated',
    title: 'clients that reset their connection mid-request and mid-response cost only their own connection',
    clauses: ['asgi.server.bad_request.2', 'wsgi.server.disconnect.1'],
    interfaces: [...BOTH],
    async run(t) {
      const a = await t.connect();
      await a.write(Buffer.concat([t.serialize({ method: 'POST', target: '/echo', headers: [['Content-Length', '100000']] }), Buffer.from('partial')]));
      a.reset();
      const b = await t.connect();
      await b.write(t.serialize({ target: '/stream?n=50&size=65536' }));
      await b.waitFor((buf) => (buf.length > 1000 ? true : null), t.target.timeoutMs, 'some of the stream');
      b.reset();
      const res = await t.request('/head');
      t.eq([res.status, res.body.toString()], [200, 'hello world'], 'a request after the resets');
    },
  },
  {
    id: 'http-date-header',
    title: 'the server adds a Date header',
    clauses: ['asgi.http.start.5', 'wsgi.start_response.headers.7'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/head');
      const d = header(res.headers, 'date');
      t.ok(d !== null && !Number.isNaN(Date.parse(d)), 'a Date header with an HTTP date', d);
    },
  },
  {
    id: 'http-empty-response',
    title: 'a response with no body at all gets its status and headers, and an empty body',
    clauses: ['asgi.http.body.2', 'wsgi.response.headers_sent.2'],
    interfaces: [...BOTH],
    async run(t) {
      const res = await t.request('/chunks?sizes=');
      t.eq([res.status, res.body.length], [200, 0], 'status and body length');
    },
  },
  {
    id: 'http-te-and-content-length',
    title: 'a request with both Transfer-Encoding: chunked and Content-Length is refused, or framed by the chunked coding (never by the length)',
    clauses: ['asgi.server.bad_request.1', 'asgi.http.connection.4', 'wsgi.server.bad_request.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      const smuggled = t.serialize({ target: '/status?code=418' });
      await c.write(Buffer.concat([
        Buffer.from(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 'latin1'),
        smuggled,
      ]));
      const res = await responseOrClose(t, c);
      if (res === null) return;
      if (res.status >= 400 && res.status < 500) return;
      t.eq([res.status, res.body.toString()], [200, 'hello'], 'status and echoed body (the chunked coding frames the body)');
      const next = await responseOrClose(t, c);
      if (next !== null) t.eq(next.status, 418, 'the request after the chunked body');
    },
  },
  {
    id: 'http-conflicting-content-length',
    title: 'a request with two different Content-Length values gets a 4xx (or a close)',
    clauses: ['asgi.server.bad_request.1', 'wsgi.server.bad_request.1'],
    interfaces: [...BOTH],
    async run(t) {
      const c = await t.connect();
      await c.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello`);
      const res = await responseOrClose(t, c);
      if (res) t.ok(res.status >= 400 && res.status < 500, 'status', `${res.status} ${JSON.stringify(res.body.toString())}`);
    },
  },
];
