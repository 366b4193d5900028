import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ClientDisconnected,
  FileResponse,
  buildHttpScope,
  callWsgiApp,
  createWsgiInput,
  environFromScope,
  fileWrapper,
  isProtocolError,
  memorySource,
  openFile,
  type FileLike,
  type WsgiApplication,
  type WsgiHeaders,
  type WsgiSink,
} from '@tsgi/core';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

type Event = ['start', number, string, WsgiHeaders] | ['body', string] | ['end'] | ['abort', unknown];

/** A sink that records every call, optionally failing like a departed client after `disconnectAfter` chunks. */
function recorder(disconnectAfter = Infinity) {
  const events: Event[] = [];
  let chunks = 0;
  const sink: WsgiSink = {
    start: (status, reason, headers) => void events.push(['start', status, reason, headers]),
    body: (chunk) => {
      if (chunks++ >= disconnectAfter) throw new ClientDisconnected();
      events.push(['body', dec(chunk)]);
    },
    end: () => void events.push(['end']),
    abort: (e) => void events.push(['abort', e]),
  };
  return { sink, events };
}

function run(app: WsgiApplication, opts: { method?: string; disconnectAfter?: number } = {}) {
  const logged: unknown[] = [];
  const environ = environFromScope(buildHttpScope({ method: opts.method ?? 'GET', target: '/', httpVersion: '1.1', headers: [], client: null, server: ['127.0.0.1', 80], scheme: 'http' }, { rootPath: '' }), {
    input: createWsgiInput(memorySource([]), 0),
    errors: { write() {}, writelines() {}, flush() {} },
    multithread: false,
    multiprocess: false,
    fileWrapper,
  });
  const { sink, events } = recorder(opts.disconnectAfter);
  const result = callWsgiApp(app, environ, sink, { onError: (e) => logged.push(e) });
  return { result, events, logged };
}

const clauseOf = (e: unknown) => (isProtocolError(e) ? e.clause : String(e));

describe('callWsgiApp: start_response and header timing', () => {
  it('sends headers with the first non-empty chunk, not at start_response', () => {
    let startedBeforeFirst = -1;
    const { events, result } = run((_env, start) => {
      start('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        startedBeforeFirst = 0;
        yield new Uint8Array(0);
        yield enc('a');
        yield enc('b');
      })();
    });
    expect(startedBeforeFirst).toBe(0);
    expect(events).toEqual([['start', 200, 'OK', [['Content-Type', 'text/plain']]], ['body', 'a'], ['body', 'b'], ['end']]);
    expect(result).toEqual({ status: 200, bytes: 2, outcome: 'complete' });
  });

  it('lets a generator call start_response lazily, before its first chunk', () => {
    const { events } = run((_env, start) =>
      (function* () {
        start('201 Created', []);
        yield enc('x');
      })(),
    );
    expect(events[0]).toEqual(['start', 201, 'Created', []]);
  });

  it('sends headers at the end of an empty body', () => {
    const { events } = run((_env, start) => {
      start('204 No Content', []);
      return [];
    });
    expect(events).toEqual([['start', 204, 'No Content', []], ['end']]);
  });

  it('adds Content-Length to a list response that has none', () => {
    const { events } = run((_env, start) => {
      start('200 OK', [['X-A', '1']]);
      return [enc('hello '), enc('world')];
    });
    expect(events[0]).toEqual(['start', 200, 'OK', [['X-A', '1'], ['Content-Length', '11']]]);
  });

  it('refuses a second start_response without exc_info', () => {
    const { events, logged, result } = run((_env, start) => {
      start('200 OK', []);
      start('404 Not Found', []);
      return [];
    });
    expect(clauseOf(logged[0])).toBe('wsgi.start_response.once.1');
    expect(events[0]).toEqual(['start', 500, 'Internal Server Error', expect.any(Array)]);
    expect(result.outcome).toBe('error');
  });

  it('lets exc_info replace the status before headers were sent', () => {
    const { events } = run((_env, start) => {
      start('200 OK', []);
      try {
        throw new Error('boom');
      } catch (e) {
        start('503 Service Unavailable', [['Retry-After', '1']], e);
      }
      return [enc('later')];
    });
    expect(events[0]).toEqual(['start', 503, 'Service Unavailable', [['Retry-After', '1'], ['Content-Length', '5']]]);
  });

  it('re-raises exc_info once headers were sent, and the response is aborted', () => {
    const boom = new Error('boom');
    let raised: unknown;
    const { events, result } = run((_env, start) => {
      const write = start('200 OK', []);
      write(enc('partial'));
      try {
        start('500 Oops', [], boom);
      } catch (e) {
        raised = e;
        throw e;
      }
      return [];
    });
    expect(raised).toBe(boom);
    expect(events.map((e) => e[0])).toEqual(['start', 'body', 'abort']);
    expect(result.outcome).toBe('aborted');
  });

  it('validates the status and headers via checks (clear errors, 500)', () => {
    expect(clauseOf(run((_e, s) => (s('OK', []), [])).logged[0])).toBe('wsgi.start_response.status.2');
    expect(clauseOf(run((_e, s) => (s('200 OK', [['Connection', 'close']]), [])).logged[0])).toBe('wsgi.start_response.headers.5');
    expect(clauseOf(run((_e, s) => (s('200 OK', [['X', 'a\r\nb']]), [])).logged[0])).toBe('wsgi.start_response.headers.4');
  });

  it('refuses a body chunk before start_response, and a return without it', () => {
    expect(clauseOf(run(() => [enc('x')]).logged[0])).toBe('wsgi.start_response.before_body.1');
    expect(clauseOf(run(() => []).logged[0])).toBe('wsgi.start_response.before_body.1');
  });

  it('refuses chunks that are not Uint8Array, and a non-iterable return', () => {
    expect(clauseOf(run((_e, s) => (s('200 OK', []), ['text' as unknown as Uint8Array])).logged[0])).toBe('wsgi.response.chunk.1');
    expect(clauseOf(run((_e, s) => (s('200 OK', []), 42 as unknown as Uint8Array[])).logged[0])).toBe('wsgi.app.return.1');
  });
});

describe('callWsgiApp: write()', () => {
  it('sends headers at the first write() call and streams written data before the iterable', () => {
    const { events } = run((_env, start) => {
      const write = start('200 OK', []);
      write(new Uint8Array(0));
      write(enc('w1'));
      return [enc('i1')];
    });
    expect(events).toEqual([['start', 200, 'OK', []], ['body', 'w1'], ['body', 'i1'], ['end']]);
  });

  it('refuses write() before start_response and non-bytes data', () => {
    let err: unknown;
    run((_env, start) => {
      const write = start('200 OK', []);
      try {
        write('text' as unknown as Uint8Array);
      } catch (e) {
        err = e;
      }
      return [];
    });
    expect(clauseOf(err)).toBe('wsgi.write.chunk.1');
  });
});

describe('callWsgiApp: errors and close()', () => {
  it('answers 500 without leaking the error when the app throws before headers', () => {
    const { events, logged, result } = run(() => {
      throw new Error('secret detail');
    });
    expect((logged[0] as Error).message).toBe('secret detail');
    expect(events).toEqual([['start', 500, 'Internal Server Error', expect.any(Array)], ['body', 'Internal Server Error\n'], ['end']]);
    expect(JSON.stringify(events)).not.toContain('secret');
    expect(result).toMatchObject({ status: 500, outcome: 'error' });
  });

  it('calls close() exactly once on success', () => {
    let closed = 0;
    run((_e, s) => {
      s('200 OK', []);
      return Object.assign([enc('a')], { close: () => void closed++ });
    });
    expect(closed).toBe(1);
  });

  it('calls close() exactly once and aborts when the iterable throws mid-stream', () => {
    let closed = 0;
    const { events, result, logged } = run((_e, s) => {
      s('200 OK', []);
      const it = (function* () {
        yield enc('a');
        throw new Error('mid-stream');
      })();
      return Object.assign(it, { close: () => void closed++ });
    });
    expect(closed).toBe(1);
    expect(events.map((e) => e[0])).toEqual(['start', 'body', 'abort']);
    expect(result.outcome).toBe('aborted');
    expect((logged[0] as Error).message).toBe('mid-stream');
  });

  it('calls close() exactly once, runs the generator finally, and logs nothing when the client disconnects', () => {
    let closed = 0;
    let finalized = false;
    let produced = 0;
    const { events, result, logged } = run(
      (_e, s) => {
        s('200 OK', []);
        const it = (function* () {
          try {
            for (;;) {
              produced++;
              yield enc('x');
            }
          } finally {
            finalized = true;
          }
        })();
        return Object.assign(it, { close: () => void closed++ });
      },
      { disconnectAfter: 3 },
    );
    expect(closed).toBe(1);
    expect(finalized).toBe(true);
    expect(produced).toBe(4);
    expect(events.filter((e) => e[0] === 'body')).toHaveLength(3);
    expect(events.some((e) => e[0] === 'end' || e[0] === 'abort')).toBe(false);
    expect(result.outcome).toBe('disconnected');
    expect(logged).toEqual([]);
  });

  it('makes write() raise ClientDisconnected after the client left, even if the app swallows it', () => {
    let raised = 0;
    const { result } = run(
      (_e, s) => {
        const write = s('200 OK', []);
        for (let i = 0; i < 5; i++) {
          try {
            write(enc('x'));
          } catch (e) {
            if (e instanceof ClientDisconnected) raised++;
          }
        }
        return [];
      },
      { disconnectAfter: 1 },
    );
    expect(raised).toBe(4);
    expect(result.outcome).toBe('disconnected');
  });

  it('logs an exception from close() without changing the response', () => {
    const { events, logged } = run((_e, s) => {
      s('200 OK', []);
      return Object.assign([enc('a')], {
        close: () => {
          throw new Error('close failed');
        },
      });
    });
    expect(events.at(-1)).toEqual(['end']);
    expect((logged[0] as Error).message).toBe('close failed');
  });
});

describe('callWsgiApp: Content-Length and bodiless responses', () => {
  it('enforces an app Content-Length that is exceeded (abort, clause named)', () => {
    const { events, logged, result } = run((_e, s) => {
      s('200 OK', [['Content-Length', '3']]);
      return [enc('ab'), enc('cd')];
    });
    expect(clauseOf(logged[0])).toBe('wsgi.response.content_length.1');
    expect(events.map((e) => e[0])).toEqual(['start', 'body', 'abort']);
    expect(result.outcome).toBe('aborted');
  });

  it('enforces an app Content-Length that is not reached', () => {
    const { events, logged } = run((_e, s) => {
      s('200 OK', [['content-length', '10']]);
      return (function* () {
        yield enc('short');
      })();
    });
    expect(clauseOf(logged[0])).toBe('wsgi.response.content_length.2');
    expect(events.map((e) => e[0])).toEqual(['start', 'body', 'abort']);
  });

  it('honors a matching Content-Length and does not add a second one', () => {
    const { events } = run((_e, s) => {
      s('200 OK', [['Content-Length', '4']]);
      return [enc('ab'), enc('cd')];
    });
    expect(events[0]).toEqual(['start', 200, 'OK', [['Content-Length', '4']]]);
    expect(events.at(-1)).toEqual(['end']);
  });

  it('sends no body for HEAD but the same headers as GET, and still closes', () => {
    let closed = 0;
    const { events, result } = run(
      (_e, s) => {
        s('200 OK', []);
        return Object.assign([enc('body')], { close: () => void closed++ });
      },
      { method: 'HEAD' },
    );
    expect(events).toEqual([['start', 200, 'OK', [['Content-Length', '4']]], ['end']]);
    expect(result.bytes).toBe(4);
    expect(closed).toBe(1);
  });

  it('stops iterating a HEAD or 304 response once the headers are final', () => {
    for (const [method, status] of [['HEAD', '200 OK'], ['GET', '304 Not Modified']] as const) {
      let produced = 0;
      const { events } = run(
        (_e, s) => {
          s(status, [['Content-Length', '100']]);
          return (function* () {
            for (;;) {
              produced++;
              yield enc('x');
            }
          })();
        },
        { method },
      );
      expect(produced).toBe(1);
      expect(events.map((e) => e[0])).toEqual(['start', 'end']);
    }
  });

  it('tells the sink a list chunk may be batched, a generator chunk may not', () => {
    const batches: boolean[] = [];
    const sink: WsgiSink = { start() {}, body: (_c, batch) => void batches.push(batch), end() {}, abort() {} };
    const environ = environFromScope(buildHttpScope({ method: 'GET', target: '/', httpVersion: '1.1', headers: [], client: null, server: null, scheme: 'http' }, { rootPath: '' }), {
      input: createWsgiInput(memorySource([]), 0),
      errors: { write() {}, writelines() {}, flush() {} },
      multithread: false,
      multiprocess: false,
    });
    callWsgiApp((_e, s) => (s('200 OK', []), [enc('a'), enc('b')]), environ, sink);
    callWsgiApp((_e, s) => (s('200 OK', []), (function* () { yield enc('c'); })()), environ, sink);
    expect(batches).toEqual([true, true, false]);
  });
});

describe('wsgi.file_wrapper', () => {
  it('streams a file-like object in blocks and closes it once', () => {
    const data = enc('0123456789');
    let at = 0;
    let closes = 0;
    const reads: number[] = [];
    const file: FileLike = {
      read(size) {
        reads.push(size);
        const part = data.subarray(at, at + size);
        at += part.byteLength;
        return part;
      },
      close: () => void closes++,
    };
    const { events } = run((env, s) => {
      s('200 OK', []);
      return env['wsgi.file_wrapper']!(file, 4);
    });
    expect(events.filter((e) => e[0] === 'body').map((e) => e[1])).toEqual(['0123', '4567', '89']);
    expect(reads).toEqual([4, 4, 4, 4]);
    expect(closes).toBe(1);
  });

  it('opens a real file with openFile and exposes filelike and blockSize', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-fw-'));
    const path = join(dir, 'f.txt');
    writeFileSync(path, 'x'.repeat(100_000));
    const wrapped = fileWrapper(openFile(path)) as FileResponse;
    expect(wrapped.blockSize).toBe(65536);
    expect(typeof wrapped.filelike.fileno?.()).toBe('number');
    const sizes = [...wrapped].map((b) => b.byteLength);
    expect(sizes).toEqual([65536, 100_000 - 65536]);
    wrapped.close();
    wrapped.close();
    expect(() => wrapped.filelike.read(1)).toThrow(/closed/);
  });

  it('refuses a bad block size', () => {
    expect(() => fileWrapper({ read: () => new Uint8Array(0) }, 0)).toThrow(/wsgi.file_wrapper.block_size.1/);
  });
});
