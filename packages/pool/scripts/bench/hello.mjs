// A sync hello-world WSGI-TS app, the same as hello_wsgi.py.
const BODY = new TextEncoder().encode('Hello, world!');

export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['Content-Length', String(BODY.byteLength)]]);
  return [BODY];
}
