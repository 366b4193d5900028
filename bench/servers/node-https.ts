/** node:https answering hello world by hand: Node's own TLS and HTTP/1.1 stack, without any adapter. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { exitOnSignal, PORT, tlsFiles } from './env.js';

const files = tlsFiles('node-https');
const HELLO = Buffer.from('Hello, world!');

const server = createServer({ key: readFileSync(files.keyfile), cert: readFileSync(files.certfile) }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(HELLO);
});
server.keepAliveTimeout = 60_000;
server.listen(PORT, '127.0.0.1');
exitOnSignal(() => void server.close());
