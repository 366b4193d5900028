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
