/**
 * The ASGI-TS conformance app of @tsgi/conformance. Serve it with any ASGI-TS
 * server (`tsgi serve conformance-tests/apps/asgi-app.ts:app`) and point
 * `tsgi-conformance --interface asgi --url ...` at it. Its Python port,
 * conformance-tests/python/asgi_app.py, has the same endpoints and behavior;
 * keep them in step.
 *
 * Reports that cannot travel in the response itself (what the app saw after
 * the client left) go to a file store: one JSON file per token in
 * $TSGI_CONFORMANCE_STATE_DIR (default <tmp>/tsgi-conformance-state), read
 * back with GET /report?token=T. Byte strings cross JSON as
 * {"$bytes": "<latin-1 text>"} (see src/json-bytes.ts).
 *
 * It imports only types, so it runs under any server without this repo's packages.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AsgiApplication, HttpScope, LifespanScope, Receive, Scope, Send, WebSocketScope } from '@tsgi/core';

const STATE_DIR = process.env.TSGI_CONFORMANCE_STATE_DIR || join(tmpdir(), 'tsgi-conformance-state');
const FIXTURE = fileURLToPath(new URL('./fixtures/file.txt', import.meta.url));
const enc = new TextEncoder();

const LIFESPAN: { startup: boolean; events: string[]; asgi?: unknown; state_keys_at_startup?: string[] | null } = { startup: false, events: [] };

// A string is a byte string when every char is <= 0xFF (docs/architecture.md, "Byte strings").
const NOT_LATIN1 = /[^\u0000-\u00ff]/;

/** A byte-string field of the scope: tagged as bytes when it is one, left as a plain string (a type error the checks see) otherwise. */
function bytesField(v: unknown): unknown {
  return typeof v === 'string' && !NOT_LATIN1.test(v) ? { $bytes: v } : encode(v);
}

/** JSON-safe form of any value; Uint8Array becomes {"$bytes": latin-1 text}. */
function encode(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1') };
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(encode);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype || (typeof v === 'object' && Object.getPrototypeOf(v) === null)) {
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, encode(x)]));
  }
  return { $type: typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v };
}

/** The scope with its byte-string fields tagged, as the Python port's generic encoding gives them. */
function encodeScope(scope: Scope): unknown {
  const out = encode(scope) as Record<string, unknown>;
  if (scope.type === 'lifespan') return out;
  out.raw_path = scope.raw_path === null || scope.raw_path === undefined ? null : bytesField(scope.raw_path);
  out.query_string = bytesField(scope.query_string);
  if (Array.isArray(scope.headers)) out.headers = scope.headers.map((h) => (Array.isArray(h) ? h.map(bytesField) : encode(h)));
  return out;
}

function record(token: string | undefined, data: unknown): void {
  if (!token) return;
  mkdirSync(STATE_DIR, { recursive: true });
  const tmp = join(STATE_DIR, `${token}.json.tmp`);
  writeFileSync(tmp, JSON.stringify(encode(data)));
  renameSync(tmp, join(STATE_DIR, `${token}.json`));
}

function readRecord(token: string): string | null {
  try {
    return readFileSync(join(STATE_DIR, `${basename(token)}.json`), 'utf8');
  } catch {
    return null;
  }
}

function query(scope: HttpScope | WebSocketScope): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(scope.query_string ?? ''));
}

function route(scope: HttpScope | WebSocketScope): string {
  const path = scope.path ?? '';
  const root = scope.root_path ?? '';
  return root && path.startsWith(root) ? path.slice(root.length) || '/' : path;
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function respond(send: Send, status: number, body: Uint8Array | string = '', headers: Array<[string, string]> = [], contentType = 'text/plain'): Promise<void> {
  const b = typeof body === 'string' ? enc.encode(body) : body;
  await send({ type: 'http.response.start', status, headers: [['content-type', contentType], ['content-length', String(b.byteLength)], ...headers] });
  await send({ type: 'http.response.body', body: b });
}

function respondJson(send: Send, value: unknown, status = 200): Promise<void> {
  return respond(send, status, JSON.stringify(encode(value)), [], 'application/json');
}

async function readBody(receive: Receive): Promise<{ body: Uint8Array; events: Array<Record<string, unknown>> }> {
  const parts: Uint8Array[] = [];
  const events: Array<Record<string, unknown>> = [];
  for (;;) {
    const ev = (await receive()) as unknown as Record<string, unknown>;
    events.push(ev);
    if (ev.type !== 'http.request') break;
    if (ev.body instanceof Uint8Array) parts.push(ev.body);
    if (!ev.more_body) break;
  }
  return { body: Buffer.concat(parts), events };
}

/** The conformance app. */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') return lifespan(scope, receive, send);
  if (scope.type === 'websocket') return websocket(scope, receive, send);
  return http(scope, receive, send);
};

async function lifespan(scope: LifespanScope, receive: Receive, send: Send): Promise<void> {
  for (;;) {
    const ev = await receive();
    LIFESPAN.events.push(ev.type);
    if (ev.type === 'lifespan.startup') {
      LIFESPAN.startup = true;
      LIFESPAN.asgi = scope.asgi;
      LIFESPAN.state_keys_at_startup = scope.state ? Object.keys(scope.state).sort() : null;
      if (scope.state) {
        scope.state.conformance = 'lifespan-state';
        scope.state.items = ['from-startup'];
      }
      await send({ type: 'lifespan.startup.complete' });
    } else if (ev.type === 'lifespan.shutdown') {
      record(process.env.TSGI_CONFORMANCE_SHUTDOWN_TOKEN, { shutdown: true });
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

async function http(scope: HttpScope, receive: Receive, send: Send): Promise<void> {
  const p = route(scope);
  const q = query(scope);
  const ext = scope.extensions ?? {};
  if (p === '/scope' || p.startsWith('/scope/')) return respondJson(send, encodeScope(scope));
  if (p === '/lifespan') return respondJson(send, LIFESPAN);
  if (p === '/state-mutate') {
    if (!scope.state) return respondJson(send, null);
    scope.state.mutated = true;
    return respondJson(send, scope.state);
  }
  if (p === '/report') {
    const data = readRecord(q.token ?? '');
    return data === null ? respond(send, 404, 'no report') : respond(send, 200, data, [], 'application/json');
  }
  if (p === '/echo') {
    const { body, events } = await readBody(receive);
    const n = events.filter((e) => e.type === 'http.request').length;
    return respond(send, 200, body, [['x-events', String(n)]], 'application/octet-stream');
  }
  if (p === '/slow-then-echo') {
    // Waits on a timer before answering, as an app waiting on a database or an upstream would.
    const { body } = await readBody(receive);
    await sleep(Number(q.ms ?? 50));
    return respond(send, 200, body, [], 'application/octet-stream');
  }
  if (p === '/events') {
    const { body, events } = await readBody(receive);
    const out = events.map((e) => ({
      type: e.type,
      keys: Object.keys(e).sort(),
      body_type: 'body' in e ? (e.body instanceof Uint8Array ? 'Uint8Array' : typeof e.body) : null,
      body_len: e.body instanceof Uint8Array ? e.body.byteLength : 0,
      more_body: e.more_body ?? null,
    }));
    return respondJson(send, { events: out, body });
  }
  if (p === '/receive-after') {
    await readBody(receive);
    await respond(send, 200, 'done');
    const ev = await receive();
    return record(q.token, { event: ev.type });
  }
  if (p === '/disconnect') {
    record(q.token, { stage: 'started' });
    const { body, events } = await readBody(receive);
    let last = events.at(-1)?.type;
    while (last !== 'http.disconnect') last = (await receive()).type;
    return record(q.token, { event: last, body_len: body.byteLength });
  }
  if (p === '/send-after-disconnect') {
    record(q.token, { stage: 'started' });
    while ((await receive()).type !== 'http.disconnect');
    try {
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: enc.encode('late') });
    } catch (e) {
      return record(q.token, { raised: true, error: describeError(e), oserror: (e as { code?: string })?.code === 'ECONNRESET' });
    }
    return record(q.token, { raised: false });
  }
  if (p === '/stream') {
    const n = Number(q.n ?? 3);
    const size = Number(q.size ?? 8);
    const delay = Number(q.delay ?? 0);
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
    for (let i = 0; i < n; i++) {
      await send({ type: 'http.response.body', body: new Uint8Array(size).fill(97 + (i % 26)), more_body: true });
      // With a token, how many chunks send() has taken so far (a check of flow control reads it while the client does not read).
      record(q.token, { sent: i + 1 });
      if (delay) await sleep(delay);
    }
    return send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
  }
  if (p === '/chunks') {
    const sizes = (q.sizes ?? '').split(',').filter(Boolean).map(Number);
    await send({ type: 'http.response.start', status: 200, headers: [] });
    for (const s of sizes) await send({ type: 'http.response.body', body: new Uint8Array(s).fill(0x7a), more_body: true });
    return send({ type: 'http.response.body' });
  }
  if (p === '/ignore-body') return respond(send, 200, 'ok');
  if (p === '/raise-before') throw new Error('conformance: raised before http.response.start (SECRET-TRACE)');
  if (p === '/raise-after') {
    await send({ type: 'http.response.start', status: 200, headers: [] });
    await send({ type: 'http.response.body', body: enc.encode('partial'), more_body: true });
    throw new Error('conformance: raised after http.response.start');
  }
  if (p === '/no-response') return;
  if (p === '/start-then-raise') {
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    throw new Error('conformance: raised after http.response.start, before any body');
  }
  if (p === '/extra-keys') {
    const sendAny = send as (e: unknown) => Promise<void>;
    await sendAny({ type: 'http.response.start', status: 200, headers: [['content-length', '2']], x_future_key: 1 });
    return sendAny({ type: 'http.response.body', body: enc.encode('ok'), x_future_key: true });
  }
  if (p === '/pathsend-missing') {
    if (!('http.response.pathsend' in ext)) return respond(send, 404, 'pathsend not announced');
    await send({ type: 'http.response.start', status: 200, headers: [] });
    return send({ type: 'http.response.pathsend', path: `${FIXTURE}.does-not-exist` });
  }
  if (p === '/zerocopysend') {
    if (!('http.response.zerocopysend' in ext)) return respond(send, 404, 'zerocopysend not announced');
    const fd = openSync(FIXTURE, 'r');
    try {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '20']] });
      await send({ type: 'http.response.body', body: enc.encode('0123456789'), more_body: true });
      return await send({ type: 'http.response.zerocopysend', file: fd, offset: 0, count: 10 });
    } finally {
      closeSync(fd);
    }
  }
  if (p === '/status') {
    const code = Number(q.code ?? 200);
    const bodiless = code === 204 || code === 304 || code < 200;
    const body = bodiless ? new Uint8Array(0) : enc.encode(`status ${code}`);
    await send({ type: 'http.response.start', status: code, headers: bodiless ? [] : [['content-length', String(body.byteLength)]] });
    return send({ type: 'http.response.body', body });
  }
  if (p === '/headers') {
    return respond(send, 200, 'headers', [['x-dup', 'one'], ['x-dup', 'two'], ['x-latin1', 'caf\u00e9'], ['x-empty', ''], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
  }
  if (p === '/content-length') {
    const declared = Number(q.declared ?? 0);
    const actual = Number(q.actual ?? 0);
    await send({ type: 'http.response.start', status: 200, headers: [['content-length', String(declared)]] });
    return send({ type: 'http.response.body', body: new Uint8Array(actual).fill(0x79) });
  }
  if (p === '/head') return respond(send, 200, 'hello world');
  if (p === '/upper-header') return respond(send, 200, 'ok', [['X-Upper-Case', 'kept']]);
  if (p === '/invalid') return invalid(q.kind ?? '', q.token, send);
  if (p === '/pathsend') {
    if (!('http.response.pathsend' in ext)) return respond(send, 404, 'pathsend not announced');
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    return send({ type: 'http.response.pathsend', path: FIXTURE });
  }
  if (p === '/trailers') {
    if (!('http.response.trailers' in ext)) return respond(send, 404, 'trailers not announced');
    await send({ type: 'http.response.start', status: 200, headers: [['trailer', 'x-checksum']], trailers: true });
    await send({ type: 'http.response.body', body: enc.encode('with trailers') });
    return send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']], more_trailers: false });
  }
  if (p === '/reason-phrase') {
    if (!('http.response.reason_phrase' in ext)) return respond(send, 404, 'reason_phrase not announced');
    await send({ type: 'http.response.start', status: 299, reason_phrase: q.reason ?? '', headers: [['content-type', 'text/plain'], ['content-length', '2']] });
    return send({ type: 'http.response.body', body: enc.encode('ok') });
  }
  if (p === '/early-hint') {
    if (!('http.response.early_hint' in ext)) return respond(send, 404, 'early_hint not announced');
    await send({ type: 'http.response.early_hint', links: ['</style.css>; rel=preload; as=style'] });
    return respond(send, 200, 'hinted');
  }
  return respond(send, 404, 'not found');
}

/** Deliberately invalid events, by name; the server must make send() raise on each. */
const INVALID: Record<string, () => unknown> = {
  'status-str': () => ({ type: 'http.response.start', status: '200', headers: [] }),
  'status-range': () => ({ type: 'http.response.start', status: 1000, headers: [] }),
  // Python sends a text (str) header name; in ASGI-TS a name that is not a byte string has a char > 0xFF.
  'header-name-str': () => ({ type: 'http.response.start', status: 200, headers: [['x-\u0100', 'v']] }),
  'header-value-crlf': () => ({ type: 'http.response.start', status: 200, headers: [['x-bad', 'a\r\nx-injected: 1']] }),
  'unknown-type': () => ({ type: 'http.response.bogus' }),
  'body-before-start': () => ({ type: 'http.response.body', body: enc.encode('too early') }),
  'debug-unannounced': () => ({ type: 'http.response.debug', info: { template: 'x' } }),
  'reason-phrase-crlf': () => ({ type: 'http.response.start', status: 200, reason_phrase: 'OK\r\nx-injected: 1', headers: [] }),
};

/** Deliberately invalid WebSocket events after accept, by name. */
const WS_INVALID: Record<string, () => unknown> = {
  both: () => ({ type: 'websocket.send', text: 'both', bytes: enc.encode('both') }),
  'bytes-text': () => ({ type: 'websocket.send', bytes: 'text, not bytes' }),
  // Python sends bytes as text; in ASGI-TS a text that cannot be UTF-8 encoded is a lone surrogate.
  'text-bytes': () => ({ type: 'websocket.send', text: 'lone \ud800 surrogate' }),
  'close-code-reserved': () => ({ type: 'websocket.close', code: 1005 }),
  'close-reason-long': () => ({ type: 'websocket.close', code: 1000, reason: 'r'.repeat(124) }),
  'accept-twice': () => ({ type: 'websocket.accept' }),
};

/** Deliberately invalid answers to the handshake, by name. */
const WS_INVALID_HANDSHAKE: Record<string, () => unknown> = {
  'subprotocol-not-offered': () => ({ type: 'websocket.accept', subprotocol: 'not-offered' }),
  'protocol-header': () => ({ type: 'websocket.accept', headers: [['sec-websocket-protocol', 'chat']] }),
  'send-before-accept': () => ({ type: 'websocket.send', text: 'too early' }),
};

/** Sends one invalid event; records whether send() raised, then answers as well as it can. */
async function invalid(kind: string, token: string | undefined, send: Send): Promise<void> {
  const sendAny = send as (e: unknown) => Promise<void>;
  let started: boolean | null = false;
  let result: string;
  try {
    if (kind === 'body-str') {
      await send({ type: 'http.response.start', status: 200, headers: [] });
      started = true;
      await sendAny({ type: 'http.response.body', body: 'text, not bytes', more_body: true });
    } else if (kind === 'start-twice') {
      await send({ type: 'http.response.start', status: 200, headers: [] });
      started = true;
      await send({ type: 'http.response.start', status: 200, headers: [] });
    } else if (kind === 'after-complete') {
      await respond(send, 200, 'complete');
      started = null;
      await send({ type: 'http.response.body', body: enc.encode('extra') });
    } else if (kind in INVALID) {
      await sendAny(INVALID[kind]!());
    } else {
      return respond(send, 404, 'unknown kind');
    }
    record(token, { raised: false });
    result = JSON.stringify({ raised: false });
  } catch (e) {
    record(token, { raised: true, error: describeError(e) });
    result = JSON.stringify({ raised: true, error: describeError(e) });
  }
  if (started === null) return;
  if (!started) await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: enc.encode(result) });
}

async function websocket(scope: WebSocketScope, receive: Receive, send: Send): Promise<void> {
  const p = route(scope);
  const q = query(scope);
  const token = q.token;
  const first = await receive();
  if (first.type !== 'websocket.connect') return record(token, { first_event: first.type });
  if (p === '/ws/deny') return send({ type: 'websocket.close' });
  if (p === '/ws/deny-response') {
    if (!('websocket.http.response' in (scope.extensions ?? {}))) return send({ type: 'websocket.close' });
    await send({ type: 'websocket.http.response.start', status: 401, headers: [['content-type', 'text/plain'], ['x-denied', 'yes']] });
    return send({ type: 'websocket.http.response.body', body: enc.encode('denied by app') });
  }
  if (p === '/ws/raise-before') throw new Error('conformance: raised before websocket.accept');
  if (p === '/ws/no-accept') return;
  if (p === '/ws/handshake-leave') {
    record(token, { stage: 'started' });
    await sleep(500);
    const ev = await Promise.race([receive(), sleep(2000).then(() => null)]);
    if (ev === null) return record(token, { event: 'timeout' });
    const code = ev.type === 'websocket.disconnect' ? ev.code : null;
    try {
      await send({ type: 'websocket.accept' });
    } catch {
      return record(token, { event: ev.type, code, accept_raised: true });
    }
    return record(token, { event: ev.type, code, accept_raised: false });
  }
  if (p === '/ws/invalid-handshake') {
    try {
      if (q.kind === 'after-close') {
        await send({ type: 'websocket.close' });
        await send({ type: 'websocket.accept' });
      } else {
        await (send as (e: unknown) => Promise<void>)(WS_INVALID_HANDSHAKE[q.kind ?? '']!());
      }
    } catch (e) {
      record(token, { raised: true, error: describeError(e) });
      if (q.kind !== 'after-close') await send({ type: 'websocket.close' });
      return;
    }
    return record(token, { raised: false });
  }
  const accept: { type: 'websocket.accept'; subprotocol?: string; headers?: Array<[string, string]> } = { type: 'websocket.accept' };
  if (p === '/ws/subprotocol' && scope.subprotocols?.length) accept.subprotocol = scope.subprotocols.at(-1)!;
  if (p === '/ws/headers') accept.headers = [['x-extra', 'accepted'], ['set-cookie', 'ws=1']];
  await send(accept);
  if (p === '/ws/scope') {
    await send({ type: 'websocket.send', text: JSON.stringify(encodeScope(scope)) });
  } else if (p === '/ws/close') {
    return send({ type: 'websocket.close', code: Number(q.code ?? 1000), reason: q.reason ?? '' });
  } else if (p === '/ws/raise-after') {
    throw new Error('conformance: raised after websocket.accept');
  } else if (p === '/ws/return') {
    return;
  } else if (p === '/ws/send-n') {
    const n = Number(q.n ?? 3);
    const size = Number(q.size ?? 4);
    for (let i = 0; i < n; i++) await send({ type: 'websocket.send', bytes: new Uint8Array(size).fill(i % 256) });
    await send({ type: 'websocket.send', text: 'done' });
  } else if (p === '/ws/invalid') {
    try {
      await send({ type: 'websocket.send', text: 'both', bytes: enc.encode('both') });
      await send({ type: 'websocket.send', text: 'raised: False' });
    } catch (e) {
      await send({ type: 'websocket.send', text: `raised: ${describeError(e)}` });
    }
  } else if (p === '/ws/invalid-event') {
    try {
      await (send as (e: unknown) => Promise<void>)(WS_INVALID[q.kind ?? '']!());
    } catch (e) {
      record(token, { raised: true, error: describeError(e) });
      return send({ type: 'websocket.close', code: 1000 });
    }
    record(token, { raised: false });
    return send({ type: 'websocket.close', code: 1000 });
  } else if (p === '/ws/send-after-close') {
    while ((await receive()).type !== 'websocket.disconnect');
    try {
      await send({ type: 'websocket.send', text: 'late' });
    } catch (e) {
      return record(token, { raised: true, error: describeError(e), oserror: (e as { code?: string })?.code === 'ECONNRESET' });
    }
    return record(token, { raised: false });
  }
  // echo until the client leaves
  for (;;) {
    const ev = await receive();
    if (ev.type === 'websocket.receive') {
      if (ev.text !== null && ev.text !== undefined) await send({ type: 'websocket.send', text: ev.text });
      else await send({ type: 'websocket.send', bytes: ev.bytes ?? new Uint8Array(0) });
    } else if (ev.type === 'websocket.disconnect') {
      let again: string | null = null;
      if (q.again) again = (await Promise.race([receive(), sleep(1000).then(() => null)]))?.type ?? 'timeout';
      return record(token, { event: ev.type, code: ev.code, reason: ev.reason ?? null, keys: Object.keys(ev).sort(), again });
    }
  }
}
