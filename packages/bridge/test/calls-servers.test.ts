/**
 * asyncToSync through the bridge, and syncToAsync, under both event-loop
 * servers (@tsgi/uws and @tsgi/node), over real sockets: blocking work runs
 * in parallel on worker threads while the loop keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AsgiApplication, ServerHandle } from '@tsgi/core';
import { serve as serveNode } from '@tsgi/node';
import { serve as serveUws } from '@tsgi/uws';
import { configureSyncToAsync, mount, syncToAsync, wsgiToAsgi } from '../src/index.js';
import { captureLogger } from '../../pool/test/helpers.js';
import { callsProbe, THREADS_TEST_TIMEOUT, until } from './calls-helpers.js';
import { views } from './fixtures/calls-views.js';

const APP = { module: new URL('./fixtures/calls-app.ts', import.meta.url).href, exportName: 'app' };
const viewsProbe = () => (globalThis as { __tsgiViewsProbe?: Record<string, string> }).__tsgiViewsProbe ?? {};

// Before the first syncToAsync call: its runner starts with these threads.
configureSyncToAsync({ threads: 8, logger: captureLogger().logger });

async function getJson(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url)).json()) as Record<string, unknown>;
}


const servers = {
  uws: (app: AsgiApplication) => serveUws(app, { port: 0, logLevel: 'warning', accessLog: false }),
  node: (app: AsgiApplication) => serveNode(app, { port: 0, logLevel: 'warning', accessLog: false }),
};

describe.each(Object.entries(servers))('on @tsgi/%s', (name, serve) => {
  let server: ServerHandle;
  beforeAll(async () => {
    const { logger } = captureLogger();
    server = await serve(
      mount([
        ['/sync', wsgiToAsgi(APP, { threads: 8, logger })],
        ['/one', wsgiToAsgi(APP, { threads: 1, logger })],
        ['', views],
      ]),
    );
    await getJson(`${server.url}/sync/sleep?ms=0&tag=warm`);
    await getJson(`${server.url}/block?ms=0`);
  }, THREADS_TEST_TIMEOUT);
  afterAll(() => server.close());

  it('syncToAsync runs 8 blocking 300 ms calls in parallel on worker threads while the loop answers other requests at once', async () => {
    const started = performance.now();
    let blocksDone = 0;
    const blocks = Promise.all(
      Array.from({ length: 8 }, async () => {
        const answer = await getJson(`${server.url}/block?ms=300`);
        blocksDone++;
        return answer;
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const ping = await getJson(`${server.url}/ping`);
    // Answered while all eight still block their threads: the loop was free.
    expect(ping).toEqual({ pong: true });
    expect(blocksDone).toBe(0);
    const answers = await blocks;
    // One after another they would take 2400 ms; in parallel about 300 (the margin is for a loaded machine).
    expect(performance.now() - started).toBeLessThan(1600);
    // All on worker threads, none on the loop's (0); how many threads the wake policy used is its business.
    expect(answers.every((a) => (a['thread'] as number) > 0)).toBe(true);
  });

  it('asyncToSync through the bridge: 8 sync requests each awaiting a 300 ms sleep on the loop, in parallel, each its own answer', async () => {
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => getJson(`${server.url}/sync/sleep?ms=300&tag=${name}${i}`)));
    expect(performance.now() - started).toBeLessThan(1600);
    expect(answers.map((a) => a['tag'])).toEqual(Array.from({ length: 8 }, (_, i) => `${name}${i}`));
    for (const a of answers) expect(a).toMatchObject({ mainThread: true });
  });

  it('asyncToSync through the bridge: a rejection is thrown in the sync caller; a client that leaves frees the one thread', async () => {
    expect(await getJson(`${server.url}/sync/fail`)).toMatchObject({ thrown: true, name: 'RangeError', message: 'boom from the loop' });
    const leaving = new AbortController();
    const key = `left-${name}`;
    const hung = fetch(`${server.url}/one/hang?key=${key}`, { signal: leaving.signal }).catch((e: Error) => e.name);
    await until(() => callsProbe().started.includes(key));
    leaving.abort();
    expect(await hung).toBe('AbortError');
    await until(() => callsProbe().aborted.includes(key));
    expect(await getJson(`${server.url}/one/sleep?ms=0&tag=next`)).toMatchObject({ tag: 'next' });
  });

  it('syncToAsync: what the function throws rejects with its name, message and stack; a promise or a function argument is refused with why', async () => {
    const thrown = await getJson(`${server.url}/throws`);
    expect(thrown).toMatchObject({ name: 'TypeError', message: 'bad type' });
    expect(thrown['stack']).toMatch(/calls-sync\.ts/);
    expect((await getJson(`${server.url}/promise`))['message']).toMatch(/returned a promise; syncToAsync runs sync functions/);
    expect((await getJson(`${server.url}/function-arg`))['message']).toMatch(/cannot be structured-cloned to a worker thread/);
  });

  it('syncToAsync: arguments too big for the task queue (4 MiB) still cross whole', async () => {
    expect(await getJson(`${server.url}/big?bytes=${4 * 1024 * 1024}`)).toEqual({ sum: 3 * 4 * 1024 * 1024 });
  });

  it('syncToAsync under withSignal: the client leaving ends the function blocking wait with ClientDisconnected', async () => {
    const leaving = new AbortController();
    const key = `view-${name}`;
    const hung = fetch(`${server.url}/wait?key=${key}`, { signal: leaving.signal }).catch((e: Error) => e.name);
    await until(() => callsProbe().started.includes(key));
    leaving.abort();
    expect(await hung).toBe('AbortError');
    await until(() => viewsProbe()[key] !== undefined);
    expect(viewsProbe()[key]).toBe('ClientDisconnected');
    expect(callsProbe().aborted).toContain(key);
  });
});

describe('syncToAsync: a call past its timeout', () => {
  it('rejects saying so, its thread is replaced, and the next call runs', async () => {
    const SYNC = new URL('./fixtures/calls-sync.ts', import.meta.url);
    const blockFor = syncToAsync<typeof import('./fixtures/calls-sync.js').blockFor>(SYNC, 'blockFor', { timeout: 0.3 });
    const started = performance.now();
    await expect(blockFor(10_000)).rejects.toThrow(/syncToAsync\(calls-sync\.ts#blockFor\): ran for more than 300 ms \(the timeout\); its worker thread was terminated and replaced/);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await blockFor(1)).thread).toBeGreaterThan(0);
  }, THREADS_TEST_TIMEOUT);
});
