/**
 * The docs' `tsgi serve` commands, run for real: each is started as the page
 * writes it (only the port made free, and hosts kept on loopback) and asked
 * what the page says it answers. The deployment guide's claims about
 * graceful shutdown and `--workers` on this uWebSockets.js build are checked
 * here too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { startOnRuntime } from '../docs/support/runtime-process.js';
import { repoRoot, startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';
import { RUNTIME_HOSTS, runtimeHostArgs } from './docs-page-checks.js';

/** The argv after `tsgi` of each `tsgi serve` command of a page. */
function serveCommands(page: string): string[][] {
  const text = readFileSync(join(repoRoot, page), 'utf8');
  return fencedBlocks(text)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.code))
    .map(shellWords)
    .filter((w) => w.includes('tsgi') || w.some((x) => /\/tsgi$/.test(x)))
    .map((w) => w.slice(w.findIndex((x) => /(^|\/)tsgi$/.test(x)) + 1));
}

/** A page's command made safe to run here: a free port, loopback only. */
function runnable(args: string[]): string[] {
  // Fewer pool threads than a production setting: each one imports the app through tsx, slow on a busy machine.
  return [...args, '--host', '127.0.0.1', '--port', '0', ...(args.includes('--threads') ? ['--threads', '2'] : [])];
}

const running: TsgiProcess[] = [];
async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<TsgiProcess> {
  const p = await startTsgi(args, env);
  running.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

describe('docs/getting-started.md', () => {
  // What each app of the page answers; a new command on the page needs an entry here.
  const checks: Record<string, (url: string) => Promise<void>> = {
    'examples/docs/hello-async.ts:app': async (url) => {
      expect(await (await fetch(`${url}/?name=Ada`)).text()).toBe('Hello, Ada!\n');
      expect(await (await fetch(url, { method: 'POST', body: 'abcd' })).text()).toBe('4 bytes\n');
    },
    'examples/docs/hello-sync.ts:app': async (url) => {
      expect(await (await fetch(`${url}/upload`, { method: 'POST', body: 'abc' })).text()).toBe('POST /upload: 3 bytes\n');
    },
    'examples/docs/validated.ts:app': async (url) => {
      const res = await fetch(`${url}/?name=validator`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Hello, validator!\n');
    },
  };

  // The page's apps are saved in one's own project and named bare (`hello-async.ts:app`): here they are in examples/docs/.
  // examples/test/pack-install.test.ts runs the same commands in a project made by npm init.
  it.each(serveCommands('docs/getting-started.md'))('tsgi %s … serves what the page says', async (...args) => {
    const app = `examples/docs/${args[1]!}`;
    expect(checks[app], `no check for ${app}: add one to this test`).toBeDefined();
    const server = await serve(runnable(['serve', app, ...args.slice(2)]));
    await checks[app]!(server.url);
    expect(await server.stop()).toBe(0);
    expect(server.stderr()).not.toMatch(/Traceback|Exception|ERROR/);
  });
});

describe('docs/getting-started.md on Bun and Deno', () => {
  // The page's host commands name the installed package's script (node_modules/@tsgi/bridge/hosts/…) and an app saved
  // in one's own project: here the script is packages/bridge/hosts/ and the app is in examples/docs/; the port is made free.
  const commands = fencedBlocks(readFileSync(join(repoRoot, 'docs/getting-started.md'), 'utf8'))
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.code))
    .map(shellWords)
    .flatMap((w) => {
      const hosted = runtimeHostArgs(w);
      return hosted === null ? [] : [{ ...hosted, words: w }];
    });

  it('shows the app on both runtimes', () => {
    expect(commands.map((c) => c.runtime).sort()).toEqual(['bun', 'deno']);
  });

  it.each(commands)('$runtime serves $app as the page says', async ({ runtime, app, words }) => {
    expect(app).toBe('hello-async.ts:app');
    const host = RUNTIME_HOSTS[runtime]!;
    const script = join('packages/bridge', host.script.replace('node_modules/@tsgi/bridge/', ''));
    const served = await startOnRuntime([...words.slice(0, host.prefix.length), script, `examples/docs/${app}`, '0']);
    try {
      expect(await (await fetch(`${served.url}/?name=Ada`)).text()).toBe('Hello, Ada!\n');
      expect(await (await fetch(served.url, { method: 'POST', body: 'abcd' })).text()).toBe('4 bytes\n');
    } finally {
      expect(await served.stop(), served.output()).toBe(0);
    }
  }, 30_000);
});

describe('docs/from-python.md', () => {
  let upstream: Server;
  beforeAll(async () => {
    upstream = createServer((req, res) => res.setHeader('content-type', 'application/json').end('{"text":"hello"}'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('the uvicorn-style command serves the app: fetch upstream, root_path, blocking code off the event loop', async () => {
    const [command] = serveCommands('docs/from-python.md').filter((c) => c[1]!.endsWith('from-python/app.ts:app'));
    expect(command).toBeDefined();
    expect(command).toContain('--root-path');
    const env = { UPSTREAM_URL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` };
    const { url } = await serve(runnable(command!), env);
    // --root-path /api: the proxy strips /api, the app sees it in root_path.
    expect(await (await fetch(`${url}/quote`)).json()).toEqual({ upstreamStatus: 200, quote: { text: 'hello' } });
    expect(await (await fetch(`${url}/report/monthly?rounds=10`)).json()).toMatchObject({ SCRIPT_NAME: '/api/report', PATH_INFO: '/monthly' });

    // A slow key on a worker thread does not hold the event loop: /sleep (100 ms) finishes first.
    const order: string[] = [];
    const report = fetch(`${url}/report/slow?rounds=3000000`).then(async (r) => (await r.json(), order.push('report')));
    const sleep = fetch(`${url}/sleep`).then(async (r) => (await r.json(), order.push('sleep')));
    await Promise.all([report, sleep]);
    expect(order).toEqual(['sleep', 'report']);
  });

  it('the gunicorn-style command serves the sync app on threads', async () => {
    const [command] = serveCommands('docs/from-python.md').filter((c) => c[1]!.endsWith('from-python/report.ts:app'));
    expect(command).toBeDefined();
    const { url } = await serve(runnable(command!));
    expect(await (await fetch(`${url}/x?rounds=10`)).json()).toMatchObject({ SCRIPT_NAME: '', PATH_INFO: '/x' });
  });
});

describe('docs/deploying.md', () => {
  /** Starts /slow (query: `sized` or ''), sends SIGTERM once its first part arrived, and returns the rest of the body and the exit code. */
  async function drainDuringShutdown(query: string): Promise<{ rest: string; code: number | null }> {
    const server = await serve(['serve', 'examples/docs/proxied-async.ts:app', '--port', '0', '--timeout-graceful-shutdown', '10']);
    const res = await fetch(`${server.url}/slow?${query}`);
    const reader = res.body!.getReader();
    const first = await reader.read(); // the response is in flight
    expect(new TextDecoder().decode(first.value)).toBe('{"part":1}\n');
    server.child.kill('SIGTERM');
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    return { rest, code: await server.exited };
  }

  it('SIGTERM lets an in-flight response with Content-Length finish, then exits 0', async () => {
    expect(await drainDuringShutdown('sized')).toEqual({ rest: '{"part":2}\n', code: 0 });
  });

  // A chunked response still streaming when shutdown begins must end as a valid chunked body
  // (uWS's end(chunk, closeConnection=true) once wrote "Connection: close" into it).
  it('SIGTERM lets an in-flight chunked response finish, then exits 0', async () => {
    expect(await drainDuringShutdown('')).toEqual({ rest: '{"part":2}\n', code: 0 });
  });

  // The same without a shutdown: with keep-alive off every response ends the connection.
  it('a streamed chunked response arrives intact with --timeout-keep-alive 0', async () => {
    const { url } = await serve(['serve', 'examples/docs/proxied-async.ts:app', '--port', '0', '--timeout-keep-alive', '0']);
    expect(await (await fetch(`${url}/slow`)).text()).toBe('{"part":1}\n{"part":2}\n');
  });

  it('--workers 2 serves from two event loops on one port, as the guide says', async () => {
    const p = await serve(['serve', 'examples/docs/proxied-async.ts:app', '--port', '0', '--workers', '2']);
    expect(p.stderr()).toMatch(/tsgi \(uWebSockets\.js, 2 workers\) running on /);
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${p.url}/`, { headers: { connection: 'close' } }).then((r) => r.status)));
    expect(answers).toEqual(Array(20).fill(200));
  });
});
