/**
 * The WSGI-TS conformance app of @tsgi/conformance. Serve it with any WSGI-TS
 * server (`tsgi serve conformance-tests/apps/wsgi-app.ts:app --server pool`)
 * and point `tsgi-conformance --interface wsgi --url ...` at it. Its Python
 * port, conformance-tests/python/wsgi_app.py, has the same endpoints and
 * behavior; keep them in step.
 *
 * Reports that cannot travel in the response itself go to a file store (one
 * JSON file per token in $TSGI_CONFORMANCE_STATE_DIR, default
 * <tmp>/tsgi-conformance-state), read back with GET /report?token=T; files,
 * because a pool server runs the app on several threads that share no memory.
 *
 * It imports only types, so it runs under any server without this repo's packages.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileLike, StartResponse, WsgiApplication, WsgiEnviron, WsgiResponse } from '@tsgi/core';

const STATE_DIR = process.env.TSGI_CONFORMANCE_STATE_DIR || join(tmpdir(), 'tsgi-conformance-state');
const FIXTURE = fileURLToPath(new URL('./fixtures/file.txt', import.meta.url));
const enc = new TextEncoder();
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread, as time.sleep does in the Python port (WSGI apps are allowed to block). */
function sleep(ms: number): void {
  Atomics.wait(SLEEP_CELL, 0, 0, ms);
}

/** JSON-safe form of any value; Uint8Array becomes {"$bytes": latin-1 text}. */
function encode(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1') };
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(encode);
  const proto = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, encode(x)]));
  return { $type: typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v };
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

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function plain(startResponse: StartResponse, status: string, body: Uint8Array | string, headers: Array<[string, string]> = [], contentType = 'text/plain'): WsgiResponse {
  const b = typeof body === 'string' ? enc.encode(body) : body;
  startResponse(status, [['Content-Type', contentType], ['Content-Length', String(b.byteLength)], ...headers]);
  return [b];
}

function asJson(startResponse: StartResponse, value: unknown, status = '200 OK'): WsgiResponse {
  return plain(startResponse, status, JSON.stringify(encode(value)), [], 'application/json');
}

function contentLength(environ: WsgiEnviron): number | null {
  const cl = environ.CONTENT_LENGTH ?? '';
  return /^\d+$/.test(cl) ? Number(cl) : null;
}

/** The whole body: up to CONTENT_LENGTH, or to the end when the server terminates the input. */
function readAll(environ: WsgiEnviron): Uint8Array {
  const n = contentLength(environ);
  return n === null ? environ['wsgi.input'].read() : environ['wsgi.input'].read(n);
}

/** A response iterable whose close() calls are counted in the report store. */
function recorded(token: string | undefined, chunks: Uint8Array[], failAfter: number | null = null): WsgiResponse {
  let closes = 0;
  let nextAfterClose = false;
  return {
    *[Symbol.iterator]() {
      for (let i = 0; i < chunks.length; i++) {
        if (closes) {
          nextAfterClose = true;
          record(token, { closes, next_after_close: true });
        }
        if (failAfter !== null && i === failAfter) throw new Error('conformance: raised while iterating');
        yield chunks[i]!;
        sleep(1);
      }
    },
    close() {
      closes += 1;
      record(token, { closes, next_after_close: nextAfterClose });
    },
  };
}

/** A FileLike over an open file descriptor, for wsgi.file_wrapper. */
function openFileLike(path: string): FileLike {
  const fd = openSync(path, 'r');
  return {
    read(size: number) {
      const buf = Buffer.alloc(size);
      const n = readSync(fd, buf, 0, size, null);
      return buf.subarray(0, n);
    },
    close() {
      closeSync(fd);
    },
    fileno() {
      return fd;
    },
  };
}

/** The conformance app. */
export const app: WsgiApplication = (environ, startResponse) => {
  const p = environ.PATH_INFO ?? '';
  const q = Object.fromEntries(new URLSearchParams(environ.QUERY_STRING ?? ''));
  const input = environ['wsgi.input'];
  if (p === '/environ' || p.startsWith('/environ/')) return asJson(startResponse, environ);
  if (p === '/report') {
    const data = readRecord(q.token ?? '');
    return data === null ? plain(startResponse, '404 Not Found', 'no report') : plain(startResponse, '200 OK', data, [], 'application/json');
  }
  if (p === '/echo') return plain(startResponse, '200 OK', readAll(environ), [], 'application/octet-stream');
  if (p === '/slow-then-echo') {
    // Blocks before answering, as an app waiting on a database or an upstream would.
    const body = readAll(environ);
    sleep(Number(q.ms ?? 50));
    return plain(startResponse, '200 OK', body, [], 'application/octet-stream');
  }
  if (p === '/echo-size') {
    const size = Number(q.size ?? 3);
    const n = contentLength(environ);
    const parts: Uint8Array[] = [];
    let got = 0;
    while (n === null || got < n) {
      const c = input.read(n === null ? size : Math.min(size, n - got));
      if (c.byteLength === 0) break;
      parts.push(c);
      got += c.byteLength;
    }
    return asJson(startResponse, { sizes: parts.map((c) => c.byteLength), body: Buffer.concat(parts) });
  }
  if (p === '/echo-readline') {
    const size = q.size === undefined ? undefined : Number(q.size);
    const lines: Uint8Array[] = [];
    for (;;) {
      const line = size === undefined ? input.readline() : input.readline(size);
      if (line.byteLength === 0) break;
      lines.push(line);
    }
    return asJson(startResponse, { lines });
  }
  if (p === '/echo-readlines') return asJson(startResponse, { lines: input.readlines() });
  if (p === '/echo-iter') return asJson(startResponse, { lines: [...input] });
  if (p === '/stream') {
    const n = Number(q.n ?? 3);
    const size = Number(q.size ?? 8);
    const delay = Number(q.delay ?? 0);
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    return (function* () {
      for (let i = 0; i < n; i++) {
        yield new Uint8Array(size).fill(97 + (i % 26));
        if (delay) sleep(delay);
      }
    })();
  }
  if (p === '/chunks') {
    const sizes = (q.sizes ?? '').split(',').filter(Boolean).map(Number);
    startResponse('200 OK', []);
    return sizes.map((s) => new Uint8Array(s).fill(0x7a));
  }
  if (p === '/write') {
    const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
    write(enc.encode('written-1;'));
    write(enc.encode('written-2;'));
    return [enc.encode('iterated')];
  }
  if (p === '/late-start') {
    return (function* () {
      startResponse('200 OK', [['Content-Type', 'text/plain'], ['X-Late', 'yes']]);
      yield enc.encode('started late');
    })();
  }
  if (p === '/ignore-body') return plain(startResponse, '200 OK', 'ok');
  if (p === '/raise-before') throw new Error('conformance: raised before start_response (SECRET-TRACE)');
  if (p === '/raise-after') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (function* () {
      yield enc.encode('partial');
      throw new Error('conformance: raised while iterating');
    })();
  }
  if (p === '/exc-info') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    try {
      throw new Error('conformance: error before the body');
    } catch (e) {
      startResponse('500 Replaced By Exc Info', [['Content-Type', 'text/plain'], ['Content-Length', '9']], e);
    }
    return [enc.encode('recovered')];
  }
  if (p === '/exc-info-after') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (function* () {
      yield enc.encode('sent');
      try {
        throw new Error('conformance: error after the body started');
      } catch (e) {
        try {
          startResponse('500 Too Late', [], e);
        } catch (e2) {
          record(q.token, { reraised: true, same: e2 === e, error: describeError(e2) });
          throw e2;
        }
        record(q.token, { reraised: false });
      }
    })();
  }
  if (p === '/start-twice') {
    startResponse('200 OK', [['Content-Type', 'application/json']]);
    try {
      startResponse('201 Created', []);
    } catch (e) {
      return [enc.encode(JSON.stringify({ raised: true, error: describeError(e) }))];
    }
    return [enc.encode(JSON.stringify({ raised: false }))];
  }
  if (p === '/no-start-response') return [enc.encode('never started')];
  if (p === '/environ-meta') {
    const proto = Object.getPrototypeOf(environ);
    return asJson(startResponse, { plain: proto === Object.prototype || proto === null, keys_are_str: Object.keys(environ).every((k) => typeof k === 'string') });
  }
  if (p === '/start-response-invalid') {
    const bad: Record<string, [string, Array<[string, string]>]> = {
      'status-crlf': ['200 OK\r\nX-Injected: 1', [['Content-Type', 'text/plain']]],
      'header-name-space': ['200 OK', [['Bad Name', 'v']]],
      'header-value-crlf': ['200 OK', [['X-Bad', 'a\r\nX-Injected: 1']]],
      'two-content-length': ['200 OK', [['Content-Length', '2'], ['Content-Length', '3']]],
    };
    const [status, headers] = bad[q.kind ?? '']!;
    try {
      startResponse(status, headers);
    } catch (e) {
      record(q.token, { raised: true, error: describeError(e) });
      startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', '7']], e);
      return [enc.encode('refused')];
    }
    record(q.token, { raised: false });
    return [enc.encode('ok')];
  }
  if (p === '/return-string') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return 'a string is not a response' as unknown as WsgiResponse;
  }
  if (p === '/close-generator') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    const chunk = new Uint8Array(65536).fill(0x78);
    return (function* () {
      try {
        for (let i = 0; i < 2000; i++) yield chunk;
      } finally {
        record(q.token, { finally: true });
      }
    })();
  }
  if (p === '/read-short') {
    record(q.token, { stage: 'started' });
    let body: Uint8Array;
    try {
      body = readAll(environ);
    } catch (e) {
      record(q.token, { raised: true, error: describeError(e) });
      throw e;
    }
    record(q.token, { raised: false, body_len: body.byteLength });
    return plain(startResponse, '200 OK', 'read');
  }
  if (p === '/status') {
    const code = q.code ?? '200';
    const reason = q.reason ?? 'Custom Reason';
    const bodiless = code === '204' || code === '304';
    const body = bodiless ? new Uint8Array(0) : enc.encode(`status ${code}`);
    startResponse(`${code} ${reason}`, bodiless ? [] : [['Content-Length', String(body.byteLength)]]);
    return [body];
  }
  if (p === '/headers') {
    return plain(startResponse, '200 OK', 'headers', [['X-Dup', 'one'], ['X-Dup', 'two'], ['X-Latin1', 'caf\u00e9'], ['X-Empty', ''], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']]);
  }
  if (p === '/hop-by-hop') {
    try {
      startResponse('200 OK', [['Content-Type', 'application/json'], ['Keep-Alive', 'timeout=77, max=7']]);
    } catch (e) {
      startResponse('200 OK', [['Content-Type', 'application/json']], e);
      return [enc.encode(JSON.stringify({ raised: true, error: describeError(e) }))];
    }
    return [enc.encode(JSON.stringify({ raised: false }))];
  }
  if (p === '/content-length') {
    startResponse('200 OK', [['Content-Length', q.declared ?? '0']]);
    return [new Uint8Array(Number(q.actual ?? 0)).fill(0x79)];
  }
  if (p === '/head') return plain(startResponse, '200 OK', 'hello world');
  if (p === '/close') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return recorded(q.token, ['one;', 'two;', 'three'].map((s) => enc.encode(s)));
  }
  if (p === '/close-error') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return recorded(q.token, ['one;', 'two;', 'three'].map((s) => enc.encode(s)), 1);
  }
  if (p === '/close-slow') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    const chunk = new Uint8Array(65536).fill(0x78);
    return recorded(q.token, Array.from({ length: 2000 }, () => chunk));
  }
  if (p === '/file-wrapper') {
    const f = openFileLike(FIXTURE);
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    const wrapper = environ['wsgi.file_wrapper'];
    if (wrapper) return wrapper(f, 1024);
    return (function* () {
      for (let c = f.read(1024); c.byteLength > 0; c = f.read(1024)) yield c;
      f.close?.();
    })();
  }
  if (p === '/errors') {
    const errors = environ['wsgi.errors'];
    errors.write('conformance: a line for wsgi.errors\n');
    errors.writelines(['two\n', 'lines\n']);
    errors.flush();
    return plain(startResponse, '200 OK', 'logged');
  }
  if (p === '/generator-empty-first') {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (function* () {
      yield new Uint8Array(0);
      yield enc.encode('after-empty');
    })();
  }
  return plain(startResponse, '404 Not Found', 'not found');
};
