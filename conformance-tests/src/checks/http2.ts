/**
 * HTTP/2 (spec/asgi-http.md section 10), over a node:http2 client: h2c with
 * prior knowledge, or h2 by ALPN when the target is secure, where two checks
 * of TLS (scheme, the tls extension) run too. Not part of
 * allChecks: a suite runs them only against a server it says speaks HTTP/2
 * (SuiteOptions.checks), since most ASGI servers do not.
 */
import { once } from 'node:events';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import type { Check, CheckContext } from '../check.js';
import { CheckFailure } from '../check.js';
import { asBytes, decodeJson } from '../json-bytes.js';

interface H2Response { status: number; body: Buffer }

/** The byte strings of a scope the app encoded ({"$bytes": …}) as text; anything else as it is. */
function text(v: unknown): unknown {
  return asBytes(v) ?? v;
}

/** The scope's headers as [name, value] text pairs. */
function headerPairs(scope: { headers: unknown[] }): Array<[string, string]> {
  return scope.headers.map((h) => (h as unknown[]).map(text) as [string, string]);
}

/** One request on `session` (a path, or its header fields); resolves with its status and whole body (within the check's time). */
async function h2Request(t: CheckContext, session: ClientHttp2Session, request: string | OutgoingHttpHeaders): Promise<H2Response> {
  const headers = typeof request === 'string' ? { ':path': request } : request;
  const stream = session.request(headers, { endStream: true });
  stream.on('error', () => {});
  const timer = setTimeout(() => stream.destroy(new CheckFailure(`expected a response to ${String(headers[':path'])} within ${t.target.timeoutMs} ms`)), t.target.timeoutMs);
  try {
    const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    await once(stream, 'end');
    return { status: headers[':status'] as number, body: Buffer.concat(chunks) };
  } finally {
    clearTimeout(timer);
  }
}

/** Polls the app's report store over `session` (a secure target has no plain-HTTP/1 port) until `pred` accepts the record. */
async function h2Report<T>(t: CheckContext, session: ClientHttp2Session, token: string, pred: (r: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + t.target.timeoutMs;
  let last: unknown = null;
  for (;;) {
    const r = await h2Request(t, session, `/report?token=${token}`);
    if (r.status === 200) {
      last = decodeJson(r.body.toString('utf8'));
      if (pred(last as T)) return last as T;
    }
    if (Date.now() > deadline) throw new CheckFailure(`expected ${what} from the app; got ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// HTTP/2 on the wire (RFC 9113 section 4.1), for the one check a client library would not let through.
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK string literal without Huffman coding (RFC 7541 section 5.2); the checks' strings are under 127 bytes. */
function hpackString(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'latin1')]);
}

/** A header block of literal fields without indexing (RFC 7541 section 6.2.2), new names all: no table state to keep. */
function headerBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(fields.map(([name, value]) => Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)])));
}

/** Sends one HEADERS frame (after the preface and SETTINGS) on a raw connection and reads frames until stream 1 is answered or refused. */
async function rawH2Request(t: CheckContext, fields: Array<[string, string]>): Promise<'reset' | 'goaway' | 'closed' | `status-byte-${number}`> {
  const { host, port } = t.target;
  const socket: Socket = t.target.secure ? connectTls({ host, port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'localhost' }) : connectTcp({ host, port });
  socket.on('error', () => {});
  try {
    await once(socket, t.target.secure ? 'secureConnect' : 'connect');
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)), frame(FRAME.HEADERS, 0x5, 1, headerBlock(fields))]));
    let buf = Buffer.alloc(0);
    const deadline = Date.now() + t.target.timeoutMs;
    for (;;) {
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + length);
        buf = buf.subarray(9 + length);
        // The server's SETTINGS (not its ACK of ours) is acknowledged, as RFC 9113 section 6.5.3 requires.
        if (type === FRAME.SETTINGS && (flags & 0x1) === 0) socket.write(frame(FRAME.SETTINGS, 0x1, 0, Buffer.alloc(0)));
        if (type === FRAME.GOAWAY) return 'goaway';
        if (type === FRAME.RST_STREAM && stream === 1) return 'reset';
        // The first byte of the response's header block: 0x8c is the static table's `:status: 400`, 0x88 `:status: 200`.
        if (type === FRAME.HEADERS && stream === 1) return `status-byte-${payload[0] ?? 0}`;
      }
      const chunk = await Promise.race([
        once(socket, 'data').then(([d]) => d as Buffer),
        once(socket, 'close').then(() => null),
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()))),
      ]);
      if (chunk === null) return 'closed';
      if (chunk === 'timeout') throw new CheckFailure(`expected stream 1 to be answered or reset within ${t.target.timeoutMs} ms`);
      buf = Buffer.concat([buf, chunk]);
    }
  } finally {
    socket.destroy();
  }
}

function opened(session: ClientHttp2Session, path: string): ClientHttp2Stream {
  const stream = session.request({ ':path': path });
  stream.on('error', () => {});
  return stream;
}

export const http2Checks: Check[] = [
  {
    id: 'h2-scope',
    clauses: ['asgi.http.h2.1', 'asgi.http.scope.3'],
    title: 'an HTTP/2 stream is an http scope with http_version "2", method and path from the pseudo-header fields, none of them in headers',
    interfaces: ['asgi'],
    async run(t) {
      const session = await t.h2();
      const r = await h2Request(t, session, { ':method': 'POST', ':path': '/scope/a%20b?x=1&y=2', 'x-probe': 'yes' });
      t.eq(r.status, 200, 'status of POST /scope over HTTP/2');
      const scope = decodeJson(r.body.toString('utf8')) as { http_version: string; method: string; path: string; query_string: unknown; headers: unknown[] };
      t.eq(scope.http_version, '2', 'http_version');
      t.eq(scope.method, 'POST', 'method');
      t.eq(scope.path, '/scope/a b', 'path');
      t.eq(text(scope.query_string), 'x=1&y=2', 'query_string');
      const headers = headerPairs(scope);
      t.eq(headers.filter(([name]) => name.startsWith(':')), [], 'pseudo-header fields in headers');
      t.ok(headers.some(([name, value]) => name === 'x-probe' && value === 'yes'), 'the x-probe field in headers', headers);
    },
  },
  {
    id: 'h2-authority-host',
    clauses: ['asgi.http.h2.2'],
    title: 'the :authority pseudo-header field reaches the app as a host header',
    interfaces: ['asgi'],
    async run(t) {
      const session = await t.h2();
      const r = await h2Request(t, session, { ':path': '/scope', ':authority': 'example.test:8443' });
      t.eq(r.status, 200, 'status of GET /scope over HTTP/2');
      const scope = decodeJson(r.body.toString('utf8')) as { headers: unknown[] };
      t.eq(headerPairs(scope).filter(([name]) => name === 'host'), [['host', 'example.test:8443']], 'host fields');
    },
  },
  {
    id: 'h2-reset-disconnect',
    clauses: ['asgi.http.h2.3', 'asgi.http.disconnect.1'],
    title: "a stream the client resets is http.disconnect for its app, and the connection's other streams are served on",
    interfaces: ['asgi'],
    async run(t) {
      const session = await t.h2();
      const token = t.token();
      // /disconnect reads until http.disconnect; a body that never ends keeps it waiting.
      const held = session.request({ ':method': 'POST', ':path': `/disconnect?token=${token}` });
      held.on('error', () => {});
      held.write('abc');
      await h2Report(t, session, token, () => true, 'the app to start on the request');
      held.close(constants.NGHTTP2_CANCEL);
      const r = await h2Report<{ event?: string }>(t, session, token, (x) => x.event !== undefined, 'a report of http.disconnect');
      t.eq(r.event, 'http.disconnect', 'event after the stream was reset');
      const other = await h2Request(t, session, '/scope');
      t.eq(other.status, 200, 'status of another stream on the same connection');
    },
  },
  {
    id: 'h2-malformed-headers',
    clauses: ['asgi.http.h2.5'],
    title: 'a request with an upper-case field name or a connection-specific field is malformed: refused, never passed to the app',
    interfaces: ['asgi'],
    async run(t) {
      const authority = `${t.target.host}:${t.target.port}`;
      for (const [name, value] of [['X-Upper', 'a'], ['connection', 'keep-alive']] as const) {
        const token = t.token();
        const outcome = await rawH2Request(t, [[':method', 'GET'], [':scheme', t.target.secure ? 'https' : 'http'], [':path', `/disconnect?token=${token}`], [':authority', authority], [name, value]]);
        t.ok(outcome === 'reset' || outcome === 'goaway' || outcome === 'closed' || outcome === 'status-byte-140', `a field ${name}: ${value} refused (RST_STREAM, GOAWAY, a close or 400)`, outcome);
        // The app records its start on /disconnect: nothing may be recorded for a refused request.
        const session = await t.h2();
        const report = await h2Request(t, session, `/report?token=${token}`);
        t.eq(report.status, 404, `the app's report of the request with ${name} (404: the app never saw it)`);
      }
    },
  },
  {
    id: 'h2-tls-scheme',
    clauses: ['asgi.http.scope.5', 'asgi.http.h2.1'],
    title: 'over TLS (h2 by ALPN), scheme is "https"',
    interfaces: ['asgi'],
    async run(t) {
      if (!t.target.secure) t.skip('the server was given as http://: no TLS to check');
      const session = await t.h2();
      const scope = decodeJson((await h2Request(t, session, '/scope')).body.toString('utf8')) as { scheme: string };
      t.eq(scope.scheme, 'https', 'scheme');
    },
  },
  {
    id: 'h2-tls-extension',
    clauses: ['asgi.ext.tls.1', 'asgi.ext.tls.3'],
    title: 'over TLS, a tls extension the server announces has every field, of its type',
    interfaces: ['asgi'],
    async run(t) {
      if (!t.target.secure) t.skip('the server was given as http://: no TLS to check');
      const session = await t.h2();
      const scope = decodeJson((await h2Request(t, session, '/scope')).body.toString('utf8')) as { extensions?: { tls?: Record<string, unknown> } };
      const tls = scope.extensions?.tls;
      if (tls === undefined) return t.skip('the server does not announce the tls extension');
      const textOrNull = (v: unknown) => v === null || typeof text(v) === 'string';
      const numberOrNull = (v: unknown) => v === null || typeof v === 'number';
      t.ok(tls['server_cert'] === null || /^-----BEGIN CERTIFICATE-----/.test(String(text(tls['server_cert']))), 'server_cert: PEM text or null', tls['server_cert']);
      t.ok(Array.isArray(tls['client_cert_chain']), 'client_cert_chain: an array', tls['client_cert_chain']);
      t.eq(tls['client_cert_chain'], [], 'client_cert_chain of a client that sent no certificate');
      t.ok(textOrNull(tls['client_cert_name']) && textOrNull(tls['client_cert_error']), 'client_cert_name and client_cert_error: text or null', tls);
      t.ok(numberOrNull(tls['tls_version']) && numberOrNull(tls['cipher_suite']), 'tls_version and cipher_suite: numbers or null', tls);
      // node:http2's client speaks TLS 1.2 or 1.3.
      t.ok(tls['tls_version'] === null || tls['tls_version'] === 0x0303 || tls['tls_version'] === 0x0304, 'tls_version 0x0303 or 0x0304', tls['tls_version']);
    },
  },
  {
    id: 'h2-flow-control',
    clauses: ['asgi.http.h2.4'],
    title: "while the client reads nothing, the app's send() waits; every byte arrives once it reads",
    interfaces: ['asgi'],
    async run(t) {
      const session = await t.h2();
      const token = t.token();
      const n = 1024;
      const size = 16384; // 16 MiB in all, far past HTTP/2's 64 KiB initial windows; small chunks, so the first ones are taken at once
      const stream = opened(session, `/stream?n=${n}&size=${size}&token=${token}`);
      stream.pause();
      await h2Report<{ sent: number }>(t, session, token, (r) => r.sent >= 1, 'a first chunk sent');
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, t.target.timeoutMs / 4)));
      const before = await h2Report<{ sent: number }>(t, session, token, () => true, 'the chunks sent so far');
      t.ok(before.sent < n / 2, `send() to wait while the client reads nothing (${n} chunks of ${size} bytes)`, `${before.sent} chunks taken`);
      let bytes = 0;
      stream.on('data', (d: Buffer) => (bytes += d.length));
      stream.resume();
      await once(stream, 'end');
      t.eq(bytes, n * size, 'body bytes received');
    },
  },
];
