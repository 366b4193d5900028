import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '@tsgi/node';
import type { RunningServer } from '@tsgi/core/server';
import { recordingLogger } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/pid-app.ts', import.meta.url));
const handles: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.close()));
});

/** Process ids seen over `n` fresh connections. */
async function pidsSeen(url: string, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await (await fetch(url, { headers: { connection: 'close' } })).text());
  return seen;
}

describe('workers: N processes sharing the listening socket', () => {
  it('answers from N worker processes on one port, each running lifespan, and replaces a worker that dies', async () => {
    const lifespanLog = join(mkdtempSync(join(tmpdir(), 'tsgi-node-workers-')), 'lifespan.log');
    process.env.PID_APP_LIFESPAN_LOG = lifespanLog;
    const log = recordingLogger();
    const handle = await serve({ module: fixture }, { workers: 2, port: 0, logger: log, accessLog: false, lifespan: 'on' });
    handles.push(handle);
    expect(log.text().split('\n').some((l) => /info: tsgi \(node:http, 2 worker processes\) running on http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    const before = await pidsSeen(handle.url, 60);
    expect(before.size).toBe(2);
    expect(before.has(String(process.pid))).toBe(false);
    expect(readFileSync(lifespanLog, 'utf8').split('\n').filter((l) => l.startsWith('startup')).length).toBe(2);

    await fetch(`${handle.url}/die`, { headers: { connection: 'close' } }).catch(() => undefined);
    await expect.poll(() => log.errors().some((r) => /Worker process \d+ died \(exit code 3\); starting a replacement\./.test(r.message)), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(async () => {
        const seen = await pidsSeen(handle.url, 30);
        return seen.size === 2 && [...seen].some((p) => !before.has(p));
      }, { timeout: 20_000, interval: 200 })
      .toBe(true);

    // close(): every worker shuts down gracefully (lifespan shutdown runs in each), then the primary says it finished.
    const slow = fetch(`${handle.url}/slow`).then((r) => r.status);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await handles.pop()!.close();
    expect(await slow).toBe(200);
    expect(readFileSync(lifespanLog, 'utf8').split('\n').filter((l) => l.startsWith('shutdown')).length).toBe(2);
    expect(log.records.at(-1)?.message).toMatch(/^Finished server process \[\d+\]$/);
    delete process.env.PID_APP_LIFESPAN_LOG;
  }, 60_000);

  it('refuses a function app with workers, and reports an app that cannot be imported', async () => {
    await expect(serve(async () => {}, { workers: 2, logger: recordingLogger() })).rejects.toThrow(/workers > 1 needs the app as a module reference/);
    await expect(serve({ module: fixture, exportName: 'nope' }, { workers: 2, port: 0, logger: recordingLogger() })).rejects.toThrow(/no function export "nope"/);
  }, 30_000);
});
