/**
 * End to end: the demo served by the `tsgi` CLI exactly as README's start
 * command does (built bin, .ts app), driven by headless Chromium (Debian's
 * chromium, scripts/system-deps.txt) through playwright-core. Two browser
 * contexts chat over the WebSocket; a note written through the page by the
 * sync view (SQLite on a worker thread) is read back by a fresh page load.
 * Needs the built dist (`tsc -b`, which `pnpm test` runs first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTools } from '../../scripts/system-tools.js';

const CHROMIUM = '/usr/bin/chromium';
const repoRoot = join(import.meta.dirname, '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'tsgi-demo-e2e-'));

let server: ChildProcess;
let serverLog = '';
let baseUrl: string;
let browser: Browser;

/** Starts `tsgi serve examples/demo/app.ts:app` on a free port and resolves with its URL once it serves. */
async function startDemo(): Promise<string> {
  const bin = join(repoRoot, 'packages', 'cli', 'bin', 'tsgi.js');
  server = spawn(process.execPath, [bin, 'serve', 'examples/demo/app.ts:app', '--host', '127.0.0.1', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, TSGI_DEMO_DATA_DIR: join(dataDir, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.setEncoding('utf8').on('data', (d: string) => (serverLog += d));
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (serverLog += d));
  const exited = once(server, 'exit');
  for (;;) {
    const m = /Serving .* on (http:\/\/\S+)/.exec(serverLog);
    if (m) return m[1]!;
    const ended = await Promise.race([once(server.stderr!, 'data').then(() => false), exited.then(() => true)]);
    if (ended) throw new Error(`the demo server exited before serving:\n${serverLog}`);
  }
}

const tools = needTools('examples/test/demo-e2e.test.ts', 'chromium');

beforeAll(async () => {
  if (tools.skip) return;
  [baseUrl, browser] = await Promise.all([
    startDemo(),
    // playwright-core gives each launch a fresh temporary --user-data-dir of its own.
    chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (server !== undefined && server.exitCode === null) {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

async function openPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(baseUrl + '/');
  return page;
}

async function joinChat(page: Page, name: string): Promise<void> {
  await page.fill('#chat-name', name);
  await page.click('#chat-join');
  await page.locator('#chat-status', { hasText: /^connected$/ }).waitFor();
}

describe.skipIf(tools.skip)(`the demo in headless Chromium${tools.note}`, () => {
  it('loads the page, chats between two browsers, and reads back a note written by the sync view', async () => {
    const [alice, bob] = await Promise.all([openPage(), openPage()]);
    expect(await alice.title()).toBe('tsgi demo');

    // Chat: two browser contexts, two WebSockets, one room.
    await joinChat(alice, 'alice');
    await joinChat(bob, 'bob');
    await alice.fill('#chat-input', 'hello bob');
    await alice.click('#chat-send');
    await bob.locator('#chat-log li', { hasText: 'alice: hello bob' }).waitFor();
    await bob.fill('#chat-input', 'hi alice');
    await bob.click('#chat-send');
    await alice.locator('#chat-log li', { hasText: 'bob: hi alice' }).waitFor();

    // Sync view: the form POSTs the note (SQLite insert on a worker thread); a fresh page in the other context lists it.
    const text = `note ${Date.now()}`;
    await alice.fill('#note-text', text);
    await alice.click('#note-add');
    await alice.locator('#notes li', { hasText: text }).waitFor();
    await bob.reload();
    await bob.locator('#notes li', { hasText: text }).waitFor();
    expect(await bob.textContent('#notes-thread')).toMatch(/listed by worker thread [1-9]/);

    // The async views: five 1 s waits finish together; the fetch view reaches the upstream.
    await alice.click('#slow-run');
    const slow = await alice.locator('#slow-out', { hasText: 'took' }).textContent();
    const total = Number(/took (\d+) ms/.exec(slow ?? '')?.[1]);
    expect(total).toBeGreaterThanOrEqual(1000);
    expect(total).toBeLessThan(4000); // one after the other would be 5000 ms
    await alice.click('#quote-run');
    expect(await alice.locator('#quote-out', { hasText: 'from http://127.0.0.1:' }).textContent()).toMatch(/^“.+”/);
  }, 60_000);

  it('shuts down cleanly on SIGTERM (lifespan shutdown stops the upstream and the worker threads)', async () => {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    const [code] = await exited;
    expect(code, serverLog).toBe(0);
    expect(serverLog).toContain('Application shutdown complete');
  }, 30_000);
});
