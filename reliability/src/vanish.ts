/**
 * HTTP clients that vanish: each opens a connection, writes part of a
 * request (or a whole one and waits for the first response bytes), then
 * resets the connection. Used by vanishing-clients.test.ts and by the
 * longer RSS trend run (rss-trend.ts).
 */
import { connect } from 'node:net';

/** Opens a connection, writes `bytes`, waits for `until` (written, or the first response bytes), then resets it. */
export function vanish(port: number, bytes: string, until: 'written' | 'data'): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('connect', () => {
      s.write(bytes, 'latin1', () => {
        if (until === 'written') setImmediate(() => s.resetAndDestroy());
      });
    });
    if (until === 'data') s.once('data', () => s.resetAndDestroy());
  });
}

/** The three points a client vanishes at, against the recording apps of ./apps. */
export const HTTP_VANISH_SCENARIOS = {
  'mid-headers': (port: number) => vanish(port, 'GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Half: ', 'written'),
  'mid-upload': (port: number) => vanish(port, `POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n${'u'.repeat(100_000)}`, 'written'),
  'mid-download': (port: number) => vanish(port, 'GET /download HTTP/1.1\r\nHost: localhost\r\n\r\n', 'data'),
} as const;

/** A scenario's name. */
export type HttpVanishScenario = keyof typeof HTTP_VANISH_SCENARIOS;
