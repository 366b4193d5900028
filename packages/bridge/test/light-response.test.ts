import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { fromFetchHandler } from '../src/index.js';
import { callHttp, httpScope, text } from './harness.js';

const enc = new TextEncoder();
const NativeResponse = globalThis.Response;
// fromFetchHandler makes the global Response a LightResponse, as Hono's Node adapter does.
const serve = (handler: () => Response | Promise<Response>) => callHttp(fromFetchHandler(handler), httpScope());
fromFetchHandler(() => new Response(''));

describe('the global Response while fromFetchHandler serves (overrideGlobalObjects)', () => {
  it('is still a Response to instanceof, toString and subclasses, both for its own objects and for the runtime’s', async () => {
    expect(globalThis.Response).not.toBe(NativeResponse);
    const light = new Response('hi');
    expect(light instanceof Response).toBe(true);
    expect(light instanceof NativeResponse).toBe(true);
    expect(Object.prototype.toString.call(light)).toBe('[object Response]');
    const fromRuntime = Response.json({ a: 1 });
    expect(fromRuntime instanceof Response).toBe(true);
    class Mine extends Response {}
    const mine = new Mine('x');
    expect(mine instanceof Mine && mine instanceof Response).toBe(true);
    expect(light instanceof Mine).toBe(false);
  });

  it('answers every getter and method as the runtime’s Response does', async () => {
    const r = new Response('héllo', { status: 201, headers: { 'x-a': '1' } });
    expect(r.status).toBe(201);
    expect(r.ok).toBe(true);
    expect(r.statusText).toBe('');
    expect(r.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(r.headers.get('x-a')).toBe('1');
    expect(await r.clone().text()).toBe('héllo');
    expect(r.bodyUsed).toBe(false);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(enc.encode('héllo'));
    expect(r.bodyUsed).toBe(true);
    expect(await new Response(null, { status: 404 }).text()).toBe('');
    expect(new Response(null, { status: 404 }).ok).toBe(false);
  });

  it('throws what the runtime’s constructor throws for an invalid status, a body on a null-body status, or a bad header', () => {
    expect(() => new Response('x', { status: 99 })).toThrow(RangeError);
    expect(() => new Response('x', { status: 204 })).toThrow(TypeError);
    expect(() => new Response('x', { headers: { 'bad name': 'v' } })).toThrow(TypeError);
    expect(() => new Response('x', { headers: { a: 'line\nbreak' } })).toThrow(TypeError);
  });
});

describe('a Response of text or bytes is written from what its constructor was given', () => {
  it('a string: its UTF-8 bytes with text/plain;charset=UTF-8, in one final body', async () => {
    const r = await serve(() => new Response('héllo'));
    expect(r.status).toBe(200);
    expect(r.headers).toEqual([['content-type', 'text/plain;charset=UTF-8']]);
    expect(text(r.body)).toBe('héllo');
    expect(r.sent.filter((e) => e.type === 'http.response.body')).toEqual([{ type: 'http.response.body', body: expect.any(Uint8Array), more_body: false }]);
  });

  it('headers as an object, as pairs (repeated fields kept apart) or as Headers, with the status; a given content-type stays', async () => {
    const asObject = await serve(() => new Response('{}', { status: 201, headers: { 'Content-Type': 'application/json', 'X-Id': '7' } }));
    expect(asObject.status).toBe(201);
    expect(asObject.headers).toEqual([
      ['content-type', 'application/json'],
      ['x-id', '7'],
    ]);
    const asPairs = await serve(() => new Response(null, { status: 302, headers: [['location', '/a'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']] }));
    expect(asPairs.status).toBe(302);
    expect(asPairs.headers).toEqual([
      ['location', '/a'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
    const asHeaders = await serve(() => new Response(enc.encode('b'), { headers: new Headers({ 'x-h': 'v' }) }));
    expect(asHeaders.headers).toEqual([['x-h', 'v']]);
    expect(text(asHeaders.body)).toBe('b');
  });

  it('bytes are copied when the Response is made, as the runtime copies them: a handler reusing its buffer changes nothing sent', async () => {
    const buffer = enc.encode('first');
    const r = await serve(() => {
      const response = new Response(buffer);
      buffer.set(enc.encode('XXXXX'));
      return response;
    });
    expect(text(r.body)).toBe('first');
  });

  it('a Response changed after it was made (Hono middleware setting a header on c.res) goes out with the change', async () => {
    const app = new Hono();
    app.use(async (c, next) => {
      await next();
      c.res.headers.set('x-after', 'yes');
    });
    app.get('/', (c) => c.text('Hello'));
    const r = await callHttp(fromFetchHandler(app), httpScope());
    expect(r.status).toBe(200);
    expect(text(r.body)).toBe('Hello');
    expect(r.headers).toContainEqual(['x-after', 'yes']);
    expect(r.headers).toContainEqual(['content-type', 'text/plain;charset=UTF-8']);
  });
});

describe('overrideGlobalObjects: false', () => {
  it('leaves the runtime’s Response global, and the handler is served through it', () => {
    const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
    const harness = fileURLToPath(new URL('./harness.ts', import.meta.url));
    const script = `
      const { fromFetchHandler } = await import(${JSON.stringify(src)});
      const { callHttp, httpScope, text } = await import(${JSON.stringify(harness)});
      const before = globalThis.Response;
      const r = await callHttp(fromFetchHandler(() => new Response('native'), { overrideGlobalObjects: false }), httpScope());
      console.log(JSON.stringify({ same: globalThis.Response === before, body: text(r.body) }));
    `;
    const out = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({ same: true, body: 'native' });
  });
});
