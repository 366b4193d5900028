import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '@tsgi/pool';
import type { ServerHandle } from '@tsgi/core';
import { captureLogger } from './helpers.js';

const app = { module: fileURLToPath(new URL('./apps/behaviors.ts', import.meta.url)) };
const handles: ServerHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

/** Process ids that answered over `n` fresh connections. */
async function pidsSeen(url: string, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await (await fetch(`${url}/pid`, { headers: { connection: 'close' } })).text());
  return seen;
}

describe('workers: N processes, each with its own threads (gunicorn workers x threads)', () => {
  it('answers from N processes on one port, replaces one that is killed, and closes them all gracefully', async () => {
    const { logger, lines } = captureLogger();
    const handle = await serve(app, { workers: 2, threads: 2, port: 0, logger, accessLog: false });
    handles.push(handle);
    expect(lines).toContainEqual(expect.stringMatching(/^INFO tsgi \(pool, 2 worker processes\) running on http:\/\/127\.0\.0\.1:\d+/));
    const before = await pidsSeen(handle.url, 60);
    expect(before.size).toBe(2);
    expect(before.has(String(process.pid))).toBe(false);

    process.kill(Number([...before][0]), 'SIGKILL');
    await expect.poll(() => lines.some((l) => /^ERROR Worker process \d+ died \(SIGKILL\); starting a replacement\.$/.test(l)), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(async () => {
        const seen = await pidsSeen(handle.url, 30);
        return seen.size === 2 && [...seen].some((p) => !before.has(p));
      }, { timeout: 30_000, interval: 200 })
      .toBe(true);

    // A request in flight when close() begins still gets its answer.
    const slow = fetch(`${handle.url}/sleep?ms=300`).then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await handles.pop()!.close();
    expect(await slow).toBe(200);
    expect(lines.at(-1)).toMatch(/^INFO Finished server process \[\d+\]$/);
  }, 90_000);

  it('refuses a workers value that is not an integer from 1 to 256, naming it', async () => {
    await expect(serve(app, { workers: 0 })).rejects.toThrow(/option 'workers' must be an integer from 1 to 256; got number 0/);
  });
});
