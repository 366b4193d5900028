/**
 * Raw uWebSockets.js over TLS (SSLApp, the binding @tsgi/uws loads) answering
 * hello world by hand: the TLS scenario's ceiling for @tsgi/uws.
 */
import { loadBinding } from '@tsgi/uws';
import { exitOnSignal, PORT, tlsFiles } from './env.js';

const files = tlsFiles('raw-uws-tls');
const HELLO = Buffer.from('Hello, world!');
const { uws } = loadBinding();
const app = uws.SSLApp({ key_file_name: files.keyfile, cert_file_name: files.certfile });

app.any('/*', (res) => {
  res.cork(() => res.writeStatus('200 OK').writeHeader('content-type', 'text/plain').end(HELLO));
});
app.listen('127.0.0.1', PORT, (socket) => {
  if (!socket) throw new Error(`raw uWebSockets.js SSLApp could not listen on ${PORT}`);
});
exitOnSignal();
