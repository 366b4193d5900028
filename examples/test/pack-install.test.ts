/**
 * tsgi as someone else's project gets it from npm (issue 18): every public
 * package is packed (scripts/release.mjs pack: pnpm pack, as pnpm publish would), the tarballs are
 * installed with npm into a fresh `npm init -y` project in the OS temp dir,
 * outside the workspace, and used there as the docs say: the `npx tsgi serve`
 * commands of docs/getting-started.md and of @tsgi/cli's README on their
 * sample apps (a .ts ASGI-TS app, a .ts WSGI-TS app on the pool), a Hono app;
 * each server's serve() from plain .mjs and .cjs files; apps of
 * every extension in a CommonJS and an ES module project; the types from a
 * .cts and a .mts file; and `npx tsgi-conformance` against one server.
 * Needs the npm registry for the packages' own dependencies (tsx, ws,
 * uWebSockets.js) and hono, typescript and @types/node.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { startOnRuntime } from '../docs/support/runtime-process.js';
import { repoRoot } from '../docs/support/tsgi-process.js';
import { PUBLISHED_DIRS as PUBLIC, runtimeHostArgs } from './docs-page-checks.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'tsgi-pack-install-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'my-app');

/**
 * The environment of a user's shell: none of the variables pnpm or vitest
 * set for this run (npm would read npm_config_* as its own settings), and no
 * folder of the workspace on PATH, so `npx tsgi` can only find the installed copy.
 */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|vitest|node_options$|tsx_)/i.test(k)),
);
env.PATH = (process.env.PATH ?? '').split(delimiter).filter((p) => !p.startsWith(repoRoot)).join(delimiter);

function sh(cmd: string, args: string[], cwd: string, timeout = 120_000): Promise<{ stdout: string; stderr: string }> {
  return run(cmd, args, { cwd, env, timeout, maxBuffer: 16 << 20 }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  });
}

function write(path: string, text: string): void {
  mkdirSync(join(project, path, '..'), { recursive: true });
  writeFileSync(join(project, path), text);
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

interface Served {
  url: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** `npx <args>` in the project (with `port` in PORT), once something answers HTTP on that port. */
async function npxListening(args: string[], port: number): Promise<Served> {
  const what = `npx ${args.join(' ')}`;
  // Its own process group, so SIGTERM reaches the server and not only npx.
  const child: ChildProcess = spawn('npx', args, { cwd: project, env: { ...env, PORT: String(port) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${log}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${what} did not answer within 30 s:\n${log}`);
    }
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => (await r.arrayBuffer(), true),
      () => false,
    );
    if (ok) return { url, log: () => log, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `npx tsgi serve <args>` in the project, on a free port, once it answers HTTP. */
async function npxServe(args: string[]): Promise<Served> {
  const port = await freePort();
  return npxListening(['tsgi', 'serve', ...args, '--port', String(port)], port);
}

/** The pages whose `npx tsgi serve` commands run here, on the samples they show, saved under their own names. */
const PAGES = ['docs/getting-started.md', 'packages/cli/README.md'];

function pageSamples(page: string): string[] {
  return fencedBlocks(readFileSync(join(repoRoot, page), 'utf8')).flatMap((b) => (b.file !== undefined && !b.file.includes('/test/') ? [b.file] : []));
}

/** The argv after `npx tsgi serve` of the page's commands, without their --port (a free one is given). */
function pageServeCommands(page: string): string[][] {
  return fencedBlocks(readFileSync(join(repoRoot, page), 'utf8'))
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.code))
    .map(shellWords)
    .filter((w) => w[0] === 'npx' && w[1] === 'tsgi' && w[2] === 'serve')
    .map((w) => w.slice(3).filter((word, i, all) => word !== '--port' && all[i - 1] !== '--port'));
}

/** What each sample app answers, as its page says. */
const ANSWERS: Record<string, Array<{ path: string; init?: RequestInit; body: string }>> = {
  'hello-async.ts:app': [{ path: '/?name=Ada', body: 'Hello, Ada!\n' }, { path: '/', init: { method: 'POST', body: 'abcd' }, body: '4 bytes\n' }],
  'hello-sync.ts:app': [{ path: '/upload', init: { method: 'POST', body: 'abc' }, body: 'POST /upload: 3 bytes\n' }],
  'validated.ts:app': [{ path: '/?name=validator', body: 'Hello, validator!\n' }],
  'async-app.ts:app': [{ path: '/?name=npm', body: 'Hello, npm!\n' }],
  'sync-app.ts:app': [{ path: '/x', init: { method: 'PUT', body: 'hello' }, body: 'PUT /x: 5 bytes\n' }],
};

/** Serves `args`, fetches `path` (with `init`), stops, and returns status and body. */
async function serveAndFetch(args: string[], path = '/', init?: RequestInit): Promise<{ status: number; body: string; log: string }> {
  const served = await npxServe(args);
  try {
    const res = await fetch(served.url + path, init);
    return { status: res.status, body: await res.text(), log: served.log() };
  } finally {
    await served.stop();
  }
}

// The apps, as a user writes them. Each answers with how Node ran it, `commonjs` or `module`.
const ASGI_TS = `import type { AsgiApplication } from '@tsgi/core';
import { latin1ToUtf8 } from '@tsgi/core';

const format = typeof require === 'function' ? 'commonjs' : 'module';

export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const name = latin1ToUtf8(new URLSearchParams(scope.query_string).get('name') ?? 'world');
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain; charset=utf-8']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(\`Hello, \${name}! (\${format})\`) });
};
`;
// The same app in plain JavaScript, as an ES module and as CommonJS.
const ASGI_ESM = ASGI_TS.replace("import type { AsgiApplication } from '@tsgi/core';\n", '').replace('export const app: AsgiApplication =', 'export const app =');
const ASGI_CJS = ASGI_ESM.replace("import { latin1ToUtf8 } from '@tsgi/core';", "const { latin1ToUtf8 } = require('@tsgi/core');").replace('export const app =', 'exports.app =');
const WSGI_TS = `import type { WsgiApplication } from '@tsgi/core';
import { isMainThread } from 'node:worker_threads';

export const app: WsgiApplication = (environ, startResponse) => {
  const body = environ['wsgi.input'].read(); // blocks this worker thread until the body is in
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [new TextEncoder().encode(\`\${environ.REQUEST_METHOD} \${environ.PATH_INFO}: \${body.length} bytes, on a worker thread: \${!isMainThread}\`)];
};
`;
const HONO_TS = `import { Hono } from 'hono';

export const app = new Hono().get('/hi/:name', (c) => c.text(\`Hono says hi to \${c.req.param('name')}\`));
`;
const SYNC_ESM = `export const app = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [new TextEncoder().encode('sync ' + environ.PATH_INFO)];
};
`;
const SYNC_CJS = SYNC_ESM.replace('export const app =', 'exports.app =');
const ASYNC_FN = `async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode('async ' + scope.path) });
}`;

/** A script that starts `server` with serve(), fetches /x from it, prints the answer and closes. */
function serveScript(server: 'uws' | 'node' | 'pool', format: 'mjs' | 'cjs'): string {
  const esm = format === 'mjs';
  const imports = esm ? `import { serve } from '@tsgi/${server}';\n` : `const { serve } = require('@tsgi/${server}');\n`;
  // The pool runs a sync app on its threads, each of which imports the module itself.
  const app = server === 'pool'
    ? esm
      ? `{ module: new URL('./sync-app.mjs', import.meta.url).href, exportName: 'app' }`
      : `{ module: require('node:url').pathToFileURL(require('node:path').join(__dirname, 'sync-app.cjs')).href, exportName: 'app' }`
    : ASYNC_FN;
  const body = `const server = await serve(${app}, { port: 0, accessLog: false${server === 'pool' ? ', threads: 2' : ''} });
const res = await fetch(server.url + '/x');
console.log(res.status, await res.text());
await server.close();`;
  return esm ? imports + body + '\n' : `${imports}(async () => {\n${body}\n})();\n`;
}

const EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'] as const;
/** How Node runs a file of each extension, per "type" of the nearest package.json. */
function expectedFormat(ext: (typeof EXTENSIONS)[number], type: 'commonjs' | 'module'): string {
  if (ext === 'mts' || ext === 'mjs') return 'module';
  if (ext === 'cts' || ext === 'cjs') return 'commonjs';
  return type;
}

beforeAll(async () => {
  mkdirSync(tarballs);
  mkdirSync(project);
  // As docs/getting-started.md says to try it from a clone: builds dist/ (a no-op when `pnpm test` just did) and packs.
  await sh(process.execPath, [join(repoRoot, 'scripts/release.mjs'), 'pack', tarballs], repoRoot, 300_000);
  await sh('npm', ['init', '-y'], project);
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...files, 'hono@4.13.19', 'typescript@5.9.3', '@types/node@20.19.43'], project, 240_000);

  for (const file of PAGES.flatMap(pageSamples)) copyFileSync(join(repoRoot, file), join(project, basename(file)));
  write('wsgi.ts', WSGI_TS);
  write('hono.ts', HONO_TS);
  write('sync-app.mjs', SYNC_ESM);
  write('sync-app.cjs', SYNC_CJS);
  for (const server of ['uws', 'node', 'pool'] as const) for (const format of ['mjs', 'cjs'] as const) write(`serve-${server}.${format}`, serveScript(server, format));
  // The same app in every extension, in the project (CommonJS, as npm init writes it) and in a folder whose package.json says "type": "module".
  write('module/package.json', '{ "type": "module" }\n');
  for (const [dir, type] of [['commonjs', 'commonjs'], ['module', 'module']] as const) {
    for (const ext of EXTENSIONS) {
      const source = ext.endsWith('ts') ? ASGI_TS : ext === 'cjs' || (ext === 'js' && type === 'commonjs') ? ASGI_CJS : ASGI_ESM;
      write(`${dir}/app.${ext}`, source);
    }
  }
}, 420_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packed, installed with npm into a new project, and used there', () => {
  it('ships each package with its README, LICENSE and dist, without build caches', async () => {
    for (const tarball of readdirSync(tarballs)) {
      const { stdout } = await sh('tar', ['tzf', join(tarballs, tarball)], tarballs);
      const entries = stdout.split('\n');
      expect(entries, tarball).toEqual(expect.arrayContaining(['package/README.md', 'package/LICENSE', 'package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts']));
      expect(entries.filter((e) => /tsbuildinfo|\/test\//.test(e)), tarball).toEqual([]);
    }
    expect(readdirSync(tarballs)).toHaveLength(PUBLIC.length);
  });

  it('installs manifests that name released versions and resolve no TypeScript source', () => {
    for (const dir of PUBLIC) {
      const name = (JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string }).name;
      const manifest = readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8');
      expect(manifest, name).not.toContain('workspace:');
      const { exports } = JSON.parse(manifest) as { exports: Record<string, unknown> };
      expect(JSON.stringify(exports), name).not.toMatch(/"source"|[^d]\.ts"/); // .d.ts files only
    }
  });

  it.each(PAGES)('runs the npx tsgi serve commands of %s on its samples, in the CommonJS project npm init made', async (page) => {
    const commands = pageServeCommands(page);
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const args of commands) {
      const answers = ANSWERS[args[0]!];
      expect(answers, `no answer known for ${args[0]}: add it to ANSWERS`).toBeDefined();
      const served = await npxServe(args);
      try {
        for (const a of answers!) {
          const res = await fetch(served.url + a.path, a.init);
          expect({ command: args.join(' '), status: res.status, body: await res.text() }, served.log()).toEqual({ command: args.join(' '), status: 200, body: a.body });
        }
      } finally {
        await served.stop();
      }
    }
  }, 90_000);

  it('runs the Bun and Deno host commands of docs/getting-started.md in the project, from the installed @tsgi/bridge', async () => {
    const commands = fencedBlocks(readFileSync(join(repoRoot, 'docs/getting-started.md'), 'utf8'))
      .filter((b) => b.lang === 'sh')
      .flatMap((b) => shellCommands(b.code))
      .map(shellWords)
      .filter((w) => runtimeHostArgs(w) !== null);
    expect(commands.map((w) => w[0]).sort()).toEqual(['bun', 'deno']);
    for (const words of commands) {
      // The page's command as written, on a free port (Deno refuses TypeScript under node_modules: the scripts are JS).
      const served = await startOnRuntime([...words.slice(0, -1), '0'], {}, project);
      try {
        const res = await fetch(`${served.url}/?name=Ada`);
        expect({ command: words.join(' '), status: res.status, body: await res.text() }, served.output()).toEqual({ command: words.join(' '), status: 200, body: 'Hello, Ada!\n' });
      } finally {
        expect(await served.stop(), served.output()).toBe(0);
      }
    }
  }, 60_000);

  it('npx tsgi serve: a .ts WSGI-TS app on the pool, blocking on its worker thread', async () => {
    const res = await serveAndFetch(['wsgi.ts:app', '--threads', '2'], '/upload', { method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('POST /upload: 5 bytes, on a worker thread: true');
  }, 60_000);

  it.each([
    ['packages/uws/README.md', 'examples/docs/readme/uws-hello.ts', '/', 'Hello, world!'],
    ['packages/pool/README.md', 'examples/docs/readme/pool-serve.ts', '/pool', 'GET /pool: 0 bytes\n'],
  ])('%s: its server sample, saved as server.mts as the page says, runs with npx tsx', async (page, sample, path, answer) => {
    expect(readFileSync(join(repoRoot, page), 'utf8')).toContain('npx tsx server.mts');
    copyFileSync(join(repoRoot, sample), join(project, 'server.mts'));
    const served = await npxListening(['tsx', 'server.mts'], await freePort());
    try {
      const res = await fetch(served.url + path);
      expect({ status: res.status, body: await res.text() }, served.log()).toEqual({ status: 200, body: answer });
    } finally {
      await served.stop();
    }
  }, 60_000);

  it('npx tsgi serve: a Hono app, with hono from the registry', async () => {
    const res = await serveAndFetch(['hono.ts:app'], '/hi/Ada');
    expect(res.status).toBe(200);
    expect(res.body).toBe('Hono says hi to Ada');
  }, 60_000);

  it('loads .ts, .mts, .cts, .js, .mjs and .cjs apps in a CommonJS and in an ES module project', async () => {
    const cases = (['commonjs', 'module'] as const).flatMap((type) => EXTENSIONS.map((ext) => ({ type, ext, file: `${type}/app.${ext}` })));
    const answers = await Promise.all(cases.map(async (c) => ({ ...c, ...(await serveAndFetch([`${c.file}:app`], '/?name=ext')) })));
    for (const a of answers) {
      expect({ file: a.file, status: a.status, body: a.body }, a.log).toEqual({ file: a.file, status: 200, body: `Hello, ext! (${expectedFormat(a.ext, a.type)})` });
    }
  }, 120_000);

  it('require() of every published package and entry point from a CommonJS file', async () => {
    // @tsgi/conformance/vitest is left out: it needs vitest, an optional peer this project does not have.
    const entries = [...PUBLIC.map((dir) => (JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string }).name), '@tsgi/core/server'];
    write('require-all.cjs', `for (const id of ${JSON.stringify(entries)}) console.log(id, Object.keys(require(id)).length > 0);\n`);
    const { stdout } = await sh(process.execPath, ['require-all.cjs'], project, 30_000);
    expect(stdout.trim().split('\n')).toEqual(entries.map((id) => `${id} true`));
  }, 40_000);

  it.each([
    ['uws', 'mjs'],
    ['uws', 'cjs'],
    ['node', 'mjs'],
    ['node', 'cjs'],
    ['pool', 'mjs'],
    ['pool', 'cjs'],
  ] as const)('serve() of @tsgi/%s from a plain .%s file', async (server, format) => {
    const { stdout } = await sh(process.execPath, [`serve-${server}.${format}`], project, 30_000);
    expect(stdout.trim()).toBe(server === 'pool' ? '200 sync /x' : '200 async /x');
  }, 40_000);

  it('type-checks a .cts and a .mts consumer against the published types', async () => {
    const consumer = `import { serve } from '@tsgi/node';
import { createSyncRunner } from '@tsgi/pool';
import { wsgiToAsgi } from '@tsgi/bridge';
import { main } from '@tsgi/cli';
import { runChecks } from '@tsgi/conformance';
import { AsgiTestClient, type AsgiApplication } from '@tsgi/core';
import { consoleLogger } from '@tsgi/core/server';
const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'http') await send({ type: 'http.response.start', status: 204, headers: [] });
};
export const uses = [serve(app, { port: 0 }), createSyncRunner, wsgiToAsgi, main, runChecks, new AsgiTestClient(app), consoleLogger];
// @ts-expect-error: a status must be a number
export const wrong: AsgiApplication = async (scope, receive, send) => send({ type: 'http.response.start', status: '200', headers: [] });
`;
    write('types/consumer.cts', consumer);
    write('types/consumer.mts', consumer);
    await sh('npx', ['tsc', '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'types/consumer.cts', 'types/consumer.mts'], project);
  }, 60_000);

  it("npx tsgi-conformance, as conformance-tests/README.md runs it in one's own project, passes its ASGI-TS HTTP and lifespan checks", async () => {
    const readme = readFileSync(join(repoRoot, 'conformance-tests/README.md'), 'utf8');
    const command = fencedBlocks(readme).flatMap((b) => shellCommands(b.code)).map(shellWords).find((w) => w[0] === 'npx' && w[1] === 'tsgi-conformance');
    expect(command).toBeDefined();
    // The HTTP and lifespan checks (65 of them, a few seconds); the full suite is run in the workspace by conformance-tests/test.
    const { stdout } = await sh('npx', [...command!.slice(1), '--only', 'asgi-'], project, 90_000);
    const summary = /^(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(50);
    expect(Number(summary![2])).toBe(0);
  }, 100_000);
});
