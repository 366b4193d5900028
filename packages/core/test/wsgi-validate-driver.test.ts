/**
 * validateWsgi between an app and the real server-side pieces of @tsgi/core:
 * buildHttpScope -> environFromScope (with createWsgiInput) -> callWsgiApp.
 * Conforming apps must pass with no violation blamed on the server; a
 * violating app's error must reach the driver's error log, naming its clause.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClientDisconnected,
  buildHttpScope,
  callWsgiApp,
  checkEnviron,
  createWsgiInput,
  environFromScope,
  fileWrapper,
  isProtocolError,
  memorySource,
  validateWsgi,
  WsgiValidationError,
} from '@tsgi/core';
import type { CallResult, FileLike, WsgiApplication, WsgiErrors, WsgiSink } from '@tsgi/core';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

interface Outcome {
  result: CallResult;
  status: number;
  headers: Array<[string, string]>;
  body: string;
  ended: boolean;
  aborted: boolean;
  errors: unknown[];
  log: string;
}

interface RequestOptions {
  method?: string;
  target?: string;
  headers?: Array<[string, string]>;
  /** Body chunks as the client sends them. */
  body?: string[];
  /** Throw ClientDisconnected from the sink after this many body chunks. */
  disconnectAfter?: number;
}

/** Runs `app` through the real environ builder and call driver, with an in-memory sink. */
function run(app: WsgiApplication, options: RequestOptions = {}): Outcome {
  const body = options.body ?? [];
  const headers: Array<[string, string]> = [['host', 'example.test:8080'], ...(options.headers ?? [])];
  const total = body.reduce((n, s) => n + enc.encode(s).length, 0);
  const chunked = headers.some(([n]) => n === 'transfer-encoding');
  if (body.length > 0 && !chunked) headers.push(['content-length', String(total)]);
  const scope = buildHttpScope(
    {
      method: options.method ?? (body.length > 0 ? 'POST' : 'GET'),
      target: options.target ?? '/hello?x=1',
      httpVersion: '1.1',
      headers,
      client: ['127.0.0.1', 50000],
      server: ['127.0.0.1', 8080],
      scheme: 'http',
    },
    { rootPath: '/app' },
  );
  let log = '';
  const errors: WsgiErrors = {
    write: (s) => void (log += s),
    writelines: (lines) => void (log += [...lines].join('')),
    flush: () => {},
  };
  const input = createWsgiInput(memorySource(body.map(bytes)), chunked ? null : total);
  const environ = environFromScope(scope, { input, errors, multithread: false, multiprocess: false, fileWrapper });
  const out: Omit<Outcome, 'result'> = { status: 0, headers: [], body: '', ended: false, aborted: false, errors: [], log: '' };
  let chunks = 0;
  const sink: WsgiSink = {
    start(status, _reason, hs) {
      out.status = status;
      out.headers = hs;
    },
    body(chunk) {
      if (options.disconnectAfter !== undefined && chunks >= options.disconnectAfter) throw new ClientDisconnected();
      chunks++;
      out.body += dec.decode(chunk);
    },
    end() {
      out.ended = true;
    },
    abort() {
      out.aborted = true;
    },
  };
  const result = callWsgiApp(app, environ, sink, { onError: (e) => out.errors.push(e) });
  return { ...out, result, log };
}

/** Every error the driver logged must be none at all for a conforming app. */
function expectClean(o: Outcome): void {
  expect(o.errors.map((e) => (e instanceof Error ? e.message : String(e)))).toEqual([]);
}

describe('validateWsgi over the real environ builder and call driver', () => {
  it('the environ the driver passes is valid, and a list response goes through', () => {
    const app = validateWsgi((env, sr) => {
      sr('200 OK', [['Content-Type', 'text/plain']]);
      return [bytes(`${env.SCRIPT_NAME}|${env.PATH_INFO}|${env.QUERY_STRING}`)];
    });
    const o = run(app);
    expectClean(o);
    expect(o).toMatchObject({ status: 200, body: '/app|/hello|x=1', ended: true });
    app.assertClosed();
  });

  it('a generator, write(), and a late start_response', () => {
    const app = validateWsgi(function* (_env, sr) {
      yield new Uint8Array(0);
      const write = sr('200 OK', []);
      write(bytes('w'));
      yield bytes('a');
      yield new Uint8Array(0);
      yield bytes('b');
    });
    const o = run(app);
    expectClean(o);
    expect(o.body).toBe('wab');
    app.assertClosed();
  });

  it('the body read every way, with Content-Length and chunked', () => {
    const reader: WsgiApplication = (env, sr) => {
      const input = env['wsgi.input'];
      const parts = [input.read(2), input.readline(), input.readline(1), ...input.readlines(), input.read()];
      sr('200 OK', []);
      return parts.map((p) => bytes(`[${dec.decode(p)}]`));
    };
    const body = ['ab', 'c\nd', 'e\nfg\n', 'h'];
    const viaLength = validateWsgi(reader);
    const o1 = run(viaLength, { body });
    expectClean(o1);
    expect(o1.body).toBe('[ab][c\n][d][e\n][fg\n][h][]');
    viaLength.assertClosed();
    const viaChunks = validateWsgi(reader);
    const o2 = run(viaChunks, { body, headers: [['transfer-encoding', 'chunked']] });
    expectClean(o2);
    expect(o2.body).toBe(o1.body);
    viaChunks.assertClosed();
  });

  it('exc_info before headers replaces the response; after headers the driver rethrows it and aborts', () => {
    const early = validateWsgi((_env, sr) => {
      sr('200 OK', []);
      sr('503 Service Unavailable', [], new Error('busy'));
      return [bytes('later')];
    });
    const o1 = run(early);
    expectClean(o1);
    expect(o1).toMatchObject({ status: 503, body: 'later' });
    early.assertClosed();

    const boom = new Error('boom');
    const late = validateWsgi(function* (_env, sr) {
      sr('200 OK', []);
      yield bytes('partial');
      sr('500 Internal Server Error', [], boom);
    });
    const o2 = run(late);
    expect(o2.errors).toEqual([boom]);
    expect(o2).toMatchObject({ status: 200, body: 'partial', aborted: true });
    late.assertClosed();
  });

  it('wsgi.file_wrapper from the driver passes the validator', () => {
    const data = bytes('file contents');
    let pos = 0;
    const file: FileLike = { read: (n) => data.subarray(pos, (pos = Math.min(data.length, pos + n))) };
    const app = validateWsgi((env, sr) => {
      sr('200 OK', [['Content-Length', String(data.length)]]);
      return env['wsgi.file_wrapper']!(file, 4);
    });
    const o = run(app);
    expectClean(o);
    expect(o.body).toBe('file contents');
    app.assertClosed();
  });

  it('HEAD and a client that disconnects mid-stream still get close() exactly once', () => {
    const stream: WsgiApplication = function* (_env, sr) {
      sr('200 OK', []);
      for (let i = 0; i < 5; i++) yield bytes(`${i}`);
    };
    const head = validateWsgi(stream);
    expectClean(run(head, { method: 'HEAD' }));
    head.assertClosed();
    const gone = validateWsgi(stream);
    const o = run(gone, { disconnectAfter: 2 });
    expectClean(o);
    expect(o.body).toBe('01');
    gone.assertClosed();
  });

  it("an app's violation reaches the driver's error log as a ProtocolError blamed on the app, and the client gets a 500", () => {
    const app = validateWsgi(((_env: unknown, sr: (s: string, h: unknown[]) => void) => {
      sr('200 OK', []);
      return ['not bytes'];
    }) as unknown as WsgiApplication);
    const o = run(app);
    expect(o.status).toBe(500);
    expect(o.errors).toHaveLength(1);
    const e = o.errors[0];
    expect(isProtocolError(e) && e.clause).toBe('wsgi.response.chunk.1');
    expect(e instanceof WsgiValidationError && e.side).toBe('app');
    expect(o.body).not.toContain('not bytes');
    app.assertClosed();
  });
});

describe('environFromScope output always passes checkEnviron', () => {
  const tokenChar = fc.constantFrom(...("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz".split('')));
  const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
  const valueChar = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
  const value = fc.string({ unit: valueChar, maxLength: 20 }).map((v) => v.trim());
  const pathChar = fc.oneof(
    fc.constantFrom(...("abc/.-_~!$&'()*+,;=:@".split(''))),
    fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('%2F', '%00', '%E2%82%AC', '%zz', '%'),
  );
  const query = fc.string({ unit: fc.constantFrom(...'a=b&%+x'.split('')), maxLength: 10 });
  const target = fc.tuple(fc.string({ unit: pathChar, maxLength: 20 }), fc.option(query)).map(([p, q]) => '/' + p + (q === null ? '' : '?' + q));

  it('for random methods, targets, headers, root paths, versions, bodies and peers', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'M-SEARCH'),
        target,
        fc.array(fc.tuple(token, value), { maxLength: 6 }),
        // Root paths as servers hand them over: '' or a mount point without a trailing slash.
        fc.constantFrom('', '/app', '/a b', '/caf\u00e9'),
        fc.constantFrom('1.0' as const, '1.1' as const),
        fc.option(fc.nat({ max: 1000 })),
        fc.boolean(),
        fc.constantFrom('http' as const, 'https' as const),
        (method, tgt, hs, rootPath, httpVersion, length, unix, scheme) => {
          const headers = hs.filter(([n]) => n !== 'content-length' && n !== 'transfer-encoding');
          if (length !== null) headers.push(['content-length', String(length)]);
          const scope = buildHttpScope(
            { method, target: tgt, httpVersion, headers, client: unix ? null : ['::1', 1234], server: unix ? null : ['127.0.0.1', 8000], scheme },
            { rootPath },
          );
          const errors = { write() {}, writelines() {}, flush() {} };
          const environ = environFromScope(scope, { input: createWsgiInput(memorySource([]), length), errors, multithread: true, multiprocess: false });
          expect(checkEnviron(environ)).toBe(environ);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
