import { describe, expect, it } from 'vitest';
import { fromFetchHandler } from '../src/index.js';
import { callHttp, httpScope, text } from './harness.js';

/** Runs `inspect` on the Request fromFetchHandler hands a handler, and answers with what it returns (as JSON). */
async function seen(inspect: (request: Request) => unknown | Promise<unknown>, scope = httpScope(), body: Uint8Array[] = []): Promise<unknown> {
  const app = fromFetchHandler(async (request) => Response.json(await inspect(request)));
  const r = await callHttp(app, scope, body);
  expect(r.status, text(r.body)).toBe(200);
  return JSON.parse(text(r.body));
}

const post = (bodyText: string) =>
  httpScope({ method: 'POST', path: '/p', raw_path: '/p', query_string: 'q=1', headers: [['host', 'example.test'], ['content-type', 'application/json'], ['content-length', String(bodyText.length)], ['x-a', '1'], ['x-a', '2']] });

describe('the Request a fetch handler gets', () => {
  it('is a Request, with method, url and headers as undici would give them', async () => {
    expect(
      await seen((r) => ({
        isRequest: r instanceof Request,
        tag: Object.prototype.toString.call(r),
        method: r.method,
        url: r.url,
        xa: r.headers.get('x-a'),
        type: r.headers.get('content-type'),
      }), post('{}')),
    ).toEqual({ isRequest: true, tag: '[object Request]', method: 'POST', url: 'http://example.test/p?q=1', xa: '1, 2', type: 'application/json' });
  });

  it('reads its body through text(), json() and arrayBuffer(), once, as undici does', async () => {
    const body = '{"a":[1,2,3]}';
    const chunks = [new TextEncoder().encode(body.slice(0, 5)), new TextEncoder().encode(body.slice(5))];
    expect(await seen(async (r) => ({ before: r.bodyUsed, json: await r.json(), after: r.bodyUsed }), post(body), chunks)).toEqual({ before: false, json: { a: [1, 2, 3] }, after: true });
    expect(await seen(async (r) => new TextDecoder().decode(await r.arrayBuffer()), post(body), chunks)).toBe(body);
    expect(await seen(async (r) => {
      await r.text();
      return r.text().then(() => 'read twice', (e: Error) => e.name);
    }, post(body), chunks)).toBe('TypeError');
  });

  it('clones, and a clone reads the same body', async () => {
    const body = 'hello';
    expect(await seen(async (r) => {
      const c = r.clone();
      return { clone: c instanceof Request && c.url === r.url, a: await c.text(), b: await r.text() };
    }, post(body), [new TextEncoder().encode(body)])).toEqual({ clone: true, a: 'hello', b: 'hello' });
  });

  it('keeps one headers object before and after the body is read, and what the handler set on it', async () => {
    expect(await seen(async (r) => {
      const h = r.headers;
      h.set('x-set', 'yes');
      await r.text();
      return { same: r.headers === h, set: r.headers.get('x-set'), body: r.body !== null, mode: r.mode };
    }, post('x'), [new TextEncoder().encode('x')])).toEqual({ same: true, set: 'yes', body: true, mode: 'cors' });
  });

  it('has no body on a GET, and upper-cases the methods undici normalizes', async () => {
    expect(await seen((r) => ({ body: r.body, method: r.method }), httpScope({ method: 'get' }))).toEqual({ body: null, method: 'GET' });
    expect(await seen((r) => r.method, httpScope({ method: 'PROPFIND' }))).toBe('PROPFIND');
  });
});
