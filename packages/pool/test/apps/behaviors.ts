/**
 * One WSGI-TS app with a route per behavior the pool tests need: blocking,
 * hanging, crashing, streaming both ways, logging to wsgi.errors, and
 * announcing close() in the log so tests can count the calls.
 */
import { openFile, type StartResponse, type WsgiApplication, type WsgiEnviron, type WsgiResponse } from '@tsgi/core';
import { threadId } from 'node:worker_threads';

const enc = new TextEncoder();
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms`, the way a sync driver or time.sleep would. */
function sleep(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

function query(env: WsgiEnviron): URLSearchParams {
  return new URLSearchParams(env.QUERY_STRING);
}

function text(start: StartResponse, body: string, status = '200 OK'): WsgiResponse {
  start(status, [['Content-Type', 'text/plain']]);
  return [enc.encode(body)];
}

/** A response iterable that writes "close <tag>" to wsgi.errors when closed. */
function tracked(env: WsgiEnviron, it: Iterable<Uint8Array>): WsgiResponse {
  const tag = query(env).get('tag') ?? '';
  return Object.assign(it, { close: () => env['wsgi.errors'].write(`close ${tag}\n`) });
}

let served = 0;

export const app: WsgiApplication = (env, start) => {
  served++;
  const q = query(env);
  switch (env.PATH_INFO) {
    case '/hello':
      return text(start, 'Hello, world!');
    case '/environ': {
      const pick: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(env)) if (typeof v === 'string' || typeof v === 'boolean') pick[k] = v;
      return text(start, JSON.stringify(pick));
    }
    case '/sleep':
      sleep(Number(q.get('ms') ?? 200));
      return text(start, 'slept');
    case '/hang':
      for (;;) sleep(1000);
    case '/spin': {
      const until = Date.now() + Number(q.get('ms') ?? 100);
      while (Date.now() < until);
      return text(start, 'spun');
    }
    case '/crash':
      // An uncaught error outside the call: it takes the whole worker thread down.
      queueMicrotask(() => {
        throw new Error('worker crash');
      });
      return text(start, 'about to crash');
    case '/exit':
      process.exit(3);
    case '/throw':
      throw new Error('app exception with a secret');
    case '/served':
      return text(start, String(served));
    case '/pid':
      return text(start, String(process.pid));
    case '/thread':
      sleep(Number(q.get('ms') ?? 0));
      return text(start, String(threadId));
    case '/errors':
      env['wsgi.errors'].write('first line\nsecond line\n');
      env['wsgi.errors'].flush();
      return text(start, 'logged');
    case '/upload': {
      // Reads the body in 64 KiB blocks and reports the total and a checksum.
      const input = env['wsgi.input'];
      let total = 0;
      let sum = 0;
      for (;;) {
        const block = input.read(65536);
        if (block.byteLength === 0) break;
        total += block.byteLength;
        for (let i = 0; i < block.byteLength; i += 4096) sum = (sum + block[i]!) % 65521;
      }
      return text(start, `${total} ${sum}`);
    }
    case '/echo':
      // Streams the body back as it is read: both directions at once.
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (function* () {
        for (;;) {
          const block = env['wsgi.input'].read(Number(q.get('block') ?? 65536));
          if (block.byteLength === 0) return;
          yield block;
        }
      })();
    case '/read-some': {
      // Reads only the first n bytes of the body and answers with them.
      const got = env['wsgi.input'].read(Number(q.get('n') ?? 10));
      start('200 OK', []);
      return [got];
    }
    case '/lines':
      start('200 OK', []);
      return [enc.encode(JSON.stringify(env['wsgi.input'].readlines().map((l) => new TextDecoder().decode(l))))];
    case '/stream': {
      // n chunks of `size` bytes, optionally sleeping between them; announces close().
      const n = Number(q.get('n') ?? 4);
      const size = Number(q.get('size') ?? 16);
      const gap = Number(q.get('gap') ?? 0);
      const chunk = new Uint8Array(size).fill(0x61);
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return tracked(
        env,
        (function* () {
          for (let i = 0; i < n; i++) {
            if (gap > 0 && i > 0) sleep(gap);
            yield chunk;
          }
        })(),
      );
    }
    case '/midstream-throw':
      start('200 OK', []);
      return tracked(
        env,
        (function* () {
          yield enc.encode('partial');
          throw new Error('mid-stream failure');
        })(),
      );
    case '/length':
      start('200 OK', [['Content-Length', q.get('declared') ?? '10']]);
      return [enc.encode('x'.repeat(Number(q.get('actual') ?? 10)))];
    case '/hop':
      start('200 OK', [['Transfer-Encoding', 'chunked']]);
      return [enc.encode('nope')];
    case '/write':
      {
        const write = start('200 OK', []);
        write(enc.encode('written;'));
      }
      return [enc.encode('returned')];
    case '/file':
      start('200 OK', [['Content-Type', 'application/octet-stream']]);
      return env['wsgi.file_wrapper']!(openFile(q.get('path')!));
    default:
      return text(start, 'not found', '404 Not Found');
  }
};

