/**
 * A real Hono app served by tsgi through the fetch bridge:
 *   tsgi serve examples/hono/app.ts:app        (an object with `fetch`: served via fromFetchHandler)
 * or programmatically: serve(fromFetchHandler(app)) on @tsgi/uws.
 *
 * Routes exercise what a gateway must get right: a streamed response, an
 * upload read as a stream (never buffered whole), several Set-Cookie headers.
 */
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { stream } from 'hono/streaming';

export const app = new Hono();

app.get('/', (c) => c.text('Hello from Hono on tsgi\n'));

// GET /stream?chunks=N&size=S: N chunks of S bytes, each written as produced (backpressure applies).
app.get('/stream', (c) => {
  const chunks = Math.max(0, Number(c.req.query('chunks') ?? '10'));
  const size = Math.max(1, Number(c.req.query('size') ?? '16'));
  c.header('content-type', 'application/octet-stream');
  return stream(c, async (s) => {
    for (let i = 0; i < chunks; i++) {
      if (s.aborted) break;
      // Each chunk is filled with its index (mod 256), so a client can check order and integrity.
      await s.write(new Uint8Array(size).fill(i & 0xff));
    }
  });
});

// POST /upload: reads the body as a stream and answers how many bytes came, and the sum of every
// 4096th byte (by position in the upload, so it does not depend on how the transport cut the chunks).
app.post('/upload', async (c) => {
  const body = c.req.raw.body;
  let bytes = 0;
  let sum = 0;
  if (body !== null) {
    for await (const chunk of body) {
      for (let i = (4096 - (bytes % 4096)) % 4096; i < chunk.byteLength; i += 4096) sum = (sum + chunk[i]!) >>> 0;
      bytes += chunk.byteLength;
    }
  }
  return c.json({ bytes, sum });
});

// GET /cookies: three cookies, which must reach the client as three Set-Cookie lines.
app.get('/cookies', (c) => {
  setCookie(c, 'session', 'abc123', { httpOnly: true, path: '/' });
  setCookie(c, 'theme', 'dark', { path: '/', maxAge: 3600 });
  setCookie(c, 'lang', 'en', { path: '/', sameSite: 'Lax' });
  return c.text('cookies set\n');
});

// GET /echo: the request as the handler saw it (method, URL, headers).
app.all('/echo/*', (c) =>
  c.json({ method: c.req.method, url: c.req.url, headers: Object.fromEntries(c.req.raw.headers) }),
);

export default app;
