import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WsgiValidationError, validateWsgi } from '@tsgi/core';
import type {
  FileLike,
  ProtocolError,
  StartResponse,
  WriteCallable,
  WsgiApplication,
  WsgiEnviron,
  WsgiErrors,
  WsgiInput,
  WsgiResponse,
} from '@tsgi/core';
import { protocolErrorOf } from './protocol-errors.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

/** Expects fn to throw a ProtocolError citing `clause`, blamed on `side`. */
function expectViolation(fn: () => unknown, clause: string, side: 'app' | 'server'): void {
  const e = protocolErrorOf(fn);
  expect(e.clause).toBe(clause);
  expect(e).toBeInstanceOf(WsgiValidationError);
  expect((e as WsgiValidationError).side).toBe(side);
  expect(e.message).toContain(`[${clause}] ${side}: `);
}

/** A wsgi.input over an in-memory body, honoring CONTENT_LENGTH like a real server. */
class MemoryInput implements WsgiInput {
  private pos = 0;
  constructor(private readonly body: Uint8Array) {}
  read(size?: number): Uint8Array {
    const end = size === undefined || size < 0 ? this.body.length : Math.min(this.body.length, this.pos + size);
    const out = this.body.subarray(this.pos, end);
    this.pos = end;
    return out;
  }
  readline(size?: number): Uint8Array {
    const lf = this.body.indexOf(10, this.pos);
    let end = lf === -1 ? this.body.length : lf + 1;
    if (size !== undefined && size >= 0) end = Math.min(end, this.pos + size);
    const out = this.body.subarray(this.pos, end);
    this.pos = end;
    return out;
  }
  readlines(hint?: number): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let total = 0;
    for (let l = this.readline(); l.length > 0; l = this.readline()) {
      lines.push(l);
      total += l.length;
      if (hint !== undefined && hint > 0 && total >= hint) break;
    }
    return lines;
  }
  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (let l = this.readline(); l.length > 0; l = this.readline()) yield l;
  }
}

class MemoryErrors implements WsgiErrors {
  text = '';
  write(s: string): void {
    this.text += s;
  }
  writelines(lines: Iterable<string>): void {
    for (const l of lines) this.text += l;
  }
  flush(): void {}
}

function makeEnviron(body: Uint8Array = new Uint8Array(0), overrides: Record<string, unknown> = {}): WsgiEnviron {
  const env: Record<string, unknown> = {
    REQUEST_METHOD: body.length > 0 ? 'POST' : 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: '/test',
    QUERY_STRING: '',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '80',
    SERVER_PROTOCOL: 'HTTP/1.1',
    'wsgi.version': [1, 0],
    'wsgi.url_scheme': 'http',
    'wsgi.input': new MemoryInput(body),
    'wsgi.errors': new MemoryErrors(),
    'wsgi.multithread': false,
    'wsgi.multiprocess': false,
    'wsgi.run_once': false,
    'wsgi.file_wrapper': (file: FileLike, blockSize = 4): WsgiResponse => ({
      *[Symbol.iterator]() {
        for (let b = file.read(blockSize); b.length > 0; b = file.read(blockSize)) yield b;
      },
      close: () => file.close?.(),
    }),
  };
  if (body.length > 0) env.CONTENT_LENGTH = String(body.length);
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env as WsgiEnviron;
}

interface FakeResponse {
  status: string;
  headers: Array<[string, string]>;
  body: string;
  errors: string;
}

interface FakeServerOptions {
  body?: Uint8Array;
  environ?: Record<string, unknown>;
  /** A conforming server closes the response; a broken one may not. */
  close?: boolean;
}

/**
 * A tiny conforming WSGI-TS server, in memory: headers go out with the first
 * non-empty chunk, exc_info is rethrown once they are out, close() is called
 * exactly once. App errors propagate to the test.
 */
function fakeServer(app: WsgiApplication, options: FakeServerOptions = {}): FakeResponse {
  const environ = makeEnviron(options.body, options.environ);
  let pending: { status: string; headers: Array<[string, string]> } | null = null;
  let sent: FakeResponse | null = null;
  const chunks: Uint8Array[] = [];
  const sendHeaders = (): void => {
    if (sent) return;
    if (!pending) throw new Error('fake server: no status');
    sent = { ...pending, body: '', errors: '' };
  };
  const write: WriteCallable = (data) => {
    if (data.length === 0) return;
    sendHeaders();
    chunks.push(data);
  };
  const startResponse: StartResponse = (status, headers, excInfo) => {
    if (excInfo !== undefined && excInfo !== null) {
      if (sent) throw excInfo;
    } else if (pending) {
      throw new Error('fake server: start_response called twice');
    }
    pending = { status, headers };
    return write;
  };
  const response = app(environ, startResponse);
  try {
    for (const chunk of response) {
      if (chunk.length > 0) write(chunk);
    }
    sendHeaders();
  } finally {
    if (options.close !== false) response.close?.();
  }
  const result = sent as unknown as FakeResponse;
  result.body = dec.decode(Buffer.concat(chunks));
  result.errors = (environ['wsgi.errors'] as MemoryErrors).text;
  return result;
}

const hello: WsgiApplication = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [bytes('hello')];
};

describe('validateWsgi: conforming apps and servers pass', () => {
  it('a list response', () => {
    const app = validateWsgi(hello);
    const r = fakeServer(app);
    expect(r.status).toBe('200 OK');
    expect(r.headers).toEqual([['Content-Type', 'text/plain']]);
    expect(r.body).toBe('hello');
    app.assertClosed();
  });

  it('a generator that calls start_response on its first step, with empty chunks', () => {
    const app = validateWsgi(function* (_env, startResponse) {
      yield new Uint8Array(0);
      startResponse('201 Created', []);
      yield bytes('a');
      yield new Uint8Array(0);
      yield bytes('b');
    });
    expect(fakeServer(app)).toMatchObject({ status: '201 Created', body: 'ab' });
    app.assertClosed();
  });

  it('write() then an iterable; the app close() runs exactly once', () => {
    let closes = 0;
    const app = validateWsgi((_env, startResponse) => {
      const write = startResponse('200 OK', []);
      write(bytes('w1 '));
      write(new Uint8Array(0));
      return Object.assign([bytes('i1')], { close: () => void closes++ });
    });
    expect(fakeServer(app).body).toBe('w1 i1');
    expect(closes).toBe(1);
    app.assertClosed();
  });

  it('exc_info before headers were sent replaces the response', () => {
    const app = validateWsgi((_env, startResponse) => {
      startResponse('200 OK', [['X-First', '1']]);
      try {
        throw new Error('boom');
      } catch (e) {
        startResponse('500 Internal Server Error', [['Content-Type', 'text/plain']], e);
      }
      return [bytes('sorry')];
    });
    expect(fakeServer(app)).toMatchObject({ status: '500 Internal Server Error', body: 'sorry' });
  });

  it('exc_info after headers were sent: the server rethrows the value and it propagates', () => {
    const boom = new Error('boom');
    const app = validateWsgi(function* (_env, startResponse) {
      startResponse('200 OK', []);
      yield bytes('partial');
      startResponse('500 Internal Server Error', [], boom);
      yield bytes('never');
    });
    expect(() => fakeServer(app)).toThrow(boom);
    app.assertClosed();
  });

  it('wsgi.input through the validator: read, readline, readlines, iteration', () => {
    const app = validateWsgi((env, startResponse) => {
      const input = env['wsgi.input'];
      const parts = [input.read(3), input.readline(), input.readline(2), ...input.readlines(1), input.read(100), input.read()];
      const rest = [...input];
      startResponse('200 OK', []);
      return [...parts, ...rest];
    });
    expect(fakeServer(app, { body: bytes('abcdef\ngh\nij\nkl') }).body).toBe('abcdef\ngh\nij\nkl');

    const lines = validateWsgi((env, startResponse) => {
      startResponse('200 OK', []);
      return [...env['wsgi.input']].map((l) => bytes(`[${dec.decode(l)}]`));
    });
    expect(fakeServer(lines, { body: bytes('a\nb\n') }).body).toBe('[a\n][b\n]');
  });

  it('wsgi.errors through the validator', () => {
    const app = validateWsgi((env, startResponse) => {
      env['wsgi.errors'].write('one ');
      env['wsgi.errors'].writelines(['two ', 'thr\u00e9e \u2713']);
      env['wsgi.errors'].flush();
      startResponse('200 OK', []);
      return [];
    });
    expect(fakeServer(app).errors).toBe('one two thr\u00e9e \u2713');
  });

  it('wsgi.file_wrapper through the validator', () => {
    const data = bytes('0123456789');
    let pos = 0;
    let fileClosed = false;
    const file: FileLike = {
      read: (n) => data.subarray(pos, (pos = Math.min(data.length, pos + n))),
      close: () => void (fileClosed = true),
    };
    const app = validateWsgi((env, startResponse) => {
      startResponse('200 OK', [['Content-Length', '10']]);
      return env['wsgi.file_wrapper']!(file, 3);
    });
    expect(fakeServer(app).body).toBe('0123456789');
    expect(fileClosed).toBe(true);
  });

  it('a server that stops early calls return() on the iterator, so the generator finally runs', () => {
    let finalized = false;
    const app = validateWsgi(function* (_env, startResponse) {
      startResponse('200 OK', []);
      try {
        yield bytes('a');
        yield bytes('b');
      } finally {
        finalized = true;
      }
    });
    const response = app(makeEnviron(), () => () => {});
    for (const chunk of response) {
      expect(dec.decode(chunk)).toBe('a');
      break;
    }
    response.close?.();
    expect(finalized).toBe(true);
    app.assertClosed();
  });

  it('a body with a byte string environ and HEAD/OPTIONS * targets', () => {
    const app = validateWsgi(hello);
    expect(fakeServer(app, { environ: { REQUEST_METHOD: 'OPTIONS', PATH_INFO: '*' } }).status).toBe('200 OK');
    expect(fakeServer(app, { environ: { PATH_INFO: '/caf\u00c3\u00a9', SCRIPT_NAME: '/mount' } }).status).toBe('200 OK');
  });
});

describe('validateWsgi: app-side violations', () => {
  it('wsgi.app.callable.1: the app is a function and does not return a Promise', () => {
    expectViolation(() => validateWsgi('not an app' as unknown as WsgiApplication), 'wsgi.app.callable.1', 'app');
    const asyncApp = validateWsgi((async () => []) as unknown as WsgiApplication);
    expectViolation(() => fakeServer(asyncApp), 'wsgi.app.callable.1', 'app');
  });

  it('wsgi.app.return.1: the app returns a sync iterable', () => {
    for (const bad of [undefined, 42, {}, { [Symbol.asyncIterator]: () => ({}) }]) {
      expectViolation(() => fakeServer(validateWsgi((() => bad) as unknown as WsgiApplication)), 'wsgi.app.return.1', 'app');
    }
    const brokenIterator = { [Symbol.iterator]: () => ({ next: () => 5 }) };
    const app = validateWsgi(((_e: WsgiEnviron, sr: StartResponse) => (sr('200 OK', []), brokenIterator)) as unknown as WsgiApplication);
    expectViolation(() => fakeServer(app), 'wsgi.app.return.1', 'app');
  });

  it('wsgi.app.return.2: not a string and not a bare Uint8Array', () => {
    for (const bad of ['hello', bytes('hello')]) {
      const app = validateWsgi(((_e: WsgiEnviron, sr: StartResponse) => (sr('200 OK', []), bad)) as unknown as WsgiApplication);
      expectViolation(() => fakeServer(app), 'wsgi.app.return.2', 'app');
    }
  });

  it('wsgi.response.close.3: close, when present, is a function', () => {
    const app = validateWsgi(((_e: WsgiEnviron, sr: StartResponse) => (sr('200 OK', []), Object.assign([], { close: true }))) as unknown as WsgiApplication);
    expectViolation(() => fakeServer(app), 'wsgi.response.close.3', 'app');
  });

  it('wsgi.response.chunk.1: every item is a Uint8Array', () => {
    for (const bad of ['text', 7, null, new Uint16Array(1)]) {
      const app = validateWsgi(((_e: WsgiEnviron, sr: StartResponse) => (sr('200 OK', []), [bad])) as unknown as WsgiApplication);
      expectViolation(() => fakeServer(app), 'wsgi.response.chunk.1', 'app');
    }
  });

  it('wsgi.start_response.args.1: two or three arguments', () => {
    const one = validateWsgi((_e, sr) => ((sr as unknown as (s: string) => void)('200 OK'), []));
    expectViolation(() => fakeServer(one), 'wsgi.start_response.args.1', 'app');
    const four = validateWsgi((_e, sr) => ((sr as unknown as (...a: unknown[]) => void)('200 OK', [], null, 1), []));
    expectViolation(() => fakeServer(four), 'wsgi.start_response.args.1', 'app');
  });

  it('wsgi.start_response.status.* and headers.*: the checks of checks.ts, blamed on the app', () => {
    const cases: Array<[string, unknown, unknown]> = [
      ['wsgi.start_response.status.1', 200, []],
      ['wsgi.start_response.status.2', '200', []],
      ['wsgi.start_response.status.3', '200 OK\r\n', []],
      ['wsgi.start_response.headers.1', '200 OK', { a: 'b' }],
      ['wsgi.start_response.headers.2', '200 OK', [['X', 1]]],
      ['wsgi.start_response.headers.3', '200 OK', [['X Y', '1']]],
      ['wsgi.start_response.headers.4', '200 OK', [['X', 'a\nb']]],
      ['wsgi.start_response.headers.5', '200 OK', [['Transfer-Encoding', 'chunked']]],
      ['wsgi.start_response.headers.6', '200 OK', [['Content-Length', 'ten']]],
    ];
    for (const [clause, status, headers] of cases) {
      const app = validateWsgi((_e, sr) => ((sr as unknown as (s: unknown, h: unknown) => void)(status, headers), []));
      expectViolation(() => fakeServer(app), clause, 'app');
    }
  });

  it('wsgi.start_response.once.1: a second call needs exc_info', () => {
    const app = validateWsgi((_e, sr) => {
      sr('200 OK', []);
      sr('404 Not Found', []);
      return [];
    });
    expectViolation(() => fakeServer(app), 'wsgi.start_response.once.1', 'app');
    const nullExc = validateWsgi((_e, sr) => {
      sr('200 OK', []);
      sr('404 Not Found', [], null);
      return [];
    });
    expectViolation(() => fakeServer(nullExc), 'wsgi.start_response.once.1', 'app');
  });

  it('wsgi.start_response.before_body.1: called before the first non-empty chunk, and before the end', () => {
    const early = validateWsgi(() => [new Uint8Array(0), bytes('x')]);
    expectViolation(() => fakeServer(early), 'wsgi.start_response.before_body.1', 'app');
    const never = validateWsgi(() => [new Uint8Array(0)]);
    expectViolation(() => fakeServer(never), 'wsgi.start_response.before_body.1', 'app');
  });

  it('wsgi.start_response.exc_info.5: the app does not swallow the error start_response rethrew', () => {
    const inApp = validateWsgi((_e, sr) => {
      const write = sr('200 OK', []);
      write(bytes('partial'));
      try {
        sr('500 Internal Server Error', [], new Error('boom'));
      } catch {
        // swallowed: a bug
      }
      return [];
    });
    expectViolation(() => fakeServer(inApp), 'wsgi.start_response.exc_info.5', 'app');
    const inGenerator = validateWsgi(function* (_e, sr) {
      sr('200 OK', []);
      yield bytes('partial');
      try {
        sr('500 Internal Server Error', [], new Error('boom'));
      } catch {
        // swallowed: a bug
      }
      yield bytes('more');
    });
    expectViolation(() => fakeServer(inGenerator), 'wsgi.start_response.exc_info.5', 'app');
  });

  it('wsgi.write.chunk.1: write() takes exactly one Uint8Array', () => {
    const text = validateWsgi((_e, sr) => ((sr('200 OK', []) as unknown as (d: string) => void)('text'), []));
    expectViolation(() => fakeServer(text), 'wsgi.write.chunk.1', 'app');
    const two = validateWsgi((_e, sr) => ((sr('200 OK', []) as unknown as (...d: unknown[]) => void)(bytes('a'), bytes('b')), []));
    expectViolation(() => fakeServer(two), 'wsgi.write.chunk.1', 'app');
  });

  it('wsgi.write.start.1: write() is not used after the response was closed', () => {
    let write: WriteCallable = () => {};
    const app = validateWsgi((_e, sr) => {
      write = sr('200 OK', []);
      return [];
    });
    fakeServer(app);
    expectViolation(() => write(bytes('late')), 'wsgi.write.start.1', 'app');
  });

  it('wsgi.input.args.1: one optional integer argument', () => {
    const calls: Array<(i: WsgiInput) => unknown> = [
      (i) => (i.read as (s: unknown) => unknown)('10'),
      (i) => i.read(1.5),
      (i) => (i.read as (...s: unknown[]) => unknown)(1, 2),
      (i) => (i.readline as (s: unknown) => unknown)(null),
      (i) => i.readlines(Number.NaN),
    ];
    for (const call of calls) {
      const app = validateWsgi((env, sr) => (call(env['wsgi.input']), sr('200 OK', []), []));
      expectViolation(() => fakeServer(app, { body: bytes('abc') }), 'wsgi.input.args.1', 'app');
    }
  });

  it('wsgi.input.close.1 and wsgi.errors.close.1: the app does not close the server streams', () => {
    const input = validateWsgi((env) => ((env['wsgi.input'] as unknown as { close(): void }).close(), []));
    expectViolation(() => fakeServer(input), 'wsgi.input.close.1', 'app');
    const errors = validateWsgi((env) => ((env['wsgi.errors'] as unknown as { close(): void }).close(), []));
    expectViolation(() => fakeServer(errors), 'wsgi.errors.close.1', 'app');
  });

  it('wsgi.errors.write.1: text only', () => {
    const calls: Array<(e: WsgiErrors) => unknown> = [
      (e) => (e.write as (s: unknown) => void)(bytes('x')),
      (e) => (e.write as (s: unknown) => void)(42),
      (e) => (e.writelines as (s: unknown) => void)([1]),
      (e) => (e.writelines as (s: unknown) => void)(undefined),
      (e) => (e.flush as (s: unknown) => void)(true),
    ];
    for (const call of calls) {
      const app = validateWsgi((env, sr) => (call(env['wsgi.errors']), sr('200 OK', []), []));
      expectViolation(() => fakeServer(app), 'wsgi.errors.write.1', 'app');
    }
  });

  it('wsgi.file_wrapper.file.1 and block_size.1: a FileLike and a positive integer', () => {
    const noRead = validateWsgi((env) => env['wsgi.file_wrapper']!({} as FileLike));
    expectViolation(() => fakeServer(noRead), 'wsgi.file_wrapper.file.1', 'app');
    const badClose = validateWsgi((env) => env['wsgi.file_wrapper']!({ read: () => new Uint8Array(0), close: 1 } as unknown as FileLike));
    expectViolation(() => fakeServer(badClose), 'wsgi.file_wrapper.file.1', 'app');
    const file: FileLike = { read: () => new Uint8Array(0) };
    for (const size of [0, -1, 1.5]) {
      const app = validateWsgi((env) => env['wsgi.file_wrapper']!(file, size));
      expectViolation(() => fakeServer(app), 'wsgi.file_wrapper.block_size.1', 'app');
    }
  });
});

/** Calls a validated app as a (possibly broken) server would, with a recording start_response. */
function callApp(app: WsgiApplication, startResponse: StartResponse = () => () => {}, environ = makeEnviron()): WsgiResponse {
  return app(environ, startResponse);
}

describe('validateWsgi: server-side violations', () => {
  it('wsgi.app.call.1: exactly two arguments, start_response a function', () => {
    const app = validateWsgi(hello);
    expectViolation(() => (app as unknown as (e: unknown) => unknown)(makeEnviron()), 'wsgi.app.call.1', 'server');
    expectViolation(() => (app as unknown as (...a: unknown[]) => unknown)(makeEnviron(), () => () => {}, 3), 'wsgi.app.call.1', 'server');
    expectViolation(() => (app as unknown as (...a: unknown[]) => unknown)(makeEnviron(), 'start'), 'wsgi.app.call.1', 'server');
  });

  it('wsgi.environ.*: a bad environ is blamed on the server', () => {
    const app = validateWsgi(hello);
    expectViolation(() => callApp(app, undefined, makeEnviron(undefined, { REQUEST_METHOD: undefined })), 'wsgi.environ.cgi.1', 'server');
    expectViolation(() => callApp(app, undefined, makeEnviron(undefined, { HTTP_CONTENT_LENGTH: '0' })), 'wsgi.environ.http.1', 'server');
    expectViolation(() => callApp(app, undefined, makeEnviron(undefined, { 'wsgi.version': [1, 1] })), 'wsgi.environ.version.1', 'server');
  });

  it('wsgi.start_response.return.1: start_response returns the write() callable', () => {
    const app = validateWsgi(hello);
    expectViolation(() => callApp(app, (() => undefined) as unknown as StartResponse), 'wsgi.start_response.return.1', 'server');
  });

  const lateExcInfo: WsgiApplication = function* (_env, sr) {
    sr('200 OK', []);
    yield bytes('partial');
    sr('500 Internal Server Error', [], new Error('boom'));
  };

  it('wsgi.start_response.exc_info.2: after headers were sent, start_response must throw', () => {
    const app = validateWsgi(lateExcInfo);
    const response = callApp(app, () => () => {});
    const it = response[Symbol.iterator]();
    it.next();
    expectViolation(() => it.next(), 'wsgi.start_response.exc_info.2', 'server');
  });

  it('wsgi.start_response.exc_info.3: it rethrows the exc_info value itself', () => {
    const app = validateWsgi(lateExcInfo);
    let calls = 0;
    const response = callApp(app, () => {
      if (calls++ > 0) throw new Error('something else');
      return () => {};
    });
    const it = response[Symbol.iterator]();
    it.next();
    expectViolation(() => it.next(), 'wsgi.start_response.exc_info.3', 'server');
  });

  it('wsgi.start_response.exc_info.4: before headers were sent, start_response with exc_info must not throw', () => {
    const app = validateWsgi((_env, sr) => {
      sr('200 OK', []);
      sr('500 Internal Server Error', [], new Error('boom'));
      return [];
    });
    let calls = 0;
    const start: StartResponse = (_s, _h, exc) => {
      if (calls++ > 0) throw exc;
      return () => {};
    };
    expectViolation(() => callApp(app, start), 'wsgi.start_response.exc_info.4', 'server');
  });

  it('an empty write() leaves both server readings of exc_info legal (wsgi.write.headers.1)', () => {
    const app = (): ValidatedApp =>
      validateWsgi((_env, sr) => {
        sr('200 OK', [])(new Uint8Array(0));
        sr('500 Internal Server Error', [], 'err');
        return [];
      });
    type ValidatedApp = ReturnType<typeof validateWsgi>;
    // A server that treats the empty write as the start of the body rethrows...
    let calls = 0;
    const strict: StartResponse = (_s, _h, exc) => {
      if (calls++ > 0) throw exc;
      return () => {};
    };
    expect(() => callApp(app(), strict)).toThrow('err');
    // ...and one that does not replaces the response.
    expect(callApp(app(), () => () => {})).toBeTruthy();
  });

  it('wsgi.response.close.1: close() is called exactly once', () => {
    const app = validateWsgi(hello);
    const response = callApp(app);
    [...response];
    response.close!();
    expectViolation(() => response.close!(), 'wsgi.response.close.1', 'server');
  });

  it('wsgi.response.close.1: assertClosed() names the responses a server forgot to close', () => {
    const app = validateWsgi(hello);
    fakeServer(app, { close: false });
    fakeServer(app, { close: false, environ: { PATH_INFO: '/second' } });
    fakeServer(app);
    const e = protocolErrorOf(() => app.assertClosed());
    expect(e.clause).toBe('wsgi.response.close.1');
    expect(e.message).toMatch(/server: close\(\) was never called on 2 response\(s\): GET \/test, GET \/second/);
    // Reported once; a server that closes from then on passes.
    app.assertClosed();
  });

  it('wsgi.response.close.1: a response garbage-collected without close() is reported', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const reports: ProtocolError[] = [];
    const app = validateWsgi(hello, { report: (e) => reports.push(e) });
    (() => {
      [...callApp(app)];
    })();
    for (let i = 0; i < 50 && reports.length === 0; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(reports).toHaveLength(1);
    expect(reports[0]!.clause).toBe('wsgi.response.close.1');
    expect(reports[0]!.message).toContain('server: the response of GET /test was garbage-collected without close()');
  });

  it('wsgi.response.close.2: no iteration after close()', () => {
    const app = validateWsgi(hello);
    const response = callApp(app);
    const it = response[Symbol.iterator]();
    response.close!();
    expectViolation(() => it.next(), 'wsgi.response.close.2', 'server');
    const fresh = callApp(app);
    fresh.close!();
    expectViolation(() => fresh[Symbol.iterator](), 'wsgi.response.close.2', 'server');
  });

  it('wsgi.response.iterate.1: the server iterates the response once', () => {
    const app = validateWsgi(hello);
    const response = callApp(app);
    [...response];
    expectViolation(() => [...response], 'wsgi.response.iterate.1', 'server');
    response.close!();
  });

  /** An app that reads its body with `read` and a server whose input misbehaves. */
  function withInput(input: Partial<WsgiInput>, read: (i: WsgiInput) => unknown, body = bytes('abc\ndef')): () => unknown {
    const base = new MemoryInput(body);
    const broken = Object.assign(Object.create(base) as WsgiInput, input);
    const app = validateWsgi((env, sr) => (read(env['wsgi.input']), sr('200 OK', []), []));
    return () => callApp(app, undefined, makeEnviron(body, { 'wsgi.input': broken }));
  }

  it('wsgi.input.read.1: read() returns a Uint8Array of at most size bytes', () => {
    expectViolation(withInput({ read: () => 'abc' as unknown as Uint8Array }, (i) => i.read()), 'wsgi.input.read.1', 'server');
    expectViolation(withInput({ read: () => bytes('abcd') }, (i) => i.read(2)), 'wsgi.input.read.1', 'server');
  });

  it('wsgi.input.read.1: read() returns all CONTENT_LENGTH leaves, and nothing after the end', () => {
    expectViolation(withInput({ read: () => bytes('abc') }, (i) => i.read()), 'wsgi.input.read.1', 'server');
    let calls = 0;
    const revived = { read: () => (calls++ === 0 ? new Uint8Array(0) : bytes('a')) };
    expectViolation(withInput(revived, (i) => [i.read(5), i.read(5)]), 'wsgi.input.read.1', 'server');
    // read(0) returning empty is no end-of-body report.
    const zero = withInput({}, (i) => [i.read(0), i.read(3), i.readline(0), i.readline()]);
    expect(zero).not.toThrow();
  });

  it('wsgi.input.readline.1: one line, ending at its first LF, at most size bytes', () => {
    expectViolation(withInput({ readline: () => bytes('abc\ndef') }, (i) => i.readline()), 'wsgi.input.readline.1', 'server');
    expectViolation(withInput({ readline: () => bytes('abc\n') }, (i) => i.readline(2)), 'wsgi.input.readline.1', 'server');
    expectViolation(withInput({ readline: () => [] as unknown as Uint8Array }, (i) => i.readline()), 'wsgi.input.readline.1', 'server');
  });

  it('wsgi.input.readlines.1: an Array of lines', () => {
    expectViolation(withInput({ readlines: () => bytes('abc') as unknown as Uint8Array[] }, (i) => i.readlines()), 'wsgi.input.readlines.1', 'server');
    expectViolation(withInput({ readlines: () => [bytes('a\nb')] }, (i) => i.readlines()), 'wsgi.input.readlines.1', 'server');
  });

  it('wsgi.input.iter.1: iteration yields lines', () => {
    const broken = { *[Symbol.iterator]() { yield 'abc'; } } as unknown as Partial<WsgiInput>;
    expectViolation(withInput(broken, (i) => [...i]), 'wsgi.input.iter.1', 'server');
  });

  it('wsgi.input.eof.1: never more than CONTENT_LENGTH bytes in total', () => {
    const body = bytes('abc');
    const leaky = new MemoryInput(bytes('abcdef'));
    const app = validateWsgi((env, sr) => {
      const input = env['wsgi.input'];
      input.read(2);
      input.read(10);
      sr('200 OK', []);
      return [];
    });
    expectViolation(() => callApp(app, undefined, makeEnviron(body, { 'wsgi.input': leaky })), 'wsgi.input.eof.1', 'server');
  });

  it('wsgi.file_wrapper.result.1: the server returns an iterable', () => {
    const app = validateWsgi((env) => env['wsgi.file_wrapper']!({ read: () => new Uint8Array(0) }));
    const environ = makeEnviron(undefined, { 'wsgi.file_wrapper': () => 42 });
    expectViolation(() => callApp(app, undefined, environ), 'wsgi.file_wrapper.result.1', 'server');
  });
});

/** One step of a scripted app, run inside its response generator. */
type Step = { k: 'start'; exc: boolean } | { k: 'write'; n: 0 | 1 } | { k: 'yield'; n: 0 | 1 } | { k: 'yieldText' };

/**
 * What PEP 3333 says about a script, judged independently of the validator:
 * 'ok', 'reraise' (the server rightly rethrows exc_info once headers are out),
 * or the clause the app breaks first.
 */
function judge(steps: Step[]): string {
  let started = false;
  let sent = false;
  for (const s of steps) {
    if (s.k === 'start') {
      if (s.exc && sent) return 'reraise';
      if (!s.exc && started) return 'wsgi.start_response.once.1';
      started = true;
    } else if (s.k === 'write') {
      if (started && s.n > 0) sent = true;
    } else if (s.k === 'yield') {
      if (s.n > 0 && !started) return 'wsgi.start_response.before_body.1';
      if (s.n > 0) sent = true;
    } else {
      return 'wsgi.response.chunk.1';
    }
  }
  return started ? 'ok' : 'wsgi.start_response.before_body.1';
}

function scriptedApp(steps: Step[], excValue: Error): WsgiApplication {
  return function* (_env, startResponse) {
    let write: WriteCallable | null = null;
    for (const s of steps) {
      if (s.k === 'start') write = s.exc ? startResponse('500 Oops', [], excValue) : startResponse('200 OK', []);
      else if (s.k === 'write') write?.(s.n > 0 ? bytes('w') : new Uint8Array(0));
      else if (s.k === 'yield') yield s.n > 0 ? bytes('y') : new Uint8Array(0);
      else yield 'text' as unknown as Uint8Array;
    }
  };
}

describe('validateWsgi: random app scripts under a conforming server', () => {
  const step = fc.oneof(
    fc.record({ k: fc.constant('start' as const), exc: fc.boolean() }),
    fc.record({ k: fc.constant('write' as const), n: fc.constantFrom(0 as const, 1 as const) }),
    fc.record({ k: fc.constant('yield' as const), n: fc.constantFrom(0 as const, 1 as const) }),
    fc.constant({ k: 'yieldText' as const }),
  );

  it('accepts exactly the scripts PEP 3333 allows and names the clause of the others', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 8 }), (steps) => {
        const boom = new Error('boom');
        const app = validateWsgi(scriptedApp(steps, boom));
        const expected = judge(steps);
        let got: string;
        try {
          fakeServer(app);
          got = 'ok';
        } catch (e) {
          got = e === boom ? 'reraise' : e instanceof WsgiValidationError && e.side === 'app' ? e.clause : `unexpected ${String(e)}`;
        }
        expect(got).toBe(expected);
        app.assertClosed();
      }),
      { numRuns: 500 },
    );
  });
});
