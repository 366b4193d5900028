/**
 * One big transfer through node:http: `up` streams N bytes as a chunked
 * POST to /upload (uWebSockets.js v20.30 refuses a 10-digit Content-Length)
 * and checks the count the server answers; `down` GETs /download?bytes=N
 * and counts what arrives. Prints `{"bytes", "seconds"}`.
 *
 *   node transfer.js up|down <base-url> <bytes>
 */
import { request } from 'node:http';

const [direction = 'down', base = '', bytesArg = '0'] = process.argv.slice(2);
const total = Number(bytesArg);
const BLOCK = Buffer.alloc(1 << 20, 120);

function upload(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/upload', base), { method: 'POST', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 && Number(text) === total ? resolve(total) : reject(new Error(`upload answered ${res.statusCode}: ${text.slice(0, 200)}`))));
    });
    req.on('error', reject);
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, BLOCK.byteLength);
        left -= n;
        if (!req.write(n === BLOCK.byteLength ? BLOCK : BLOCK.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

function download(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`/download?bytes=${total}`, base), (res) => {
      let received = 0;
      res.on('data', (d: Buffer) => (received += d.byteLength));
      res.on('end', () => (res.statusCode === 200 && received === total ? resolve(received) : reject(new Error(`download got ${received} of ${total} bytes (status ${res.statusCode})`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const start = performance.now();
const bytes = direction === 'up' ? await upload() : await download();
process.stdout.write(JSON.stringify({ bytes, seconds: (performance.now() - start) / 1000 }) + '\n');
