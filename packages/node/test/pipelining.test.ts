import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { RawClient, closeAll, delay, start } from './helpers.js';

afterEach(closeAll);

describe('pipelining and keep-alive', () => {
  it('answers pipelined requests in order, also when the first response waits on I/O', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      // The first request waits longest: its response must still come first.
      const wait = Number(scope.query_string || '0');
      await delay(wait);
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from(`${scope.path}`), more_body: true });
      await delay(wait / 2);
      await send({ type: 'http.response.body', body: Buffer.from('!') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET /1?80 HTTP/1.1\r\nHost: x\r\n\r\nGET /2?0 HTTP/1.1\r\nHost: x\r\n\r\nGET /3?30 HTTP/1.1\r\nHost: x\r\n\r\n');
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await c.response()).body.toString());
    expect(bodies).toEqual(['/1!', '/2!', '/3!']);
    c.close();
  });

  it('serves 500 sequential requests on one connection', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('k') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    for (let i = 0; i < 500; i++) {
      c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await c.response()).body.toString()).toBe('k');
    }
    c.close();
  });
});
