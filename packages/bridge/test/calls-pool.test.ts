/**
 * asyncToSync under @tsgi/pool: sync views on worker threads await async
 * functions that run on the server's event loop, over real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ServerHandle } from '@tsgi/core';
import { serve } from '@tsgi/pool';
import { asyncToSync } from '../src/index.js';
import { captureLogger } from '../../pool/test/helpers.js';
import { callsProbe, THREADS_TEST_TIMEOUT, until } from './calls-helpers.js';

const APP = { module: new URL('./fixtures/calls-app.ts', import.meta.url).href, exportName: 'app' };
const ASYNC = new URL('./fixtures/calls-async.ts', import.meta.url);

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}


describe('asyncToSync on the pool, 8 threads', () => {
  let server: ServerHandle;
  const { logger } = captureLogger();
  beforeAll(async () => {
    server = await serve(APP, { threads: 8, port: 0, logger, accessLog: false });
    // Every thread imported the app; the first async call imports the async module on the loop.
    await getJson(`${server.url}/sleep?ms=0&tag=warm`);
  }, THREADS_TEST_TIMEOUT);
  afterAll(() => server.close());

  it('serves 8 requests each awaiting a 300 ms async sleep in parallel, each with its own answer, the sleeps on the event loop', async () => {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => getJson(`${server.url}/sleep?ms=300&tag=r${i}`)));
    const took = performance.now() - started;
    expect(answers.map((a) => a.body['tag'])).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
    // The async function ran on the server's loop (this thread), the views on worker threads.
    for (const a of answers) expect(a.body).toMatchObject({ mainThread: true, thread: 0 });
    expect(answers.every((a) => (a.body['worker'] as number) > 0)).toBe(true);
    // One after another they would take 2400 ms; in parallel about 300 (the margin is for a loaded machine).
    expect(took).toBeLessThan(1600);
  });

  it('runs a call made at the app module import (module scope) on the server loop too', async () => {
    expect((await getJson(`${server.url}/import`)).body).toMatchObject({ tag: 'import', mainThread: true });
  });

  it('throws a rejection in the sync caller with its name, message and the stack where it was thrown', async () => {
    const { body } = await getJson(`${server.url}/fail`);
    expect(body).toMatchObject({ thrown: true, name: 'RangeError', message: 'boom from the loop' });
    expect(body['stack']).toMatch(/calls-async\.ts/);
    expect(body['stack']).toMatch(/through asyncToSync\(calls-async\.ts#fail\)/);
  });

  it('ends the wait at the timeout option with an error that says so, and aborts the async function', async () => {
    const { body } = await getJson(`${server.url}/brief?key=brief`);
    expect(body['name']).toBe('AsyncToSyncTimeout');
    expect(body['message']).toMatch(/asyncToSync\(calls-async\.ts#waitForAbort\): no answer within 200 ms \(its timeout option\)/);
    await until(() => callsProbe().aborted.includes('brief'));
  });

  it('says which value could not cross back to the sync caller, and which argument could not cross to the loop', async () => {
    const { body } = await getJson(`${server.url}/unclonable`);
    expect(body['name']).toBe('TypeError');
    expect(body['message']).toMatch(/cannot be structured-cloned to the calling thread/);
    const argument = (await getJson(`${server.url}/function-arg`)).body;
    expect(argument['name']).toBe('TypeError');
    expect(argument['message']).toMatch(/^asyncToSync\(calls-async\.ts#sleepFor\): an argument cannot be structured-cloned to the thread that runs the function/);
  });

  it('refuses at once on the event loop own thread, saying it would deadlock', () => {
    const sleepFor = asyncToSync(ASYNC, 'sleepFor');
    expect(() => sleepFor(10, 'here')).toThrow(/called on the event loop's own thread.*would deadlock/);
  });

  it('refuses a relative module path, which each thread would resolve differently', () => {
    expect(() => asyncToSync('./fixtures/calls-async.ts', 'sleepFor')).toThrow(/module must be a URL or an absolute path.*got "\.\/fixtures\/calls-async\.ts"/);
  });
});

describe('asyncToSync on the pool: a client that leaves frees its thread', () => {
  it('ends the worker wait with ClientDisconnected and aborts the async function; the one thread serves the next request', async () => {
    const server = await serve(APP, { threads: 1, port: 0, logger: captureLogger().logger, accessLog: false });
    try {
      const leaving = new AbortController();
      const hung = fetch(`${server.url}/hang?key=left`, { signal: leaving.signal }).catch((e: Error) => e.name);
      await until(() => callsProbe().started.includes('left'));
      leaving.abort();
      expect(await hung).toBe('AbortError');
      await until(() => callsProbe().aborted.includes('left'));
      // The only thread is free again: this is answered at once, not after the 30 s request timeout.
      const started = performance.now();
      expect((await getJson(`${server.url}/sleep?ms=0&tag=next`)).body['tag']).toBe('next');
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      await server.close();
    }
  }, THREADS_TEST_TIMEOUT);

  it('a request that times out while waiting gets 504, its thread is replaced, and its async call is aborted (nothing left running)', async () => {
    const server = await serve(APP, { threads: 1, port: 0, timeout: 1, logger: captureLogger().logger, accessLog: false });
    try {
      expect((await fetch(`${server.url}/hang?key=replaced`)).status).toBe(504);
      await until(() => callsProbe().aborted.includes('replaced'));
      expect((await getJson(`${server.url}/sleep?ms=0&tag=after`)).body['tag']).toBe('after');
    } finally {
      await server.close();
    }
  }, THREADS_TEST_TIMEOUT);
});

describe('asyncToSync where there is no server loop', () => {
  it('runs on a helper thread in a plain script, ends a wait at its timeout, and lets the script exit', async () => {
    const script = fileURLToPath(new URL('./fixtures/calls-script.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Exiting on its own is part of the point: the idle helper thread must not keep the process alive.
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const [first, second] = out.trim().split('\n');
    expect(JSON.parse(first!)).toMatchObject({ tag: 'script', mainThread: false });
    expect(second).toBe('AsyncToSyncTimeout');
  }, THREADS_TEST_TIMEOUT);

  it('runs the async function on a helper thread under the inline runner (threads: 0)', async () => {
    const server = await serve(APP, { threads: 0, port: 0, logger: captureLogger().logger, accessLog: false });
    try {
      const { body } = await getJson(`${server.url}/sleep?ms=20&tag=inline`);
      expect(body).toMatchObject({ tag: 'inline', mainThread: false, worker: 0 });
    } finally {
      await server.close();
    }
  }, THREADS_TEST_TIMEOUT);
});
