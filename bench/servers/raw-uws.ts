/**
 * Raw uWebSockets.js (the same native binding @tsgi/uws loads) answering the
 * benchmark's routes by hand: the ceiling an adapter on top of it can reach.
 */
import type { HttpResponse } from '@trufflesuite/uws-js-unofficial';
import { loadBinding } from '@tsgi/uws';
import { bytesParam, CHUNK_SIZE } from '../apps/asgi.js';
import { exitOnSignal, PORT } from './env.js';

const HELLO = Buffer.from('Hello, world!');
const CHUNK = new Uint8Array(CHUNK_SIZE).fill(120);
const { uws } = loadBinding();
const app = uws.App();

/**
 * Slices of one write: with its chunk framing each fits uWS's 16 KiB cork
 * buffer, because v20.30 can drop a larger write's bytes when the socket is
 * full (CHUNK_SLICE in packages/uws/src/http-handler.ts); @tsgi/uws writes
 * the same way, so both pay the same syscalls.
 */
const SLICE = 16 * 1024 - 64;

/** Writes `total` bytes with write(); waits for onWritable whenever write() reports backpressure. */
function download(res: HttpResponse, total: number): void {
  let left = total;
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  const pump = (): void => {
    while (!aborted && left > 0) {
      const n = Math.min(left, SLICE);
      left -= n;
      let ok = true;
      res.cork(() => {
        ok = res.write(CHUNK.subarray(0, n));
      });
      if (!ok) return; // write() kept the chunk; go on once the socket drained
    }
    if (!aborted) res.cork(() => res.end());
  };
  res.onWritable(() => {
    pump();
    return true;
  });
  res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'application/octet-stream'));
  pump();
}

app.get('/download', (res, req) => download(res, bytesParam(req.getQuery() ?? '')));
app.post('/upload', (res) => {
  let total = 0;
  res.onAborted(() => {});
  res.onData((chunk, isLast) => {
    total += chunk.byteLength;
    if (isLast) res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(String(total)));
  });
});
app.any('/*', (res) => {
  res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(HELLO));
});
app.ws('/*', {
  maxPayloadLength: 16 * 1024 * 1024,
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
});
app.listen('127.0.0.1', PORT, (socket) => {
  if (!socket) throw new Error(`raw uWebSockets.js could not listen on ${PORT}`);
});
exitOnSignal();
