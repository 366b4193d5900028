import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { RawClient, closeAll, deferred, delay, readBody, start } from './helpers.js';

afterEach(closeAll);

describe('Expect: 100-continue', () => {
  it('sends 100 Continue only when the app first calls receive(), then the app gets the body', async () => {
    let receiving = false;
    const gate = deferred();
    const app: AsgiApplication = async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await gate.promise;
      receiving = true;
      const body = await readBody(receive as never);
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await delay(100);
    expect(c.pending.length).toBe(0); // nothing yet: the app has not asked for the body
    gate.resolve();
    const interim = await c.response();
    expect(receiving).toBe(true);
    expect(interim.status).toBe(100);
    c.write('hello');
    const r = await c.response();
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('hello');
    expect(r.header('connection')?.toLowerCase()).toBe('keep-alive');
    c.close();
  });

  it('never sends 100 when the app answers without reading, and closes the connection (the client may never send the body)', async () => {
    const app: AsgiApplication = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 413, headers: [] });
      await send({ type: 'http.response.body', body: Buffer.from('no thanks') });
    };
    const s = await start(app);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n');
    const all = await c.final();
    expect(all.map((r) => r.status)).toEqual([413]);
    expect(all[0]!.header('connection')?.toLowerCase()).toBe('close');
    await c.waitClosed();
  });
});
