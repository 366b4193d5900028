/**
 * Slowloris on every server: 300 connections (or $TSGI_SLOWLORIS_CONNECTIONS) trickle a request head, one
 * header line every 500 ms, never finishing it. Meanwhile normal clients
 * are served, and quickly (a generous bound: the machine is shared).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SERVER_KINDS, simpleGet, startRecorded, type RecordedServer } from '../src/index.js';

// 300 by default: client and server share this process, and CI's descriptor limit may be 1024.
// TSGI_SLOWLORIS_CONNECTIONS=1000 runs the figure where the limit allows.
const SLOW_CONNECTIONS = Number(process.env.TSGI_SLOWLORIS_CONNECTIONS ?? 300);

describe.each(SERVER_KINDS)('slowloris against %s', (kind) => {
  let server: RecordedServer;
  const slow: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    server = await startRecorded(kind, { threads: 2 });
  });
  afterAll(async () => {
    clearInterval(timer);
    for (const s of slow) s.destroy();
    await server?.close();
  });

  test(`${SLOW_CONNECTIONS} trickling heads do not keep normal clients waiting`, async () => {
    let closedByServer = 0;
    await Promise.all(
      Array.from({ length: SLOW_CONNECTIONS }, (_, i) => {
        const s = connect(server.port, '127.0.0.1');
        slow.push(s);
        s.on('error', () => {});
        s.on('close', () => closedByServer++);
        return new Promise<void>((resolve) => s.once('connect', () => (s.write(`GET /slowloris/${i} HTTP/1.1\r\nHost: localhost\r\n`), resolve())));
      }),
    );
    let line = 0;
    timer = setInterval(() => {
      line++;
      for (const s of slow) if (!s.destroyed) s.write(`X-Trickle-${line}: ${'t'.repeat(20)}\r\n`);
    }, 500);
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const r = await simpleGet(server.port, `/ok?during-slowloris=${i}`);
      latencies.push(performance.now() - t0);
      expect(r.status).toBe(200);
    }
    latencies.sort((a, b) => a - b);
    const median = latencies[latencies.length >> 1]!;
    const worst = latencies[latencies.length - 1]!;
    console.log(`${kind}: ${SLOW_CONNECTIONS} slowloris connections (${closedByServer} closed by the server meanwhile); normal requests median ${median.toFixed(1)} ms, worst ${worst.toFixed(1)} ms`);
    expect(median).toBeLessThan(500);
    // None of the trickled requests ever reached the app.
    expect(server.seen().filter((r) => r.path.startsWith('/slowloris/'))).toEqual([]);
  }, 60_000);
});
