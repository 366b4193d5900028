/** node:http2's core API answering hello world by hand over h2c: respond() and end() on each stream, no request or response objects. */
import { createServer } from 'node:http2';
import { exitOnSignal, PORT } from './env.js';

const HELLO = Buffer.from('Hello, world!');

const server = createServer();
server.on('stream', (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  stream.end(HELLO);
});
server.listen(PORT, '127.0.0.1');
exitOnSignal(() => void server.close());
