import { AsgiTestClient, AsgiValidationError, WsgiTestClient, type AsgiApplication } from '@tsgi/core';
import { describe, expect, it } from 'vitest';
import { app as asyncApp } from '../docs/hello-async.js';
import { app as syncApp } from '../docs/hello-sync.js';

describe('the hello apps, in process', () => {
  it('greets by name (ASGI-TS)', async () => {
    await using client = new AsgiTestClient(asyncApp); // closed at scope exit; start() would also run lifespan
    const res = await client.get('/?name=Ada');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.text()).toBe('Hello, Ada!\n');
    expect((await client.post('/', { body: 'abc' })).text()).toBe('3 bytes\n');
  });

  it('counts the body (WSGI-TS)', async () => {
    const client = new WsgiTestClient(syncApp);
    const res = await client.post('/upload', { body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.text()).toBe('POST /upload: 5 bytes\n');
    expect(res.errors).toBe(''); // nothing written to wsgi.errors
  });

  it('names the broken rule when an app breaks the protocol', async () => {
    const broken: AsgiApplication = async (scope, receive, send) => {
      await send({ type: 'http.response.body', body: new Uint8Array() }); // body before start
    };
    await using client = new AsgiTestClient(broken);
    const error = await client.get('/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AsgiValidationError);
    expect((error as AsgiValidationError).clause).toMatch(/^asgi\.http\./);
  });
});
