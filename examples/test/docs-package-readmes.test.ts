/**
 * The package READMEs cannot drift from the code (issue #7): every TS block
 * of packages/{core,uws,pool,bridge,cli}/README.md is a verbatim copy of a sample under
 * examples/docs/readme/, which this file runs (port 0 through PORT, one
 * request, the answer checked, closed); the sh blocks of conformance-tests/
 * and bench/README.md are checked against the tsgi-conformance command and
 * the bench harness's scenario list.
 */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { conformanceApp, fillTemplate, main, pythonAppDir } from '@tsgi/conformance';
import type { ServerHandle } from '@tsgi/core';
import { serve } from '@tsgi/uws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scenarios } from '../../bench/src/scenarios.js';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { startOnRuntime } from '../docs/support/runtime-process.js';
import { repoRoot } from '../docs/support/tsgi-process.js';
import { checkCommand, pageProblems, readPage } from './docs-page-checks.js';

// The samples listen on Number(process.env.PORT ?? 8000): 0 here picks a free port.
process.env.PORT = '0';

const SAMPLE_PAGES = ['packages/core/README.md', 'packages/uws/README.md', 'packages/pool/README.md', 'packages/bridge/README.md', 'packages/cli/README.md'];

describe.each(SAMPLE_PAGES)('%s', (page) => {
  it('shows only samples that are verbatim copies of files under examples/docs/readme/, links and paths that exist', () => {
    expect(pageProblems(page)).toEqual([]);
    const ts = fencedBlocks(readPage(page)).filter((b) => b.lang === 'ts');
    expect(ts.length).toBeGreaterThan(0);
    for (const block of ts) expect(block.file, `${page}:${block.line}`).toMatch(/^examples\/docs\/readme\/[\w-]+\.ts$/);
  });
});

describe('the samples run', () => {
  // The samples that start a server themselves: import, one request, the exact answer, close.
  const served: Array<{ title: string; load: () => Promise<{ server: ServerHandle }>; path: string; init?: RequestInit; answer: string }> = [
    { title: 'uws-hello: serve() answers Hello, world!', load: () => import('../docs/readme/uws-hello.js'), path: '', answer: 'Hello, world!' },
    {
      title: 'pool-serve: the pool runs the sync app on its worker threads',
      load: () => import('../docs/readme/pool-serve.js'),
      path: '/pool?x=1',
      init: { method: 'POST', body: 'abc' },
      answer: 'POST /pool: 3 bytes\n',
    },
    { title: 'bridge-wsgi: wsgiToAsgi serves the WSGI-TS app on @tsgi/uws', load: () => import('../docs/readme/bridge-wsgi.js'), path: '/x', answer: 'GET /x: 0 bytes\n' },
    { title: 'bridge-hono: fromFetchHandler serves the Hono app on @tsgi/uws', load: () => import('../docs/readme/bridge-hono.js'), path: '', answer: 'hi' },
  ];
  for (const sample of served) {
    it(sample.title, async () => {
      const { server } = await sample.load();
      try {
        const res = await fetch(`${server.url}${sample.path}`, sample.init);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(sample.answer);
      } finally {
        await server.close();
      }
    }, 20_000);
  }

  it('bridge-calls: syncToAsync runs the blocking function on a worker thread; asyncToSync refuses the loop thread', async () => {
    const { digestAsync, fetchJsonSync } = await import('../docs/readme/bridge-calls.js');
    const { closeSyncToAsync } = await import('@tsgi/bridge');
    try {
      expect(await digestAsync('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      // Called on the event loop's own thread, it would deadlock: it throws at once instead.
      expect(() => fetchJsonSync('http://127.0.0.1:9/')).toThrow(/event loop/);
    } finally {
      await closeSyncToAsync();
    }
  }, 30_000);

  it('core-testing: the test clients call both apps in process', async () => {
    const { check } = await import('../docs/readme/core-testing.js');
    expect(await check()).toEqual(['200 GET /hello', '200 POST /upload: 5 bytes']);
  });

  it('pool-runner: createSyncRunner streams the body in and the response to the sink', async () => {
    const { runOnce } = await import('../docs/readme/pool-runner.js');
    expect(await runOnce()).toBe('200 OK\nPOST /echo: 5 bytes\n');
  }, 20_000);

  it('bridge-fetch: toFetchHandler serves the ASGI-TS app on @hono/node-server', async () => {
    const { server, handler } = await import('../docs/readme/bridge-fetch.js');
    try {
      if (!server.listening) await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/?name=fetch`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('Hello, fetch!\n');
    } finally {
      server.close();
      await handler.shutdown();
    }
  }, 20_000);

  // The Bun and Deno samples run on their runtimes (the pinned npm packages), as the README says to run them.
  it.each([
    ['bridge-bun', ['bun', 'run', 'bridge-bun.ts']],
    ['bridge-deno', ['deno', 'run', '-A', '--sloppy-imports', 'bridge-deno.ts']],
  ])('%s: serve() answers on the runtime and closes on SIGTERM', async (_name, command) => {
    const host = await startOnRuntime(command, { PORT: '0' }, join(repoRoot, 'examples/docs/readme'));
    try {
      const res = await fetch(`${host.url}/?name=runtime`);
      expect([res.status, await res.text()]).toEqual([200, 'Hello, runtime!\n']);
    } finally {
      expect(await host.stop(), host.output()).toBe(0);
    }
  }, 30_000);

  describe('bridge-mount: mount() sends each prefix to its app', () => {
    let server: ServerHandle | undefined;
    beforeAll(async () => {
      const { app } = await import('../docs/readme/bridge-mount.js');
      server = await serve(app, { port: 0, accessLog: false });
    }, 20_000);
    afterAll(async () => {
      await server?.close();
    });

    it.each([
      ['/legacy/x', 'GET /x: 0 bytes\n'], // PATH_INFO without the prefix
      ['/api/hello', 'hi from Hono'],
      ['/?name=mount', 'Hello, mount!\n'],
    ])('GET %s', async (path, answer) => {
      const res = await fetch(`${server!.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(answer);
    }, 20_000);
  });
});

/** The commands of a page's sh blocks, as words. */
function commandsOf(page: string): string[][] {
  return fencedBlocks(readPage(page))
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.code))
    .map(shellWords);
}

describe('conformance-tests/README.md', () => {
  const PAGE = 'conformance-tests/README.md';
  const commands = commandsOf(PAGE);
  // In a clone (pnpm exec) and in one's own project (npx, after npm install: pack-install.test.ts runs that one).
  const inClone = commands.filter((w) => w.join(' ').startsWith('npx -y pnpm@10 exec tsgi-conformance'));
  const inProject = commands.filter((w) => w[0] === 'npx' && w[1] === 'tsgi-conformance');
  const runs = inClone.map((w) => w.slice(5));

  it('has only sh blocks of checked commands, links and paths that exist', () => {
    const ours = (p: string) => /(a command no test checks|unknown pnpm command): (npx tsc -b|npx (-y pnpm@10 exec )?tsgi-conformance .*)$/.test(p);
    expect(pageProblems(PAGE).filter((p) => !ours(p))).toEqual([]);
    expect(commands.filter((w) => !w.includes('tsgi-conformance')).map((w) => w.join(' '))).toEqual(['npm install @tsgi/conformance @tsgi/cli', 'npx tsc -b']);
    expect(inClone.length + inProject.length).toBe(commands.length - 2);
    expect(inProject.map((w) => w.join(' '))).toEqual(['npx tsgi-conformance --interface asgi --server-cmd npx tsgi serve {app} --server node --port {port}']);
  });

  it('`npx tsc -b` builds the dist/ the command runs', () => {
    const references = (JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] }).references;
    expect(references.map((r) => r.path)).toContain('conformance-tests');
    expect(readFileSync(join(repoRoot, 'conformance-tests/bin/tsgi-conformance.js'), 'utf8')).toContain("from '../dist/cli.js'");
  });

  it('runs `tsgi-conformance coverage` as written', async () => {
    const coverage = runs.filter((a) => a[0] === 'coverage');
    expect(coverage.length).toBe(1);
    const out: string[] = [];
    expect(await main(coverage[0]!, (l) => out.push(l))).toBe(0);
    expect(out.length).toBeGreaterThan(0);
  });

  it('gives both interfaces a server command whose placeholders the suite fills and whose server command exists', () => {
    const serverRuns = runs.filter((a) => a.includes('--server-cmd'));
    expect(serverRuns.map((a) => a[a.indexOf('--interface') + 1]).sort()).toEqual(['asgi', 'wsgi']);
    for (const args of serverRuns) {
      expect(args.length, args.join(' ')).toBe(4); // --interface X --server-cmd "…", nothing else
      const iface = args[args.indexOf('--interface') + 1] as 'asgi' | 'wsgi';
      const app = conformanceApp(iface);
      // {app} relative to the repository, as checkCommand resolves app files (the suite fills in the absolute path).
      const filled = fillTemplate(args[args.indexOf('--server-cmd') + 1]!, {
        app: `${relative(repoRoot, app.path)}:${app.exportName}`, app_path: app.path, app_export: app.exportName, port: '8000', host: '127.0.0.1', python_dir: pythonAppDir(),
      });
      expect(filled, 'an unknown placeholder').not.toMatch(/\{\w+\}/);
      if (filled.startsWith('tsgi ')) expect(checkCommand(filled)).toBeNull(); // tsgi serve's own parser, the app file exists
      else {
        const module = /\b(\w+):app$/.exec(filled)?.[1];
        expect(existsSync(join(pythonAppDir(), `${module}.py`)), filled).toBe(true);
      }
    }
  });
});

describe('bench/README.md', () => {
  const PAGE = 'bench/README.md';

  it('runs pnpm bench with no scenario or with scenarios the harness has', () => {
    expect(pageProblems(PAGE).filter((p) => !/unknown pnpm command: npx -y pnpm@10 bench/.test(p))).toEqual([]);
    const commands = commandsOf(PAGE);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.bench;
    expect(script).toContain('node bench/dist/src/main.js');
    const ids = scenarios().map((s) => s.id);
    for (const words of commands) {
      expect(words.slice(0, 4), words.join(' ')).toEqual(['npx', '-y', 'pnpm@10', 'bench']);
      for (const arg of words.slice(4)) expect(ids, words.join(' ')).toContain(arg);
    }
  });
});
