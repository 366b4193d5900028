/**
 * ASGI `websocket`: the handshake and scope, accept/deny/denial response,
 * messages both ways, close codes and the close handshake, disconnect events,
 * and the RFC 6455 server cases of the Autobahn test suite that apply
 * (framing, fragmentation, control frames, UTF-8 validation, close codes,
 * limits), rewritten for this suite's raw client.
 */
import type { Check, CheckContext } from '../check.js';
import { asBytes } from '../json-bytes.js';
import { header } from '../raw-http.js';
import { OP, closePayload, encodeFrame, handshakeProblem, type WsEvent, type WsSession } from '../raw-ws.js';

const ASGI = ['asgi'] as const;

/** Opens a WebSocket to the app and asserts the handshake succeeded. */
async function open(t: CheckContext, target = '/ws/echo', opts: Parameters<CheckContext['ws']>[1] = {}): Promise<WsSession> {
  const r = await t.ws(target, opts);
  const problem = handshakeProblem(r.response, r.key);
  if (problem) t.fail(`handshake to ${target}: ${problem}`);
  return r.ws!;
}

function describeEvent(e: WsEvent): string {
  switch (e.kind) {
    case 'text': return `text ${JSON.stringify(e.data.slice(0, 80))}`;
    case 'binary': return `binary(${e.data.length})`;
    case 'close': return `close ${e.code} ${JSON.stringify(e.reason)}`;
    case 'eof': return 'end of connection';
    default: return `${e.kind}(${e.data.length})`;
  }
}

/** Narrows an event to one kind, or fails the check naming what came instead. */
function expectKind<K extends WsEvent['kind']>(t: CheckContext, e: WsEvent, kind: K, what: string): Extract<WsEvent, { kind: K }> {
  if (e.kind !== kind) t.fail(`expected ${what}; got ${describeEvent(e)}`);
  return e as Extract<WsEvent, { kind: K }>;
}

/** The close code of an event, or null when it is not a close frame. */
function closeCode(e: WsEvent): number | null {
  return e.kind === 'close' ? e.code : null;
}

/** Expects a data message equal to `expected`. */
async function expectMessage(t: CheckContext, ws: WsSession, expected: { text?: string; binary?: Buffer }): Promise<void> {
  const e = await ws.readMessage();
  if (expected.text !== undefined) {
    const m = expectKind(t, e, 'text', 'a text message');
    t.ok(m.data === expected.text, `text of length ${expected.text.length} echoed exactly`, describeEvent(e));
  } else {
    const m = expectKind(t, e, 'binary', 'a binary message');
    t.ok(m.data.equals(expected.binary!), `binary of length ${expected.binary!.length} echoed exactly`, describeEvent(e));
  }
}

/**
 * Expects the server to fail the connection (RFC 6455 section 7.1.7): a close
 * frame with one of `codes`, or the TCP connection ending; never a data message.
 */
async function expectFailed(t: CheckContext, ws: WsSession, codes: number[]): Promise<void> {
  for (;;) {
    const e = await ws.read();
    if (e.kind === 'ping' || e.kind === 'pong') continue;
    if (e.kind === 'eof') return;
    const c = expectKind(t, e, 'close', `the server to fail the connection (close ${codes.join(' or ')}), not to answer`);
    t.ok(c.code !== null && codes.includes(c.code), `close code ${codes.join(' or ')}`, c.code);
    return;
  }
}

/** Expects a clean close: a close frame with `code` answering ours, then the end of the TCP connection. */
async function expectCloseReply(t: CheckContext, ws: WsSession, codes: Array<number | null>): Promise<void> {
  const e = await ws.readUntilClose();
  const c = expectKind(t, e, 'close', 'a close frame in reply');
  t.ok(codes.includes(c.code), `close code ${codes.join(' or ')}`, c.code);
  t.ok(await ws.conn.waitClosed(), 'the server closes the TCP connection after the close handshake');
}

function wsCheck(id: string, clauses: string[], title: string, run: (t: CheckContext) => Promise<void>): Check {
  return { id, clauses, title, interfaces: [...ASGI], run };
}

const PROTO = 'asgi.websocket.protocol.1';
const UTF8 = 'asgi.websocket.protocol.2';
const CLOSE_RULES = 'asgi.websocket.protocol.3';

/** Echo cases of Autobahn 1.1.x/1.2.x: payload lengths around the frame-length encodings. */
const LENGTHS = [0, 125, 126, 127, 65535, 65536];

/** UTF-8 cases of Autobahn 6.x: invalid byte sequences in a text message. */
const BAD_UTF8: Array<[string, number[]]> = [
  ['lone-continuation', [0x80]],
  ['truncated-2-byte', [0xc3]],
  ['overlong-slash', [0xc0, 0xaf]],
  ['surrogate', [0xed, 0xa0, 0x80]],
  ['above-max', [0xf4, 0x90, 0x80, 0x80]],
  ['byte-ff', [0x66, 0x6f, 0xff]],
  ['overlong-3-byte', [0xe0, 0x80, 0xaf]],
  ['overlong-4-byte', [0xf0, 0x80, 0x80, 0xaf]],
  ['five-byte-form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ['truncated-4-byte-at-end', [0xf0, 0x9f, 0x98]],
  ['invalid-start-after-valid', [0xce, 0xba, 0xc0]],
  ['surrogate-pair-encoded', [0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80]],
];

export const asgiWebSocketChecks: Check[] = [
  // ---- handshake and scope
  wsCheck('ws-handshake-accept', ['asgi.websocket.accept.5'], 'websocket.accept completes the handshake: 101 with a correct Sec-WebSocket-Accept', async (t) => {
    await open(t);
  }),
  wsCheck('ws-handshake-connect-first', ['asgi.websocket.connect.1'], 'the first event is websocket.connect (the app only accepts after it)', async (t) => {
    const ws = await open(t, '/ws/scope');
    const e = await ws.readMessage();
    t.ok(e.kind === 'text', 'the scope as a text message', describeEvent(e));
  }),
  wsCheck('ws-scope-type', ['asgi.websocket.scope.1', 'asgi.websocket.scope.4', 'asgi.scope.type.1'], 'scope type is "websocket" with scheme "ws"', async (t) => {
    const ws = await open(t, '/ws/scope');
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    t.eq([s.type, s.scheme ?? 'ws'], ['websocket', 'ws'], 'type and scheme');
  }),
  wsCheck('ws-scope-paths', ['asgi.websocket.scope.5'], 'path, raw_path and query_string of the websocket scope follow the http rules', async (t) => {
    const ws = await open(t, '/ws/scope?x=%20y');
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    t.eq(s.path, '/ws/scope', 'path');
    t.eq(asBytes(s.query_string), 'x=%20y', 'query_string');
    if (s.raw_path !== null && s.raw_path !== undefined) t.eq(asBytes(s.raw_path), '/ws/scope', 'raw_path');
  }),
  wsCheck('ws-scope-headers', ['asgi.websocket.scope.6'], 'the websocket scope has the handshake headers as lower-case byte pairs', async (t) => {
    const ws = await open(t, '/ws/scope', { headers: [['X-Handshake', 'Yes']] });
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    const h = (s.headers ?? []).find((p: unknown[]) => asBytes(p[0]) === 'x-handshake');
    t.eq(h && asBytes(h[1]), 'Yes', 'x-handshake header');
  }),
  wsCheck('ws-scope-subprotocols', ['asgi.websocket.scope.8'], 'subprotocols lists the offered subprotocols in order', async (t) => {
    const ws = await open(t, '/ws/scope', { subprotocols: ['chat', 'superchat'] });
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    t.eq(s.subprotocols, ['chat', 'superchat'], 'subprotocols');
  }),
  wsCheck('ws-scope-subprotocols-empty', ['asgi.websocket.scope.8'], 'subprotocols is an empty list when none are offered', async (t) => {
    const ws = await open(t, '/ws/scope');
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    t.eq(s.subprotocols ?? [], [], 'subprotocols');
  }),
  wsCheck('ws-scope-versions', ['asgi.websocket.scope.2', 'asgi.websocket.scope.3'], 'the websocket scope has asgi.version "3.0" and http_version "1.1"', async (t) => {
    const ws = await open(t, '/ws/scope');
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    t.eq([s.asgi?.version, s.http_version ?? '1.1'], ['3.0', '1.1'], 'asgi.version and http_version');
  }),
  wsCheck('ws-subprotocol-selected', ['asgi.websocket.accept.1'], 'the subprotocol the app picks is returned in Sec-WebSocket-Protocol', async (t) => {
    const r = await t.ws('/ws/subprotocol', { subprotocols: ['one', 'two'] });
    t.eq(r.response.status, 101, 'status');
    t.eq(header(r.response.headers, 'sec-websocket-protocol'), 'two', 'Sec-WebSocket-Protocol');
  }),
  wsCheck('ws-subprotocol-none', ['asgi.websocket.accept.1'], 'no Sec-WebSocket-Protocol header when the app picks none', async (t) => {
    const r = await t.ws('/ws/echo', { subprotocols: ['one'] });
    t.eq(r.response.status, 101, 'status');
    t.eq(header(r.response.headers, 'sec-websocket-protocol'), null, 'Sec-WebSocket-Protocol');
  }),
  wsCheck('ws-accept-headers', ['asgi.websocket.accept.2', 'asgi.websocket.accept.6'], 'extra headers in websocket.accept are sent with the 101', async (t) => {
    const r = await t.ws('/ws/headers');
    t.eq(r.response.status, 101, 'status');
    t.eq(header(r.response.headers, 'x-extra'), 'accepted', 'x-extra');
  }),
  wsCheck('ws-deny-403', ['asgi.websocket.close.3'], 'websocket.close before accept rejects the handshake with HTTP 403', async (t) => {
    const r = await t.ws('/ws/deny');
    t.eq(r.response.status, 403, 'status');
  }),
  {
    id: 'ws-denial-response',
    clauses: ['asgi.ext.websocket_http_response.2'],
    title: 'websocket.http.response.start/body send a custom HTTP rejection',
    interfaces: [...ASGI],
    requires: 'ext:websocket.http.response',
    async run(t) {
      const r = await t.ws('/ws/deny-response');
      t.eq(r.response.status, 401, 'status');
      t.eq(header(r.response.headers, 'x-denied'), 'yes', 'x-denied');
      t.eq(r.response.body.toString(), 'denied by app', 'body');
    },
  },
  wsCheck('ws-raise-before-accept', ['asgi.app.return.3'], 'an app that raises before answering the handshake: HTTP 500', async (t) => {
    const r = await t.ws('/ws/raise-before');
    t.eq(r.response.status, 500, 'status');
  }),
  wsCheck('ws-return-before-accept', ['asgi.app.return.3'], 'an app that returns without answering the handshake: HTTP 403', async (t) => {
    const r = await t.ws('/ws/no-accept');
    t.eq(r.response.status, 403, 'status');
  }),
  wsCheck('ws-raise-after-accept', ['asgi.app.return.3', 'asgi.app.exception.2'], 'an app that raises after accepting: close 1011 (or the connection dropped)', async (t) => {
    const ws = await open(t, '/ws/raise-after');
    await expectFailed(t, ws, [1011]);
  }),
  wsCheck('ws-return-after-accept', ['asgi.app.return.3'], 'an app that returns after accepting: the server closes with 1000', async (t) => {
    const ws = await open(t, '/ws/return');
    const e = await ws.readUntilClose();
    t.eq(closeCode(expectKind(t, e, 'close', 'a close frame')), 1000, 'close code');
  }),
  wsCheck('ws-bad-version', ['asgi.websocket.handshake.1'], 'a handshake with Sec-WebSocket-Version 8 is refused with a 4xx (426 and the supported version)', async (t) => {
    const r = await t.ws('/ws/echo', { version: '8' });
    t.ok(r.response.status >= 400 && r.response.status < 500, 'status 4xx', r.response.status);
    if (r.response.status === 426) t.eq(header(r.response.headers, 'sec-websocket-version'), '13', 'Sec-WebSocket-Version of the 426');
  }),
  wsCheck('ws-missing-key', ['asgi.websocket.handshake.1'], 'a handshake without Sec-WebSocket-Key is refused with a 4xx', async (t) => {
    const r = await t.ws('/ws/echo', { key: null });
    t.ok(r.response.status >= 400 && r.response.status < 500, 'status 4xx', r.response.status);
  }),
  // ---- messages
  wsCheck('ws-echo-text', ['asgi.websocket.receive.1', 'asgi.websocket.receive.3', 'asgi.websocket.send.3', 'asgi.websocket.send.4'], 'a text message reaches the app as text and comes back as text', async (t) => {
    const ws = await open(t);
    await ws.sendText('hello, websocket');
    await expectMessage(t, ws, { text: 'hello, websocket' });
  }),
  wsCheck('ws-echo-binary', ['asgi.websocket.receive.1', 'asgi.websocket.receive.2', 'asgi.websocket.send.2', 'asgi.websocket.send.4'], 'a binary message reaches the app as bytes and comes back as binary', async (t) => {
    const ws = await open(t);
    const data = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await ws.sendBinary(data);
    await expectMessage(t, ws, { binary: data });
  }),
  wsCheck('ws-echo-unicode', ['asgi.websocket.receive.4'], 'non-ASCII text (2, 3 and 4-byte UTF-8) survives both ways', async (t) => {
    const ws = await open(t);
    const text = 'caf\u00e9 \u20ac \u{1f600} \u03ba\u1f79\u03c3\u03bc\u03b5';
    await ws.sendText(text);
    await expectMessage(t, ws, { text });
  }),
  ...LENGTHS.map((n) => wsCheck(`ws-echo-text-${n}`, [PROTO, 'asgi.websocket.receive.4'], `text message of ${n} bytes (frame length encodings)`, async (t) => {
    const ws = await open(t);
    const text = 'T'.repeat(n);
    await ws.sendText(text);
    await expectMessage(t, ws, { text });
  })),
  ...LENGTHS.map((n) => wsCheck(`ws-echo-binary-${n}`, [PROTO, 'asgi.websocket.receive.4'], `binary message of ${n} bytes (frame length encodings)`, async (t) => {
    const ws = await open(t);
    const data = Buffer.alloc(n, 0xfe);
    await ws.sendBinary(data);
    await expectMessage(t, ws, { binary: data });
  })),
  wsCheck('ws-echo-1mib', [PROTO, 'asgi.websocket.receive.4'], 'a 1 MiB binary message is echoed (Autobahn 9.1 family, scaled down)', async (t) => {
    const ws = await open(t);
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await ws.sendBinary(data);
    await expectMessage(t, ws, { binary: data });
  }),
  wsCheck('ws-order', ['asgi.websocket.send.4'], 'messages the app sends arrive in order', async (t) => {
    const ws = await open(t, '/ws/send-n?n=20&size=3');
    for (let i = 0; i < 20; i++) await expectMessage(t, ws, { binary: Buffer.alloc(3, i) });
    await expectMessage(t, ws, { text: 'done' });
  }),
  wsCheck('ws-many-messages', ['asgi.websocket.receive.4'], '100 messages sent back to back are all echoed in order', async (t) => {
    const ws = await open(t);
    await ws.sendRaw(Buffer.concat(Array.from({ length: 100 }, (_, i) => encodeFrame({ opcode: OP.TEXT, payload: `m${i}` }))));
    for (let i = 0; i < 100; i++) await expectMessage(t, ws, { text: `m${i}` });
  }),
  wsCheck('ws-server-frames-unmasked', [PROTO], 'frames from the server are not masked', async (t) => {
    const ws = await open(t);
    await ws.sendText('mask?');
    const f = await ws.readFrame();
    t.ok(f && !f.masked, 'server frame unmasked', f?.masked);
  }),
  // ---- fragmentation (Autobahn 5.x)
  wsCheck('ws-fragmented-text', [PROTO], 'a text message in three fragments is delivered as one message (5.3-5.5)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: 'frag', fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: 'ment', fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: 'ed', fin: true });
    await expectMessage(t, ws, { text: 'fragmented' });
  }),
  wsCheck('ws-fragmented-binary', [PROTO], 'a binary message in fragments is delivered as one message', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.BINARY, payload: Buffer.from([1, 2]), fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: Buffer.from([3]), fin: true });
    await expectMessage(t, ws, { binary: Buffer.from([1, 2, 3]) });
  }),
  wsCheck('ws-fragmented-with-ping', [PROTO], 'a ping between fragments is answered and the message still assembles (5.6-5.8)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: 'frag', fin: false });
    await ws.sendFrame({ opcode: OP.PING, payload: 'mid' });
    await ws.sendFrame({ opcode: OP.CONT, payload: 'ment', fin: true });
    const pong = await ws.read();
    t.ok(pong.kind === 'pong' && pong.data.toString() === 'mid', 'pong with the ping payload first', describeEvent(pong));
    await expectMessage(t, ws, { text: 'fragment' });
  }),
  wsCheck('ws-fragmented-empty-frames', [PROTO], 'empty fragments are allowed (5.18-5.20 family)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: '', fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: 'x', fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: '', fin: true });
    await expectMessage(t, ws, { text: 'x' });
  }),
  wsCheck('ws-continuation-without-start', [PROTO], 'a continuation frame with nothing to continue fails the connection (5.9-5.12)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.CONT, payload: 'orphan', fin: true });
    await expectFailed(t, ws, [1002]);
  }),
  wsCheck('ws-new-message-mid-fragments', [PROTO], 'a new text frame inside a fragmented message fails the connection (5.17 family)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: 'start', fin: false });
    await ws.sendFrame({ opcode: OP.TEXT, payload: 'again', fin: true });
    await expectFailed(t, ws, [1002]);
  }),
  // ---- control frames (Autobahn 2.x)
  wsCheck('ws-ping-pong', [PROTO], 'a ping is answered by a pong with the same payload (2.2)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.PING, payload: 'are you there' });
    const e = await ws.read();
    t.ok(e.kind === 'pong' && e.data.toString() === 'are you there', 'pong with the payload', describeEvent(e));
  }),
  wsCheck('ws-ping-empty', [PROTO], 'an empty ping gets an empty pong (2.1)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.PING });
    const e = await ws.read();
    t.ok(e.kind === 'pong' && e.data.length === 0, 'empty pong', describeEvent(e));
  }),
  wsCheck('ws-ping-125', [PROTO], 'a ping with a 125-byte binary payload gets it back (2.4)', async (t) => {
    const ws = await open(t);
    const p = Buffer.alloc(125, 0xfe);
    await ws.sendFrame({ opcode: OP.PING, payload: p });
    const e = await ws.read();
    t.ok(e.kind === 'pong' && e.data.equals(p), 'pong with the payload', describeEvent(e));
  }),
  wsCheck('ws-ping-too-long', [PROTO], 'a ping with 126 bytes of payload fails the connection (2.5)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.PING, payload: Buffer.alloc(126, 1) });
    await expectFailed(t, ws, [1002]);
  }),
  wsCheck('ws-unsolicited-pong', [PROTO], 'an unsolicited pong is ignored (2.7)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.PONG, payload: 'unasked' });
    await ws.sendText('still here');
    await expectMessage(t, ws, { text: 'still here' });
  }),
  wsCheck('ws-fragmented-ping', [PROTO], 'a fragmented ping fails the connection (5.1)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.PING, payload: 'frag', fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: 'ment', fin: true });
    await expectFailed(t, ws, [1002]);
  }),
  wsCheck('ws-ten-pings', [PROTO], 'ten pings sent at once get ten pongs in order (2.10 family)', async (t) => {
    const ws = await open(t);
    await ws.sendRaw(Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeFrame({ opcode: OP.PING, payload: `p${i}` }))));
    for (let i = 0; i < 10; i++) {
      const e = await ws.read();
      t.ok(e.kind === 'pong' && e.data.toString() === `p${i}`, `pong ${i}`, describeEvent(e));
    }
  }),
  // ---- reserved bits and opcodes (Autobahn 3.x, 4.x)
  ...[1, 2, 4].map((rsv) => wsCheck(`ws-rsv-${rsv}`, [PROTO], `a frame with RSV bits ${rsv.toString(2).padStart(3, '0')} (no extension negotiated) fails the connection (3.x)`, async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: 'rsv', rsv });
    await expectFailed(t, ws, [1002]);
  })),
  ...[3, 7].map((op) => wsCheck(`ws-reserved-opcode-${op}`, [PROTO], `reserved data opcode ${op} fails the connection (4.1.x)`, async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: op, payload: 'x' });
    await expectFailed(t, ws, [1002]);
  })),
  ...[0xb, 0xf].map((op) => wsCheck(`ws-reserved-control-${op}`, [PROTO], `reserved control opcode ${op} fails the connection (4.2.x)`, async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: op, payload: 'x' });
    await expectFailed(t, ws, [1002]);
  })),
  wsCheck('ws-unmasked-client-frame', [PROTO], 'an unmasked frame from the client fails the connection', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: 'unmasked', mask: false });
    await expectFailed(t, ws, [1002]);
  }),
  // ---- UTF-8 (Autobahn 6.x)
  ...BAD_UTF8.map(([name, bytes]) => wsCheck(`ws-utf8-${name}`, [UTF8], `a text message with invalid UTF-8 (${name}) fails the connection with 1007 (6.x)`, async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.from([0x61, ...bytes]) });
    await expectFailed(t, ws, [1007]);
  })),
  wsCheck('ws-utf8-split-codepoint', [UTF8], 'a valid code point split across fragments is accepted (6.2.x)', async (t) => {
    const ws = await open(t);
    const euro = Buffer.from('\u20ac', 'utf8');
    await ws.sendFrame({ opcode: OP.TEXT, payload: euro.subarray(0, 1), fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: euro.subarray(1), fin: true });
    await expectMessage(t, ws, { text: '\u20ac' });
  }),
  wsCheck('ws-utf8-invalid-in-fragments', [UTF8], 'invalid UTF-8 spread over fragments fails the connection with 1007 (6.4.x)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.from('ok '), fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: Buffer.from([0xed, 0xa0]), fin: false });
    await ws.sendFrame({ opcode: OP.CONT, payload: Buffer.from([0x80]), fin: true });
    await expectFailed(t, ws, [1007]);
  }),
  wsCheck('ws-utf8-binary-anything', [PROTO], 'a binary message may hold invalid UTF-8', async (t) => {
    const ws = await open(t);
    const data = Buffer.from([0xc0, 0xaf, 0xff]);
    await ws.sendBinary(data);
    await expectMessage(t, ws, { binary: data });
  }),
  // ---- close handshake (Autobahn 7.x)
  wsCheck('ws-close-1000', [CLOSE_RULES], 'a client close 1000 is answered with a close frame and the TCP connection closes (7.1.1)', async (t) => {
    const ws = await open(t);
    await ws.sendClose(1000, 'bye');
    await expectCloseReply(t, ws, [1000]);
  }),
  wsCheck('ws-close-empty', [CLOSE_RULES], 'a close frame without payload is answered (with no code or 1000) (7.3.1)', async (t) => {
    const ws = await open(t);
    await ws.sendClose(null);
    await expectCloseReply(t, ws, [null, 1000, 1005]);
  }),
  wsCheck('ws-close-one-byte', [CLOSE_RULES], 'a close payload of one byte fails the connection with 1002 (7.3.2)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.CLOSE, payload: Buffer.from([0x03]) });
    await expectFailed(t, ws, [1002]);
  }),
  wsCheck('ws-close-reason-123', [CLOSE_RULES], 'a close with a 123-byte reason is answered normally (7.3.5)', async (t) => {
    const ws = await open(t);
    await ws.sendClose(1000, 'r'.repeat(123));
    await expectCloseReply(t, ws, [1000]);
  }),
  wsCheck('ws-close-reason-too-long', [CLOSE_RULES], 'a close frame whose payload exceeds 125 bytes fails the connection (7.3.6)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.CLOSE, payload: closePayload(1000, 'r'.repeat(124)) });
    await expectFailed(t, ws, [1002]);
  }),
  wsCheck('ws-close-reason-bad-utf8', [UTF8, CLOSE_RULES], 'a close reason with invalid UTF-8 fails the connection (7.5.1)', async (t) => {
    const ws = await open(t);
    await ws.sendFrame({ opcode: OP.CLOSE, payload: closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65])) });
    await expectFailed(t, ws, [1007, 1002]);
  }),
  ...[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].map((code) => wsCheck(`ws-close-valid-${code}`, [CLOSE_RULES], `a client close with valid code ${code} is answered (7.7.x)`, async (t) => {
    const ws = await open(t);
    await ws.sendClose(code);
    const e = await ws.readUntilClose();
    const c = expectKind(t, e, 'close', 'a close frame in reply');
    t.ok(c.code === code || c.code === 1000, `close code ${code} (echoed) or 1000`, c.code);
  })),
  ...[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535].map((code) => wsCheck(`ws-close-invalid-${code}`, [CLOSE_RULES], `a client close with invalid code ${code} fails the connection with 1002 (7.9.x)`, async (t) => {
    const ws = await open(t);
    await ws.sendClose(code);
    await expectFailed(t, ws, [1002]);
  })),
  wsCheck('ws-data-after-close', [CLOSE_RULES], 'data sent after the client\'s close frame is not echoed (7.1.3-7.1.5)', async (t) => {
    const ws = await open(t);
    await ws.sendClose(1000);
    await ws.sendText('after close').catch(() => undefined);
    const e = await ws.read();
    t.ok(e.kind === 'close' || e.kind === 'eof', 'only the close reply', describeEvent(e));
  }),
  // ---- close and disconnect as the app sees them
  wsCheck('ws-app-close-code', ['asgi.websocket.close.4'], 'websocket.close with a code and reason sends that close frame', async (t) => {
    const ws = await open(t, '/ws/close?code=4001&reason=app%20says%20bye');
    const e = await ws.readUntilClose();
    const c = expectKind(t, e, 'close', 'a close frame');
    t.eq([c.code, c.reason], [4001, 'app says bye'], 'close code and reason');
  }),
  wsCheck('ws-app-close-default', ['asgi.websocket.close.4'], 'websocket.close without a code closes with 1000', async (t) => {
    const ws = await open(t, '/ws/close');
    const e = await ws.readUntilClose();
    t.eq(closeCode(expectKind(t, e, 'close', 'a close frame')), 1000, 'close code');
  }),
  wsCheck('ws-app-close-handshake', ['asgi.websocket.close.4', CLOSE_RULES], 'after the app closes, the server waits for (or accepts) the client close reply and ends TCP', async (t) => {
    const ws = await open(t, '/ws/close?code=1000');
    const e = await ws.readUntilClose();
    t.ok(e.kind === 'close', 'a close frame', describeEvent(e));
    await ws.sendClose(1000).catch(() => undefined);
    t.ok(await ws.conn.waitClosed(), 'TCP connection closed');
  }),
  wsCheck('ws-disconnect-code', ['asgi.websocket.disconnect.1', 'asgi.websocket.disconnect.3'], 'the client\'s close code reaches the app in websocket.disconnect', async (t) => {
    const token = t.token();
    const ws = await open(t, `/ws/echo?token=${token}`);
    await ws.sendClose(4321, 'client reason');
    const r = await t.report(token, undefined, 'a websocket.disconnect report');
    t.eq([r.event, r.code], ['websocket.disconnect', 4321], 'event and code');
  }),
  wsCheck('ws-disconnect-reason', ['asgi.websocket.disconnect.2'], 'the client\'s close reason reaches the app (spec_version 2.5)', async (t) => {
    if (!(await t.has('spec:websocket:2.5'))) t.skip('the server announces a websocket spec_version before 2.5');
    const token = t.token();
    const ws = await open(t, `/ws/echo?token=${token}`);
    await ws.sendClose(4000, 'client reason');
    const r = await t.report(token, undefined, 'a websocket.disconnect report');
    t.eq(r.reason, 'client reason', 'reason');
  }),
  wsCheck('ws-disconnect-abrupt', ['asgi.websocket.disconnect.1', 'asgi.server.bad_request.2'], 'a TCP connection dropped without a close frame reaches the app as code 1006', async (t) => {
    const token = t.token();
    const ws = await open(t, `/ws/echo?token=${token}`);
    ws.conn.destroy();
    const r = await t.report(token, undefined, 'a websocket.disconnect report');
    t.eq([r.event, r.code], ['websocket.disconnect', 1006], 'event and code');
  }),
  wsCheck('ws-send-after-close', ['asgi.websocket.disconnect.4'], 'send() after the client disconnected raises (spec_version 2.4)', async (t) => {
    if (!(await t.has('spec:websocket:2.4'))) t.skip('the server announces a websocket spec_version before 2.4');
    const token = t.token();
    const ws = await open(t, `/ws/send-after-close?token=${token}`);
    await ws.sendClose(1000);
    await ws.readUntilClose().catch(() => undefined);
    const r = await t.report(token, undefined, 'a report of send()');
    t.eq(r.raised, true, 'send() raised');
  }),
  wsCheck('ws-disconnect-1005', ['asgi.websocket.disconnect.1'], 'a client Close frame without a code reaches the app as 1005', async (t) => {
    const token = t.token();
    const ws = await open(t, `/ws/echo?token=${token}`);
    await ws.sendClose(null);
    const r = await t.report(token, undefined, 'a websocket.disconnect report');
    t.eq([r.event, r.code], ['websocket.disconnect', 1005], 'event and code');
  }),
  wsCheck('ws-scope-client-server', ['asgi.websocket.scope.7'], 'client and server of the websocket scope are the socket\'s addresses (or absent)', async (t) => {
    const ws = await open(t, '/ws/scope');
    const e = await ws.readMessage();
    const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
    if (s.client !== null && s.client !== undefined) t.eq(s.client, [ws.conn.socket.localAddress, ws.conn.socket.localPort], 'client');
    if (s.server !== null && s.server !== undefined) t.eq(s.server[1], t.target.port, 'server port');
  }),
  {
    id: 'ws-scope-state',
    clauses: ['asgi.websocket.scope.9'],
    title: 'the websocket scope carries the lifespan state copy, like http',
    interfaces: [...ASGI],
    requires: 'lifespan-state',
    async run(t) {
      const ws = await open(t, '/ws/scope');
      const e = await ws.readMessage();
      const s = JSON.parse(e.kind === 'text' ? e.data : '{}');
      t.eq(s.state?.conformance, 'lifespan-state', 'state.conformance');
    },
  },
  wsCheck('ws-message-too-big', ['asgi.websocket.receive.5'], 'a message above 16 MiB (the default limit) closes the connection with 1009', async (t) => {
    const ws = await open(t);
    await ws.sendBinary(Buffer.alloc((16 << 20) + 1, 1)).catch(() => undefined);
    await expectFailed(t, ws, [1009]);
  }),
  ...([
    ['both', ['asgi.websocket.send.1'], 'websocket.send with both bytes and text'],
    ['bytes-text', ['asgi.websocket.send.2'], 'websocket.send whose bytes are text'],
    ['text-bytes', ['asgi.websocket.send.3'], 'websocket.send whose text cannot be UTF-8 (bytes in Python, a lone surrogate in TS)'],
    ['close-code-reserved', ['asgi.websocket.close.1'], 'websocket.close with the reserved code 1005'],
    ['close-reason-long', ['asgi.websocket.close.2'], 'websocket.close with a 124-byte reason'],
    ['accept-twice', ['asgi.websocket.order.2'], 'a second websocket.accept'],
  ] as const).map(([kind, clauses, what]) => wsCheck(`ws-invalid-${kind}`, [...clauses, 'asgi.app.call.4'], `${what} is rejected`, async (t) => {
    const token = t.token();
    await open(t, `/ws/invalid-event?kind=${kind}&token=${token}`);
    const r = await t.report(token, undefined, 'a report of send()');
    t.eq(r.raised, true, 'send() raised');
  })),
  ...([
    ['subprotocol-not-offered', ['asgi.websocket.accept.4'], 'accepting with a subprotocol the client did not offer'],
    ['protocol-header', ['asgi.websocket.accept.3'], 'a sec-websocket-protocol header in websocket.accept'],
    ['send-before-accept', ['asgi.websocket.order.1'], 'websocket.send before the handshake is answered'],
  ] as const).map(([kind, clauses, what]) => wsCheck(`ws-invalid-${kind}`, [...clauses, 'asgi.app.call.4'], `${what} is rejected`, async (t) => {
    const token = t.token();
    await t.ws(`/ws/invalid-handshake?kind=${kind}&token=${token}`).catch(() => null);
    const r = await t.report(token, undefined, 'a report of send()');
    t.eq(r.raised, true, 'send() raised');
  })),
  wsCheck('ws-send-after-app-close', ['asgi.websocket.order.3'], 'an event after the app closed the connection is rejected', async (t) => {
    const token = t.token();
    await t.ws(`/ws/invalid-handshake?kind=after-close&token=${token}`).catch(() => null);
    const r = await t.report(token, undefined, 'a report of send()');
    t.eq(r.raised, true, 'send() raised');
  }),
  wsCheck('ws-disconnect-repeat', ['asgi.websocket.disconnect.6'], 'receive() after websocket.disconnect returns websocket.disconnect again at once', async (t) => {
    const token = t.token();
    const ws = await open(t, `/ws/echo?token=${token}&again=1`);
    await ws.sendClose(1000);
    const r = await t.report(token, undefined, 'a websocket.disconnect report');
    t.eq(r.again, 'websocket.disconnect', 'the event of a second receive()');
  }),
  wsCheck('ws-disconnect-during-handshake', ['asgi.websocket.disconnect.5'], 'a client that leaves during the handshake: receive() gives websocket.disconnect 1006 and accept raises', async (t) => {
    const token = t.token();
    const c = await t.connect();
    await c.write(t.serialize({ target: `/ws/handshake-leave?token=${token}`, headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']] }));
    await t.appStarted(token);
    c.destroy();
    const r = await t.report(token, (x) => x.event !== undefined, 'a report of the handshake');
    t.eq([r.event, r.code], ['websocket.disconnect', 1006], 'event and code');
    // send() raising once the client is gone is spec_version 2.4.
    if (await t.has('spec:websocket:2.4')) t.eq(r.accept_raised, true, 'websocket.accept raised after the client left');
  }),
];
