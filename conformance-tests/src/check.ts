/**
 * What a check is, and the context it runs in: the address of the server
 * under test, the raw clients, the server's announced features, and
 * assertions that report "expected vs got" and cite nothing but facts.
 */
import { RawConnection, serializeRequest, type RawRequest, type RawResponse } from './raw-http.js';
import { handshake, type HandshakeOptions, type HandshakeResult } from './raw-ws.js';
import { decodeJson } from './json-bytes.js';
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';

/** The interface a server hosts. */
export type Interface = 'asgi' | 'wsgi';

/** Optional features a check may need; when the server does not announce one, the check is skipped. */
export type Feature = 'lifespan' | 'lifespan-state' | `ext:${string}` | `spec:${'http' | 'websocket'}:${string}`;

/** One check of the suite. */
export interface Check {
  /** Stable id of the check, e.g. `http-keepalive-reuse`. */
  id: string;
  /** Clause ids of spec/ that this check verifies. */
  clauses: string[];
  title: string;
  /** Which interfaces it applies to. */
  interfaces: Interface[];
  /** Feature the server must announce for the check to run. */
  requires?: Feature;
  /** Runs after the suite stopped the server (only when the suite started it), reading what the app recorded. */
  afterStop?: boolean;
  run(t: CheckContext): Promise<void>;
}

/** A check's verdict. */
export interface CheckResult {
  id: string;
  clauses: string[];
  title: string;
  status: 'pass' | 'fail' | 'skip';
  /** Why it failed (expected vs got) or was skipped. */
  detail?: string;
  durationMs: number;
}

/** Thrown by assertions: the check failed. */
export class CheckFailure extends Error {
  override name = 'CheckFailure';
}

/** Thrown by `t.skip()`: the check does not apply to this server. */
export class CheckSkipped extends Error {
  override name = 'CheckSkipped';
}

/** Where the server under test listens and how long a check may wait for it. */
export interface Target {
  host: string;
  port: number;
  iface: Interface;
  timeoutMs: number;
  /** The server speaks TLS (an https URL): the HTTP/2 checks connect with h2 by ALPN, not h2c. Its certificate is not verified. */
  secure?: boolean;
  /** The app's report folder and lifespan-shutdown token, when the suite started the server. */
  stateDir?: string;
  shutdownToken?: string;
}

/** Everything a check can use. */
export class CheckContext {
  private readonly opened: RawConnection[] = [];
  private readonly sessions: ClientHttp2Session[] = [];

  constructor(readonly target: Target, private readonly features: FeatureProbe) {}

  get iface(): Interface {
    return this.target.iface;
  }

  /** Opens a raw connection, closed after the check. */
  async connect(): Promise<RawConnection> {
    const c = await RawConnection.open(this.target.host, this.target.port, this.target.timeoutMs);
    this.opened.push(c);
    return c;
  }

  /** Opens an HTTP/2 connection (h2 by ALPN on a secure target, else h2c with prior knowledge), closed after the check. */
  async h2(): Promise<ClientHttp2Session> {
    const host = this.target.host.includes(':') ? `[${this.target.host}]` : this.target.host;
    const session = connectHttp2(`${this.target.secure ? 'https' : 'http'}://${host}:${this.target.port}`, { rejectUnauthorized: false });
    this.sessions.push(session);
    session.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new CheckFailure(`expected an HTTP/2 connection within ${this.target.timeoutMs} ms`)), this.target.timeoutMs);
      session.once('connect', () => (clearTimeout(timer), resolve()));
      session.once('error', (e) => (clearTimeout(timer), reject(new CheckFailure(`expected an HTTP/2 connection; got ${e.message}`))));
    });
    return session;
  }

  /** Sends one request on a fresh connection and reads one response. */
  async request(req: RawRequest | string, opts: { timeoutMs?: number } = {}): Promise<RawResponse> {
    const r = typeof req === 'string' ? { target: req } : req;
    const c = await this.connect();
    await c.write(this.serialize(r));
    return c.readResponse({ method: r.method ?? 'GET', timeoutMs: opts.timeoutMs ?? this.target.timeoutMs });
  }

  /** The bytes of a request, with this server's Host header. */
  serialize(req: RawRequest): Buffer {
    return serializeRequest(req, `${this.target.host.includes(':') ? `[${this.target.host}]` : this.target.host}:${this.target.port}`);
  }

  /** GETs a JSON endpoint of the conformance app, decoding byte strings. */
  async json<T = any>(req: RawRequest | string): Promise<T> {
    const res = await this.request(req);
    this.eq(res.status, 200, `status of ${typeof req === 'string' ? req : req.target}`);
    return parseJsonBody<T>(res);
  }

  /** Opens a connection and performs a WebSocket handshake. */
  async ws(target: string, opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    const c = await this.connect();
    return handshake(c, target, { timeoutMs: this.target.timeoutMs, ...opts });
  }

  /** True when the server announces the feature (probed once per run). */
  has(f: Feature): Promise<boolean> {
    return this.features.has(f, this);
  }

  /** A fresh token that names one check's record in the app's report store. */
  token(): string {
    return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Polls the app's report store until `pred` accepts the record for `token` (or the time runs out). */
  async report<T = any>(token: string, pred: (r: T) => boolean = () => true, what = 'a report'): Promise<T> {
    const deadline = Date.now() + this.target.timeoutMs;
    let last: unknown = null;
    for (;;) {
      const res = await this.request(`/report?token=${token}`);
      if (res.status === 200) {
        last = parseJsonBody<T>(res);
        if (pred(last as T)) return last as T;
      }
      if (Date.now() > deadline) throw new CheckFailure(`expected ${what} from the app; got ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits until the app has recorded that it started handling the request of `token` (so a disconnect reaches a running app). */
  async appStarted(token: string): Promise<void> {
    await this.report(token, () => true, 'the app to start on the request');
  }

  skip(reason: string): never {
    throw new CheckSkipped(reason);
  }

  fail(message: string): never {
    throw new CheckFailure(message);
  }

  /** Deep equality (JSON-shaped values). */
  eq<T>(got: T, expected: T, what: string): void {
    if (!deepEqual(got, expected)) throw new CheckFailure(`${what}: expected ${show(expected)}; got ${show(got)}`);
  }

  ok(cond: unknown, what: string, got?: unknown): void {
    if (!cond) throw new CheckFailure(arguments.length >= 3 ? `${what}; got ${show(got)}` : what);
  }

  /** Closes every connection the check opened. */
  cleanup(): void {
    for (const c of this.opened) c.destroy();
    this.opened.length = 0;
    for (const s of this.sessions) s.destroy();
    this.sessions.length = 0;
  }
}

/** Parses a JSON response body of the conformance app (byte strings decoded). */
export function parseJsonBody<T>(res: RawResponse): T {
  const text = res.body.toString('utf8');
  try {
    return decodeJson(text) as T;
  } catch {
    throw new CheckFailure(`expected a JSON body; got ${show(text.slice(0, 200))} (status ${res.status})`);
  }
}

/** Finds out, once per run, which optional features the server announces. */
export class FeatureProbe {
  private scope: Promise<any> | null = null;
  private wsScope: Promise<any> | null = null;

  /** The scope (ASGI) or environ (WSGI) of a plain request, as the app echoes it. */
  baseline(t: CheckContext): Promise<any> {
    this.scope ??= t.json(t.iface === 'asgi' ? '/scope' : '/environ');
    return this.scope;
  }

  private async websocketScope(t: CheckContext): Promise<any> {
    const r = await t.ws('/ws/scope');
    if (!r.ws) return null;
    const e = await r.ws.readMessage();
    r.ws.conn.destroy();
    return e.kind === 'text' ? JSON.parse(e.data) : null;
  }

  async has(f: Feature, t: CheckContext): Promise<boolean> {
    if (t.iface !== 'asgi') return false;
    const scope = await this.baseline(t);
    if (f === 'lifespan') {
      const r = await t.json('/lifespan');
      return r.startup === true;
    }
    if (f === 'lifespan-state') return scope.state !== undefined && scope.state !== null;
    if (f.startsWith('spec:')) {
      // A server announces the version of the HTTP or WebSocket text it follows; older ones
      // are not held to rules added later (e.g. send() raising after a disconnect in 2.4).
      const [, proto, wanted] = f.split(':') as [string, string, string];
      const s = proto === 'http' ? scope : await (this.wsScope ??= this.websocketScope(t));
      // No websocket scope to read (the handshake failed): run the check, which then fails on the handshake.
      if (s === null) return true;
      return versionAtLeast(s?.asgi?.spec_version ?? '2.0', wanted);
    }
    const ext = f.slice(4);
    // A WebSocket extension is announced in the websocket scope (asgi.ext.websocket_http_response.1), which may be the
    // only place a server names it; without a websocket scope to read, the http scope's extensions decide.
    const ws = ext.startsWith('websocket.') ? await (this.wsScope ??= this.websocketScope(t)) : null;
    const extensions = (ws ?? scope).extensions;
    return typeof extensions === 'object' && extensions !== null && ext in extensions;
  }
}

/** True when dotted version `v` is at least `wanted` ("2.10" > "2.9"). */
export function versionAtLeast(v: string, wanted: string): boolean {
  const a = v.split('.').map(Number);
  const b = wanted.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

export function show(v: unknown): string {
  if (Buffer.isBuffer(v)) return `bytes ${JSON.stringify(v.toString('latin1').slice(0, 200))}`;
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 300 ? s.slice(0, 297) + '...' : s;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return JSON.stringify(a) === JSON.stringify(b);
}
