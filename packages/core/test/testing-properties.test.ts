import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsgiTestClient, WsgiTestClient, type AsgiApplication, type HttpReceiveEvent, type WsgiApplication } from '@tsgi/core';

/** Random byte chunks, empty ones included (an empty chunk is legal on both sides). */
const chunks = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 12 });

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('test clients: bytes survive any chunking, both ways', () => {
  it('ASGI: the app receives exactly the streamed body, and the test exactly the chunks the app sent', async () => {
    await fc.assert(
      fc.asyncProperty(chunks, chunks, fc.boolean(), async (upload, download, streamed) => {
        const received: HttpReceiveEvent[] = [];
        const app: AsgiApplication = async (_scope, receive, send) => {
          for (;;) {
            const e = (await receive()) as HttpReceiveEvent;
            received.push(e);
            if (e.type !== 'http.request' || !e.more_body) break;
          }
          await send({ type: 'http.response.start', status: 200 });
          for (const c of download) await send({ type: 'http.response.body', body: c, more_body: true });
          await send({ type: 'http.response.body', body: new Uint8Array(0), more_body: false });
        };
        await using client = new AsgiTestClient(app);
        const res = await client.post('/', { body: streamed ? upload : concat(upload) });
        const got = concat(received.map((e) => (e.type === 'http.request' ? e.body : new Uint8Array(0))));
        expect(got).toEqual(concat(upload));
        // Only the last event says more_body: false, and only the last may be empty when streamed.
        expect(received.map((e) => e.type === 'http.request' && e.more_body)).toEqual(received.map((_, i) => i < received.length - 1));
        expect(res.body).toEqual(concat(download));
        expect(res.chunks).toEqual(download.filter((c) => c.byteLength > 0));
      }),
      { numRuns: 60 },
    );
  });

  it('WSGI: wsgi.input returns exactly the body for any read size, with or without Content-Length', async () => {
    await fc.assert(
      fc.asyncProperty(chunks, fc.integer({ min: 1, max: 80 }), fc.boolean(), async (upload, size, withLength) => {
        const app: WsgiApplication = (environ, startResponse) => {
          const parts: Uint8Array[] = [];
          for (let c = environ['wsgi.input'].read(size); c.byteLength > 0; c = environ['wsgi.input'].read(size)) {
            expect(c.byteLength).toBeLessThanOrEqual(size);
            parts.push(c.slice());
          }
          startResponse('200 OK', []);
          return parts;
        };
        const whole = concat(upload);
        const headers: Record<string, string> = withLength ? { 'content-length': String(whole.byteLength) } : {};
        const res = await new WsgiTestClient(app).post('/', { body: upload, headers });
        expect(res.body).toEqual(whole);
      }),
      { numRuns: 60 },
    );
  });
});
