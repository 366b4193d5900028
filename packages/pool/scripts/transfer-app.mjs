// The WSGI-TS app of the big-transfer measurement (plain JavaScript, so the
// server child runs from dist/ without tsx): an upload read with
// wsgi.input.read(65536) in a loop, and a streamed download.
const enc = new TextEncoder();

export function app(environ, start) {
  if (environ.PATH_INFO === '/upload') {
    let total = 0;
    for (;;) {
      const block = environ['wsgi.input'].read(65536);
      if (block.byteLength === 0) break;
      total += block.byteLength;
    }
    start('200 OK', [['Content-Type', 'text/plain']]);
    return [enc.encode(String(total))];
  }
  const bytes = Number(new URLSearchParams(environ.QUERY_STRING).get('bytes') ?? 0);
  start('200 OK', [['Content-Type', 'application/octet-stream'], ['Content-Length', String(bytes)]]);
  return (function* () {
    for (let sent = 0; sent < bytes; sent += 65536) {
      // A fresh block each time, as an app reading a file would produce.
      yield new Uint8Array(Math.min(65536, bytes - sent)).fill(sent & 0xff);
    }
  })();
}
