import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication, HttpRequestEvent } from '@tsgi/core';
import { closeAll, RawClient, rawRequest, start } from './helpers.js';

afterEach(closeAll);

/** Reads the whole body, recording each event's size and more_body, and answers with a JSON summary. */
const bodySummary: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const events: Array<[number, boolean]> = [];
  const parts: Buffer[] = [];
  for (;;) {
    const e = (await receive()) as HttpRequestEvent;
    expect(e.type).toBe('http.request');
    events.push([e.body.byteLength, e.more_body]);
    parts.push(Buffer.from(e.body));
    if (!e.more_body) break;
  }
  const body = Buffer.from(JSON.stringify({ events, body: Buffer.concat(parts).toString('latin1') }));
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body });
};

describe('request bodies', () => {
  it('streams a chunked upload as http.request events ending with more_body false', async () => {
    const { port } = await start(bodySummary);
    const c = new RawClient(port);
    await c.ready;
    c.write('POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    await new Promise((r) => setTimeout(r, 20));
    c.write('6\r\n world\r\n0\r\n\r\n');
    const res = await c.response();
    c.close();
    const { events, body } = JSON.parse(res.body.toString());
    expect(body).toBe('hello world');
    expect(events.at(-1)[1]).toBe(false);
    expect(events.slice(0, -1).every((e: [number, boolean]) => e[1])).toBe(true);
  });

  it('delivers a Content-Length body byte-exact (all 256 byte values)', async () => {
    const { port } = await start(bodySummary);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await rawRequest(port, Buffer.concat([Buffer.from(`PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 256\r\n\r\n`), bytes]));
    expect(Buffer.from(JSON.parse(res.body.toString()).body, 'latin1')).toEqual(bytes);
  });

  it('gives a single empty http.request for a request without body', async () => {
    const { port } = await start(bodySummary);
    const res = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(JSON.parse(res.body.toString()).events).toEqual([[0, false]]);
  });
});

describe('responses', () => {
  it('computes Content-Length for a one-shot body', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['x-a', '1']] });
      await send({ type: 'http.response.body', body: Buffer.from('hello') });
    };
    const { port } = await start(app);
    const res = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.reason).toBe('OK');
    expect(res.header('content-length')).toBe('5');
    expect(res.header('x-a')).toBe('1');
    expect(res.body.toString()).toBe('hello');
  });

  it('streams chunked when the app gives no Content-Length', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 201, headers: [] });
      for (const part of ['a', 'bb', '', 'ccc']) await send({ type: 'http.response.body', body: Buffer.from(part), more_body: true });
      await send({ type: 'http.response.body', body: Buffer.from('!') });
    };
    const { port } = await start(app);
    const res = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(res.status).toBe(201);
    expect(res.header('transfer-encoding')).toBe('chunked');
    expect(res.header('content-length')).toBeUndefined();
    expect(res.body.toString()).toBe('abbccc!');
  });

  it("honors the app's Content-Length across several chunks", async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '6']] });
      await send({ type: 'http.response.body', body: Buffer.from('abc'), more_body: true });
      await send({ type: 'http.response.body', body: Buffer.from('def') });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n');
    for (let i = 0; i < 2; i++) {
      const res = await c.response();
      expect(res.header('content-length')).toBe('6');
      expect(res.header('transfer-encoding')).toBeUndefined();
      expect(res.body.toString()).toBe('abcdef');
    }
    c.close();
  });

  it('keeps latin-1 header bytes byte-exact on the wire', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['x-latin', 'caf\u00e9']] });
      await send({ type: 'http.response.body' });
    };
    const { port } = await start(app);
    const res = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(res.header('x-latin')).toBe('caf\u00e9'); // one byte 0xE9, read back as latin-1
  });

  it('writes the app\'s reason_phrase (announced) as the status line\'s reason, the standard one otherwise', async () => {
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type !== 'http') return;
      expect(scope.extensions?.['http.response.reason_phrase']).toEqual({});
      const reason = new URLSearchParams(scope.query_string).get('reason');
      await send({ type: 'http.response.start', status: Number(scope.path.slice(1)), ...(reason === null ? {} : { reason_phrase: reason }) });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    };
    const { port } = await start(app);
    const got = async (target: string) => {
      const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`);
      return [res.status, res.reason, res.body.toString()];
    };
    expect(await got('/299?reason=Custom%20Reason')).toEqual([299, 'Custom Reason', 'ok']);
    expect(await got('/200?reason=Fine')).toEqual([200, 'Fine', 'ok']); // 200 has a status line of its own when the reason is the app's
    expect(await got('/404?reason=Caf%C3%A9')).toEqual([404, 'Caf\u00e9', 'ok']); // one byte 0xE9, read back as latin-1
    expect(await got('/404')).toEqual([404, 'Not Found', 'ok']);
    expect(await got('/200')).toEqual([200, 'OK', 'ok']);
  });

  it('sends no body for HEAD but keeps the Content-Length', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '5']] });
      await send({ type: 'http.response.body', body: Buffer.from('hello') });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const head = await c.response({ headRequest: true });
    expect(head.header('content-length')).toBe('5');
    const get = await c.response();
    expect(get.body.toString()).toBe('hello'); // nothing of the HEAD body leaked before it
    c.close();
  });

  it('sends 204 without body or Content-Length', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 204 });
      await send({ type: 'http.response.body' });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('DELETE / HTTP/1.1\r\nHost: h\r\n\r\nDELETE / HTTP/1.1\r\nHost: h\r\n\r\n');
    for (let i = 0; i < 2; i++) {
      const res = await c.response();
      expect(res.status).toBe(204);
      expect(res.header('content-length')).toBeUndefined();
    }
    c.close();
  });

  it('closes the connection after a response the app marked connection: close', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['connection', 'close']] });
      await send({ type: 'http.response.body', body: Buffer.from('bye') });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await c.response();
    expect(res.header('connection')).toBe('close');
    await c.waitClosed();
  });
});
