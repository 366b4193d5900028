/**
 * The WSGI-TS app every sync contender serves: hello world at `/`, a handler
 * that blocks its thread for 10 ms at `/block` (a stand-in for a synchronous
 * database call), a streamed download at `/download?bytes=N` and an upload
 * read with `wsgi.input.read(65536)` at `/upload`.
 * bench/python/wsgi_app.py is the same app in Python.
 */
import type { WsgiApplication } from '@tsgi/core';
import { bytesParam, CHUNK_SIZE } from './asgi.js';

const HELLO = new TextEncoder().encode('Hello, world!');
const HELLO_HEADERS: Array<[string, string]> = [['Content-Type', 'text/plain'], ['Content-Length', String(HELLO.byteLength)]];
const CHUNK = new Uint8Array(CHUNK_SIZE).fill(120);
/** Atomics.wait on a cell nobody notifies: a real block of the thread, like time.sleep. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

function* chunks(total: number): Generator<Uint8Array> {
  for (let left = total; left > 0; left -= CHUNK_SIZE) yield left >= CHUNK_SIZE ? CHUNK : CHUNK.subarray(0, left);
}

/** The benchmark's WSGI-TS app. */
export const app: WsgiApplication = (environ, startResponse) => {
  switch (environ.PATH_INFO) {
    case '/block':
      Atomics.wait(SLEEP_CELL, 0, 0, 10);
      break;
    case '/download': {
      const total = bytesParam(environ.QUERY_STRING);
      startResponse('200 OK', [['Content-Type', 'application/octet-stream'], ['Content-Length', String(total)]]);
      return chunks(total);
    }
    case '/upload': {
      const input = environ['wsgi.input'];
      let total = 0;
      for (let chunk = input.read(CHUNK_SIZE); chunk.byteLength > 0; chunk = input.read(CHUNK_SIZE)) total += chunk.byteLength;
      const body = new TextEncoder().encode(String(total));
      startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', String(body.byteLength)]]);
      return [body];
    }
  }
  startResponse('200 OK', HELLO_HEADERS);
  return [HELLO];
};
