/** node:http2 answering hello world by hand over h2c: Node's own HTTP/2 stack, without any adapter. */
import { createServer } from 'node:http2';
import { exitOnSignal, PORT } from './env.js';

const HELLO = Buffer.from('Hello, world!');

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(HELLO);
});
server.listen(PORT, '127.0.0.1');
exitOnSignal(() => void server.close());
