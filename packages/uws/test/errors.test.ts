import { afterEach, describe, expect, it } from 'vitest';
import { isProtocolError, type AsgiApplication } from '@tsgi/core';
import { closeAll, RawClient, rawRequest, start } from './helpers.js';

afterEach(closeAll);

const GET = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';

describe('app errors', () => {
  it('answers 500 with a fixed body when the app raises before starting, and logs it', async () => {
    const app: AsgiApplication = async () => {
      throw new Error('secret detail');
    };
    const { port, log } = await start(app);
    const res = await rawRequest(port, GET);
    expect(res.status).toBe(500);
    expect(res.body.toString()).toBe('Internal Server Error');
    expect(res.head + res.body.toString()).not.toContain('secret');
    expect(log.errors()).toHaveLength(1);
    expect((log.errors()[0]!.error as Error).message).toBe('secret detail');
  });

  it('answers 500 when the app raises synchronously (not an async function)', async () => {
    const app = (() => {
      throw new TypeError('sync boom');
    }) as unknown as AsgiApplication;
    const { port, log } = await start(app);
    expect((await rawRequest(port, GET)).status).toBe(500);
    expect(log.errors()[0]!.error).toBeInstanceOf(TypeError);
  });

  it('answers 500 when the app started but raised before any body went out', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      throw new Error('late');
    };
    const { port } = await start(app);
    expect((await rawRequest(port, GET)).status).toBe(500);
  });

  it('closes the connection when the app raises mid-body', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('partial'), more_body: true });
      throw new Error('mid-body');
    };
    const { port, log } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write(GET);
    await expect(c.response()).rejects.toThrow(/closed/); // never a complete response
    await c.waitClosed();
    expect(log.errors()).toHaveLength(1);
  });

  it('answers 500 when the app returns without responding', async () => {
    const { port, log } = await start(async () => {});
    expect((await rawRequest(port, GET)).status).toBe(500);
    expect(log.errors()[0]!.message).toMatch(/without starting response/);
  });

  it('closes the connection when the app returns with the body unfinished', async () => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('x'), more_body: true });
    };
    const { port } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write(GET);
    await expect(c.response()).rejects.toThrow();
    await c.waitClosed();
  });

  it('keeps serving after app errors', async () => {
    let n = 0;
    const app: AsgiApplication = async (_s, _r, send) => {
      if (n++ % 2 === 0) throw new Error('every other');
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    };
    const { port } = await start(app);
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await rawRequest(port, GET)).status);
    expect(statuses).toEqual([500, 200, 500, 200, 500, 200]);
  });
});

describe('invalid events', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['status out of range', { type: 'http.response.start', status: 1000 }, /asgi\.http\.start/],
    ['status not a number', { type: 'http.response.start', status: '200' }, /asgi\.http\.start/],
    ['header value with CR/LF', { type: 'http.response.start', status: 200, headers: [['x-a', 'a\r\nx-injected: 1']] }, /asgi\./],
    ['header value with a char above 0xFF', { type: 'http.response.start', status: 200, headers: [['x-a', '\u20ac']] }, /asgi\./],
    ['unknown event type', { type: 'http.response.nope' }, /asgi\.events\.type/],
  ];
  for (const [what, event, clause] of cases) {
    it(`rejects send() with a ProtocolError naming the clause: ${what}`, async () => {
      let caught: unknown;
      const app: AsgiApplication = async (_s, _r, send) => {
        try {
          await send(event as never);
        } catch (e) {
          caught = e;
        }
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: Buffer.from('recovered') });
      };
      const { port } = await start(app);
      const res = await rawRequest(port, GET);
      expect(res.body.toString()).toBe('recovered');
      expect(isProtocolError(caught)).toBe(true);
      expect((caught as Error).message).toMatch(clause);
    });
  }

  it('rejects a body that is not a Uint8Array', async () => {
    let caught: unknown;
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200 });
      try {
        await send({ type: 'http.response.body', body: 'text' as never });
      } catch (e) {
        caught = e;
      }
      await send({ type: 'http.response.body', body: Buffer.from('ok') });
    };
    const { port } = await start(app);
    expect((await rawRequest(port, GET)).body.toString()).toBe('ok');
    expect((caught as Error).message).toMatch(/asgi\.http\.body/);
  });

  it('answers 500 when the first body already disagrees with Content-Length (nothing sent yet)', async () => {
    let caught: unknown;
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '3']] });
      try {
        await send({ type: 'http.response.body', body: Buffer.from('toolong') });
      } catch (e) {
        caught = e;
        throw e;
      }
    };
    const { port, log } = await start(app);
    expect((await rawRequest(port, GET)).status).toBe(500);
    expect((caught as Error).message).toMatch(/asgi\.http\.length\.2/);
    expect(log.errors()).toHaveLength(1);
  });

  // The app sends 'abc' then 'de' (5 bytes) after announcing `contentLength`; the head is already out.
  it.each([
    ['a later body goes past Content-Length', '4', /asgi\.http\.length\.2/],
    ['the body ends short of Content-Length', '10', /asgi\.http\.length\.3/],
  ])('closes the connection when %s', async (_case, contentLength, clause) => {
    const app: AsgiApplication = async (_s, _r, send) => {
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', contentLength]] });
      await send({ type: 'http.response.body', body: Buffer.from('abc'), more_body: true });
      await send({ type: 'http.response.body', body: Buffer.from('de') });
    };
    const { port, log } = await start(app);
    const c = new RawClient(port);
    await c.ready;
    c.write(GET);
    await c.waitClosed();
    expect((log.errors()[0]!.error as Error).message).toMatch(clause);
  });
});
