import { afterEach, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_S } from '@tsgi/node';
import { RawClient, closeAll, delay, start, textApp } from './helpers.js';

afterEach(closeAll);

describe('keep-alive timeout', () => {
  it('closes a connection idle longer than timeoutKeepAlive, not before', async () => {
    const s = await start(textApp('hi'), { timeoutKeepAlive: 0.5 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    expect(r.header('connection')?.toLowerCase()).toBe('keep-alive');
    const t0 = Date.now();
    await delay(250);
    expect(c.isClosed).toBe(false);
    await c.waitClosed();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('timeoutKeepAlive 0 closes the connection after each response (Connection: close)', async () => {
    const s = await start(textApp('hi'), { timeoutKeepAlive: 0 });
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await c.response();
    expect(r.header('connection')?.toLowerCase()).toBe('close');
    await c.waitClosed();
  });

  it('answers a request that asked for Connection: close, then closes', async () => {
    const s = await start(textApp('hi'));
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const r = await c.response();
    expect(r.body.toString()).toBe('hi');
    expect(r.header('connection')?.toLowerCase()).toBe('close');
    await c.waitClosed();
  });

  it(
    `closes a connection that sends no request head within ${HEADERS_TIMEOUT_S} s of connecting, answers 408 to a head still unfinished after ${HEADERS_TIMEOUT_S} s, and keeps one that sent a request alive past it`,
    async () => {
      const s = await start(textApp('hi'), { timeoutKeepAlive: HEADERS_TIMEOUT_S + 30 });
      const silent = new RawClient(s.port);
      const trickling = new RawClient(s.port);
      const served = new RawClient(s.port);
      await Promise.all([silent.ready, trickling.ready, served.ready]);
      const t0 = Date.now();
      served.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await served.response()).body.toString()).toBe('hi');
      // A field every 5 s: bytes keep coming, the head never ends.
      trickling.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
      let line = 0;
      const trickle = setInterval(() => trickling.write(`X-Trickle-${++line}: t\r\n`), 5000);
      try {
        const timedOut = await trickling.response();
        expect(timedOut.status).toBe(408);
        expect(timedOut.header('connection')?.toLowerCase()).toBe('close');
        const atTimeout = (Date.now() - t0) / 1000;
        expect(atTimeout).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S - 0.5);
        expect(atTimeout).toBeLessThan(HEADERS_TIMEOUT_S + 5);
        await trickling.waitClosed();
      } finally {
        clearInterval(trickle);
      }
      await silent.waitClosed();
      const after = (Date.now() - t0) / 1000;
      expect(after).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S - 0.5);
      expect(after).toBeLessThan(HEADERS_TIMEOUT_S + 5);
      await delay(500);
      expect(served.isClosed).toBe(false);
      served.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await served.response()).body.toString()).toBe('hi');
    },
    (HEADERS_TIMEOUT_S + 15) * 1000,
  );
});
