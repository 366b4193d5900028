import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { closeAll, RawClient, start } from './helpers.js';

afterEach(closeAll);

describe('keep-alive', () => {
  it('serves 10,000 sequential requests on one connection', async () => {
    let n = 0;
    const app: AsgiApplication = async (scope, _r, send) => {
      if (scope.type !== 'http') return;
      n++;
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: Buffer.from(scope.query_string) });
    };
    const { port } = await start(app, { accessLog: false });
    const c = new RawClient(port);
    await c.ready;
    for (let i = 0; i < 10_000; i++) {
      c.write(`GET /?${i} HTTP/1.1\r\nHost: h\r\n\r\n`);
      const res = await c.response();
      if (res.status !== 200 || res.body.toString() !== String(i)) {
        throw new Error(`request ${i}: ${res.status} ${res.body.toString()}`);
      }
    }
    expect(n).toBe(10_000);
    expect(c.isClosed).toBe(false);
    c.close();
  }, 60_000);

  it('answers pipelined requests in order', async () => {
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      let body = '';
      for (;;) {
        const e = await receive();
        if (e.type !== 'http.request') break;
        body += Buffer.from(e.body).toString();
        if (!e.more_body) break;
      }
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from(`${scope.path}:${body}`) });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write('POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nonePOST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n');
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await c.response()).body.toString());
    expect(bodies).toEqual(['/a:one', '/b:two', '/c:']);
    c.close();
  });

  it('with timeoutKeepAlive 0, closes the connection after each response', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('x') });
    };
    const { port } = await start(app, { timeoutKeepAlive: 0 });
    const c = new RawClient(port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    const res = await c.response();
    expect(res.header('connection')).toBe('close');
    await c.waitClosed();
  });
});
