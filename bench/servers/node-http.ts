/** node:http answering the benchmark's routes by hand, and ws echoing WebSocket messages: Node's own stack, without any adapter. */
import { createServer, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { bytesParam, CHUNK_SIZE } from '../apps/asgi.js';
import { exitOnSignal, PORT } from './env.js';

const HELLO = Buffer.from('Hello, world!');
const CHUNK = Buffer.alloc(CHUNK_SIZE, 120);

function download(res: ServerResponse, total: number): void {
  let left = total;
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK_SIZE);
      left -= n;
      if (!res.write(n === CHUNK_SIZE ? CHUNK : CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/download')) return download(res, bytesParam(url.slice(url.indexOf('?') + 1)));
  if (url.startsWith('/upload')) {
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(String(total)));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end(HELLO);
});
server.keepAliveTimeout = 60_000;
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
});
server.listen(PORT, '127.0.0.1');
exitOnSignal(() => void server.close());
