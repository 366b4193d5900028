import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Keepalive } from '@tsgi/core/server';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function hooks() {
  const log: string[] = [];
  return { log, ping: () => log.push('ping'), timedOut: () => log.push('timeout') };
}

describe('Keepalive (automatic pings)', () => {
  it('pings every interval while pongs come back', () => {
    const h = hooks();
    const k = new Keepalive(1000, 500, h);
    k.start();
    vi.advanceTimersByTime(999);
    expect(h.log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.log).toEqual(['ping']);
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(100);
      k.pong(); // answered well within the timeout
      vi.advanceTimersByTime(1000); // the next ping is an interval after the pong
    }
    expect(h.log).toEqual(Array(11).fill('ping'));
    k.stop();
  });

  it('declares the peer dead when no pong comes within the timeout', () => {
    const h = hooks();
    const k = new Keepalive(1000, 500, h);
    k.start();
    vi.advanceTimersByTime(1000);
    vi.advanceTimersByTime(499);
    expect(h.log).toEqual(['ping']);
    vi.advanceTimersByTime(1);
    expect(h.log).toEqual(['ping', 'timeout']);
    vi.advanceTimersByTime(10_000);
    expect(h.log).toEqual(['ping', 'timeout']);
  });

  it('an unsolicited pong changes nothing', () => {
    const h = hooks();
    const k = new Keepalive(1000, 500, h);
    k.start();
    k.pong();
    vi.advanceTimersByTime(1000);
    expect(h.log).toEqual(['ping']);
    k.stop();
  });

  it('a null timeout pings for ever without closing; a null interval never pings', () => {
    const h = hooks();
    const k = new Keepalive(1000, null, h);
    k.start();
    vi.advanceTimersByTime(3000);
    expect(h.log).toEqual(['ping', 'ping', 'ping']);
    k.stop();
    const h2 = hooks();
    new Keepalive(null, 500, h2).start();
    vi.advanceTimersByTime(10_000);
    expect(h2.log).toEqual([]);
  });

  it('stop() cancels a pending timeout', () => {
    const h = hooks();
    const k = new Keepalive(1000, 500, h);
    k.start();
    vi.advanceTimersByTime(1000);
    k.stop();
    vi.advanceTimersByTime(10_000);
    expect(h.log).toEqual(['ping']);
  });
});
