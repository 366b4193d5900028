import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncRunner, type SyncRunner } from '@tsgi/pool';
import { BEHAVIORS, captureLogger, generatedBody, recordingSink, scopeFor } from './helpers.js';

describe('sync runner on worker threads', () => {
  let runner: SyncRunner;
  const { logger, lines } = captureLogger();
  beforeAll(async () => {
    runner = createSyncRunner(BEHAVIORS, { threads: 2, logger, timeoutMs: 5000 });
    await runner.ready();
  });
  afterAll(() => runner.close());

  it('runs a hello-world app and reports the call', async () => {
    const { sink, rec } = recordingSink();
    const result = await runner.handle(scopeFor('/hello'), null, sink);
    expect(rec.status).toBe(200);
    expect(rec.text).toBe('Hello, world!');
    expect(rec.headers).toContainEqual(['Content-Length', '13']);
    expect(rec.calls.at(-1)).toBe('end');
    expect(result).toEqual({ status: 200, bytes: 13, outcome: 'complete' });
  });

  it('streams an upload into wsgi.input.read(65536) without buffering it', async () => {
    const { sink, rec } = recordingSink();
    const total = 5 * 1024 * 1024 + 3;
    await runner.handle(scopeFor('/upload', { method: 'POST', headers: [['content-length', String(total)]] }), generatedBody(total), sink);
    expect(rec.text.split(' ')[0]).toBe(String(total));
  });

  it('echoes a body back while still reading it, with a slow sink (credit flow control)', async () => {
    const { sink, rec } = recordingSink({ delayMs: 1 });
    const total = 2 * 1024 * 1024;
    await runner.handle(scopeFor('/echo', { method: 'POST' }), generatedBody(total, 16384), sink);
    expect(rec.body.byteLength).toBe(total);
    expect(rec.ended).toBe(true);
  });

  it('logs wsgi.errors output tagged with the request', async () => {
    const { sink } = recordingSink();
    await runner.handle(scopeFor('/errors'), null, sink, { tag: 'GET /errors #t1' });
    expect(lines).toContain('ERROR GET /errors #t1: first line');
    expect(lines).toContain('ERROR GET /errors #t1: second line');
  });

  it('answers 500 for an app exception without leaking it, and logs the stack', async () => {
    const { sink, rec } = recordingSink();
    const result = await runner.handle(scopeFor('/throw'), null, sink, { tag: 'T-throw' });
    expect(rec.status).toBe(500);
    expect(rec.text).not.toContain('secret');
    expect(result.outcome).toBe('error');
    expect(lines.some((l) => l.startsWith('ERROR T-throw: Error: app exception with a secret'))).toBe(true);
  });

  it('cuts the response and calls close() once when the iterable throws mid-stream', async () => {
    const { sink, rec } = recordingSink();
    const result = await runner.handle(scopeFor('/midstream-throw?tag=mid1'), null, sink, { tag: 'mid' });
    expect(rec.status).toBe(200);
    expect(rec.text).toBe('partial');
    expect(rec.aborted).toBeTruthy();
    expect(rec.ended).toBe(false);
    expect(result.outcome).toBe('aborted');
    expect(lines.filter((l) => l === 'ERROR mid: close mid1')).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('ERROR mid: Error: mid-stream failure'))).toBe(true);
  });

  it('calls close() once and stops the app when the client disconnects mid-stream', async () => {
    const { sink, rec } = recordingSink({ delayMs: 5 });
    const ac = new AbortController();
    const p = runner.handle(scopeFor('/stream?n=100000&size=1024&tag=dc1'), null, sink, { signal: ac.signal, tag: 'dc' });
    while (rec.chunkCount() < 3) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const result = await p;
    expect(result.outcome).toBe('disconnected');
    expect(lines.filter((l) => l === 'ERROR dc: close dc1')).toHaveLength(1);
    expect(rec.chunkCount()).toBeLessThan(2000);
  });
});

describe('sync runner: failing and stuck workers', () => {
  let runner: SyncRunner;
  const { logger, lines } = captureLogger();
  beforeAll(async () => {
    // Generous: a fresh thread's first request can be slow on a loaded 2-core machine.
    runner = createSyncRunner(BEHAVIORS, { threads: 1, logger, timeoutMs: 1000 });
    await runner.ready();
  });
  afterAll(() => runner.close());

  it('terminates and replaces a hung worker after the timeout: 504, then serves again', async () => {
    const { sink, rec } = recordingSink();
    const t0 = performance.now();
    const result = await runner.handle(scopeFor('/hang'), null, sink, { tag: 'hang' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(990);
    expect(rec.status).toBe(504);
    expect(result.outcome).toBe('error');
    expect(lines.some((l) => l.includes('hang: [wsgi.server.timeout.1]'))).toBe(true);
    const again = recordingSink();
    await runner.handle(scopeFor('/hello'), null, again.sink);
    expect(again.rec.text).toBe('Hello, world!');
  });

  it('counts a queued request\'s time from when a thread takes it, not from when it was queued', async () => {
    // One thread: the second request waits 700 ms for the first, then runs 600 ms; 1.3 s after it was
    // queued but well inside the 1 s timeout of its own run (cut at 1 s, with a 504, before the fix).
    const first = recordingSink();
    const second = recordingSink();
    await Promise.all([runner.handle(scopeFor('/sleep?ms=700'), null, first.sink), runner.handle(scopeFor('/sleep?ms=600'), null, second.sink)]);
    expect(first.rec.status).toBe(200);
    expect(second.rec.status).toBe(200);
  });

  it('cuts the response when the timeout hits after headers were sent', async () => {
    const { sink, rec } = recordingSink();
    const result = await runner.handle(scopeFor('/stream?n=3&size=10&gap=5000'), null, sink);
    expect(rec.status).toBe(200);
    expect(rec.aborted).toBeTruthy();
    expect(rec.ended).toBe(false);
    expect(result.outcome).toBe('aborted');
  });

  it('does not count time spent waiting for a slow client against the timeout', async () => {
    const { sink, rec } = recordingSink({ delayMs: 1300 });
    // Chunks as big as the credit window: after each one the worker waits 1.3 s for the client, past the 1 s timeout.
    const result = await runner.handle(scopeFor('/stream?n=3&size=262144'), null, sink);
    expect(result.outcome).toBe('complete');
    expect(rec.ended).toBe(true);
    expect(rec.body.byteLength).toBe(3 * 262144);
  });

  it('logs an uncaught exception in a worker thread, replaces the thread and keeps serving', async () => {
    const { sink } = recordingSink();
    await runner.handle(scopeFor('/crash'), null, sink, { tag: 'crash' });
    expect(lines.some((l) => l.includes('uncaught exception in worker thread') && l.includes('worker crash'))).toBe(true);
    const served = recordingSink();
    await runner.handle(scopeFor('/served'), null, served.sink);
    // The suspect thread was replaced right after the request it crashed in: the next one runs on a fresh thread.
    expect(served.rec.text).toBe('1');
    const next = recordingSink();
    await runner.handle(scopeFor('/hello'), null, next.sink);
    expect(next.rec.status).toBe(200);
  });

  it('refuses process.exit() in the app with a 500 and replaces the thread', async () => {
    const before = recordingSink();
    await runner.handle(scopeFor('/thread'), null, before.sink);
    const { sink, rec } = recordingSink();
    await runner.handle(scopeFor('/exit'), null, sink, { tag: 'exit' });
    expect(rec.status).toBe(500);
    expect(lines.some((l) => l.includes('exit: Error: [wsgi.server.error.4] the app called process.exit(3)'))).toBe(true);
    const served = recordingSink();
    await runner.handle(scopeFor('/served'), null, served.sink);
    // A fresh thread: its module-level counter starts again.
    expect(served.rec.text).toBe('1');
  });
});

describe('sync runner: queue limit and recycling', () => {
  it('answers 503 when every thread is busy and the queue is full', async () => {
    const runner = createSyncRunner(BEHAVIORS, { threads: 1, maxQueue: 1, logger: captureLogger().logger });
    await runner.ready();
    try {
      const sinks = [0, 1, 2, 3].map(() => recordingSink());
      await Promise.all(sinks.map((s) => runner.handle(scopeFor('/sleep?ms=150'), null, s.sink)));
      const statuses = sinks.map((s) => s.rec.status).sort();
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
      expect(statuses).toContain(503);
      const busy = sinks.find((s) => s.rec.status === 503)!;
      expect(busy.rec.headers).toContainEqual(['Retry-After', '1']);
    } finally {
      await runner.close();
    }
  });

  it('recycles a worker thread after maxRequestsPerWorker requests, with no request lost', async () => {
    const runner = createSyncRunner(BEHAVIORS, { threads: 1, maxRequestsPerWorker: 3, logger: captureLogger().logger });
    await runner.ready();
    try {
      const counts: string[] = [];
      for (let i = 0; i < 7; i++) {
        const { sink, rec } = recordingSink();
        await runner.handle(scopeFor('/served'), null, sink);
        expect(rec.ended).toBe(true);
        counts.push(rec.text);
      }
      expect(counts).toEqual(['1', '2', '3', '1', '2', '3', '1']);
    } finally {
      await runner.close();
    }
  });
});

describe('sync runner: how many threads are awake', () => {
  it('wakes another thread for a waiting request even while the main thread stays busy and the awake one is stuck', async () => {
    const runner = createSyncRunner(BEHAVIORS, { threads: 2, logger: captureLogger().logger });
    await runner.ready();
    try {
      // Both threads loaded: two requests at once, the second one woken by the stall check.
      await Promise.all([0, 1].map(() => runner.handle(scopeFor('/sleep?ms=50'), null, recordingSink().sink)));
      const stuck = runner.handle(scopeFor('/sleep?ms=1500'), null, recordingSink().sink);
      await new Promise((r) => setTimeout(r, 50));
      // The main thread busy 4 ms at a time (as when it streams a large response): never idle for half of a check.
      let busy = true;
      const spin = (): void => {
        const end = performance.now() + 4;
        while (performance.now() < end);
        if (busy) setImmediate(spin);
      };
      spin();
      const started = performance.now();
      const { sink, rec } = recordingSink();
      await runner.handle(scopeFor('/hello'), null, sink);
      const took = performance.now() - started;
      busy = false;
      expect(rec.text).toBe('Hello, world!');
      // Measured: 13-29 ms; without the forced wake, 435 ms (a sleeping thread looks at the queue every 500 ms anyway).
      expect(took).toBeLessThan(200);
      await stuck;
    } finally {
      await runner.close();
    }
  });
});

describe('sync runner: results while the main thread is busy', () => {
  it('a thread that runs far ahead fills its result ring, waits for room, and every response still arrives intact', async () => {
    const runner = createSyncRunner(BEHAVIORS, { threads: 1, logger: captureLogger().logger });
    await runner.ready();
    try {
      // 120 responses of 4000 bytes: about 480 KB of results against a 64 KiB ring.
      const recs = Array.from({ length: 120 }, () => recordingSink());
      const done = recs.map(({ sink }) => runner.handle(scopeFor('/length?declared=4000&actual=4000'), null, sink));
      // Runs after the runner woke its thread (that is queued first): keeps this thread busy while the worker fills its ring.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const end = performance.now() + 300;
          while (performance.now() < end);
          resolve();
        }),
      );
      const results = await Promise.all(done);
      for (const [i, { rec }] of recs.entries()) {
        expect(results[i]).toEqual({ status: 200, bytes: 4000, outcome: 'complete' });
        expect(rec.text).toBe('x'.repeat(4000));
      }
    } finally {
      await runner.close();
    }
  });

  it('delivers whole responses of every size around the result ring\'s limit, through the ring or the channel', async () => {
    const runner = createSyncRunner(BEHAVIORS, { threads: 2, logger: captureLogger().logger });
    await runner.ready();
    try {
      const sizes = [0, 1, 150, 16_000, 30_000, 33_000, 40_000, 50_000, 63_000, 65_500, 70_000];
      const runs = Array.from({ length: 4 }, () => sizes).flat();
      const recs = runs.map(() => recordingSink());
      const results = await Promise.all(runs.map((n, i) => runner.handle(scopeFor(`/length?declared=${n}&actual=${n}`), null, recs[i]!.sink)));
      for (const [i, n] of runs.entries()) {
        expect(results[i]).toEqual({ status: 200, bytes: n, outcome: 'complete' });
        expect(recs[i]!.rec.text).toBe('x'.repeat(n));
      }
    } finally {
      await runner.close();
    }
  });
});

describe('sync runner: inline mode (threads: 0)', () => {
  it('runs the app on the calling thread with the same semantics', async () => {
    const { logger, lines } = captureLogger();
    const runner = createSyncRunner(BEHAVIORS, { threads: 0, logger });
    await runner.ready();
    const hello = recordingSink();
    await runner.handle(scopeFor('/hello'), null, hello.sink);
    expect(hello.rec.text).toBe('Hello, world!');
    const upload = recordingSink();
    await runner.handle(scopeFor('/upload', { method: 'POST' }), generatedBody(200_000, 1000), upload.sink);
    expect(upload.rec.text.split(' ')[0]).toBe('200000');
    const boom = recordingSink();
    await runner.handle(scopeFor('/throw'), null, boom.sink, { tag: 'inl' });
    expect(boom.rec.status).toBe(500);
    expect(lines.some((l) => l.startsWith('ERROR inl: Error: app exception'))).toBe(true);
    await runner.close();
  });
});

describe('sync runner: request body errors', () => {
  it('answers the status a RequestBodyError carries (413) and the app sees a disconnect', async () => {
    const { RequestBodyError } = await import('@tsgi/pool');
    const runner = createSyncRunner(BEHAVIORS, { threads: 1, logger: captureLogger().logger });
    await runner.ready();
    try {
      async function* tooBig() {
        yield new Uint8Array(10);
        throw new RequestBodyError(413, 'Content Too Large', 'request body over 10 bytes');
      }
      const { sink, rec } = recordingSink();
      await runner.handle(scopeFor('/upload', { method: 'POST' }), tooBig(), sink);
      expect(rec.status).toBe(413);
      const again = recordingSink();
      await runner.handle(scopeFor('/hello'), null, again.sink);
      expect(again.rec.status).toBe(200);
    } finally {
      await runner.close();
    }
  });
});
