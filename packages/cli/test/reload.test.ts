import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReloadFilter, globRegExp } from '../src/reload.js';
import { RELOAD_EXCLUDES, RELOAD_INCLUDES, parseServeArgs } from '../src/options.js';
import { cliRoot, killedAfterEach, startCli, waitForUrl, type CliRun } from './helpers/spawn-cli.js';

const running = killedAfterEach();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-reload-'));
  dirs.push(dir);
  return dir;
}

/** An ASGI-TS app answering `text`. */
const asgiApp = (text: string) => `export const app = async (scope: any, _receive: any, send: any) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(${JSON.stringify(text)}) });
};
`;

/** A WSGI-TS app answering `text`. */
const wsgiApp = (text: string) => `export const app = (_environ: unknown, startResponse: (s: string, h: [string, string][]) => void) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [new TextEncoder().encode(${JSON.stringify(text)})];
};
`;

/** Polls `url` until it answers `text`, for up to `ms`; the last answer (or error) otherwise. */
async function answers(url: string, text: string, ms = 10_000): Promise<string> {
  const until = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      last = await (await fetch(url)).text();
      if (last === text) return last;
    } catch (e) {
      last = `fetch failed: ${(e as Error).message}`;
    }
    if (Date.now() > until) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until `pattern` has matched stderr `count` times. */
async function logged(run: CliRun, pattern: RegExp, count = 1, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  const g = new RegExp(pattern.source, 'g');
  while ((run.stderr().match(g) ?? []).length < count) {
    if (Date.now() > until) throw new Error(`no ${count}x ${pattern} in:\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function reload(dir: string, args: string[]): CliRun {
  const run = startCli(['serve', '--reload', '--port', '0', ...args], { cwd: dir });
  running.push(run);
  return run;
}

describe('tsgi serve --reload', () => {
  it('serves the edited app within seconds, logs a syntax error and keeps watching, serves the fixed app', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.ts');
    writeFileSync(file, asgiApp('one'));
    const run = reload(dir, ['app.ts']);
    const url = await waitForUrl(run);
    expect(run.stderr()).toMatch(new RegExp(`Will watch for changes in these directories: \\['${dir}'\\]`));
    expect(run.stderr()).toMatch(/Started reloader process \[\d+\] using fs\.watch/);
    expect(await answers(url, 'one')).toBe('one');

    const edited = Date.now();
    writeFileSync(file, asgiApp('two'));
    // Within a few seconds: the debounce, a graceful stop and a fresh process importing the app
    // (about a second here; the bound leaves room for a loaded CI machine).
    expect(await answers(url, 'two', 8000)).toBe('two');
    expect(Date.now() - edited).toBeLessThan(8000);
    expect(run.stderr()).toMatch(/WARNING: {2}fs\.watch detected changes in 'app\.ts'\. Reloading\.\.\./);

    // A syntax error: the server process fails to import the app and says where; the supervisor stays.
    writeFileSync(file, `${asgiApp('three')}\nexport const broken = (;\n`);
    await logged(run, /exited with code 1; waiting for a change to restart it/);
    expect(run.stderr()).toMatch(/tsgi: error: error while importing .*app\.ts: TransformError/);
    expect(run.stderr()).toMatch(/app\.ts:\d+:\d+: ERROR/);
    expect(run.child.exitCode).toBeNull();
    expect(await answers(url, 'x', 0)).toMatch(/^fetch failed/);

    writeFileSync(file, asgiApp('four'));
    expect(await answers(url, 'four')).toBe('four');
    // The port stayed the one the first server process was given (--port 0 is resolved once).
    expect(await waitForUrl(run)).toBe(url);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toMatch(/Finished server process \[\d+\]\n(?:.*\n)*INFO: {5}Stopping reloader process \[\d+\]/);

    // The supervisor's lines docs/cli.md shows are the ones printed, in that order (numbers and quoted paths differ).
    const sample = readFileSync(join(cliRoot, '..', '..', 'examples', 'docs', 'cli-reload-log.txt'), 'utf8').trimEnd().split('\n');
    const printed = run.stderr().split('\n');
    let at = 0;
    for (const line of sample) {
      const re = new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'[^']*'/g, "'[^']+'").replace(/\d+/g, '\\d+')}$`);
      const found = printed.findIndex((l, i) => i >= at && re.test(l));
      expect(found, `docs sample line ${JSON.stringify(line)}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  }, 60_000);

  it('--server pool: the worker threads run the new code (the whole server process restarts)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'app.ts'), wsgiApp('sync one'));
    const run = reload(dir, ['--threads', '2', 'app.ts']);
    const url = await waitForUrl(run);
    expect(run.stderr()).toMatch(/with pool on/);
    expect(await answers(url, 'sync one')).toBe('sync one');
    writeFileSync(join(dir, 'app.ts'), wsgiApp('sync two'));
    expect(await answers(url, 'sync two')).toBe('sync two');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    // SIGINT to the supervisor is a graceful stop of the server process, not a forced one.
    expect(run.stderr()).not.toMatch(/forced exit/);
    expect(run.stderr()).toMatch(/Application shutdown complete\.\n(?:.*\n)*INFO: {5}Finished server process/);
  }, 60_000);

  it('--reload-delay: restarts once, that long after the last of several changes', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.ts');
    writeFileSync(file, asgiApp('one'));
    const run = reload(dir, ['--reload-delay', '2', 'app.ts']);
    const url = await waitForUrl(run);
    writeFileSync(file, asgiApp('two'));
    await new Promise((r) => setTimeout(r, 1000));
    writeFileSync(file, asgiApp('three'));
    const lastChange = Date.now();
    await new Promise((r) => setTimeout(r, 1200));
    // 2.2 s after the first change, 1.2 s after the last: still waiting for 2 s of quiet.
    expect(run.stderr()).not.toMatch(/Reloading/);
    await logged(run, /Reloading/);
    expect(Date.now() - lastChange).toBeGreaterThanOrEqual(2000);
    expect(await answers(url, 'three')).toBe('three');
    expect(run.stderr().match(/Reloading/g)).toHaveLength(1);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 30_000);

  it('--server node, with --reload-dir and --reload-include: a change outside the patterns does not restart', async () => {
    const dir = tempDir();
    const src = join(dir, 'src');
    mkdirSync(src);
    mkdirSync(join(src, 'node_modules'));
    writeFileSync(join(src, 'app.ts'), asgiApp('node one'));
    writeFileSync(join(src, 'data.txt'), 'a');
    const run = reload(dir, ['--server', 'node', '--reload-dir', 'src', '--reload-include', '*.txt', 'src/app.ts']);
    const url = await waitForUrl(run);
    expect(run.stderr()).toMatch(new RegExp(`Will watch for changes in these directories: \\['${src}'\\]`));
    // Not watched: a file no pattern includes, and one in node_modules (a default exclude).
    writeFileSync(join(src, 'notes.md'), 'x');
    writeFileSync(join(src, 'node_modules', 'dep.js'), 'x');
    writeFileSync(join(dir, 'outside.ts'), 'x');
    await new Promise((r) => setTimeout(r, 1000));
    expect(run.stderr()).not.toMatch(/Reloading/);
    // --reload-include adds *.txt to the defaults.
    writeFileSync(join(src, 'data.txt'), 'b');
    await logged(run, /detected changes in 'src\/data\.txt'\. Reloading/);
    await logged(run, /Serving .* with node on/, 2);
    writeFileSync(join(src, 'app.ts'), asgiApp('node two'));
    expect(await answers(url, 'node two')).toBe('node two');
    // A directory that appears is watched, and the files it came with count; a new node_modules is neither.
    mkdirSync(join(src, 'sub', 'node_modules', 'pkg'), { recursive: true });
    writeFileSync(join(src, 'sub', 'node_modules', 'pkg', 'index.js'), 'x');
    await new Promise((r) => setTimeout(r, 800));
    expect(run.stderr().match(/Reloading/g)).toHaveLength(2);
    mkdirSync(join(src, 'lib'));
    writeFileSync(join(src, 'lib', 'util.ts'), 'export {};');
    await logged(run, /detected changes in 'src\/lib\/util\.ts'\. Reloading/);
    writeFileSync(join(src, 'lib', 'util.ts'), 'export const x = 1;');
    await logged(run, /Reloading/, 4);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  }, 60_000);
});

describe('a supervisor killed without a word', () => {
  it('leaves no server process behind: it notices and shuts down', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'app.ts'), asgiApp('orphan'));
    const run = reload(dir, ['app.ts']);
    const url = await waitForUrl(run);
    expect(await answers(url, 'orphan')).toBe('orphan');
    const pid = Number(/Started server process \[(\d+)\]/.exec(run.stderr())![1]);
    run.child.kill('SIGKILL');
    await run.exited;
    const until = Date.now() + 5000;
    while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    expect(await answers(url, 'x', 0)).toMatch(/^fetch failed/);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the --reload-* flags without --reload', () => {
  it('serve as usual, with a warning that they do nothing (as uvicorn)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'app.ts'), asgiApp('plain'));
    const run = startCli(['serve', '--port', '0', '--reload-include', '*.txt', 'app.ts'], { cwd: dir });
    running.push(run);
    const url = await waitForUrl(run);
    expect(await answers(url, 'plain')).toBe('plain');
    expect(run.stderr()).toMatch(/^WARNING: {2}--reload-dir, --reload-include, --reload-exclude and --reload-delay apply only with --reload\.$/m);
    expect(run.stderr()).not.toMatch(/reloader/);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

describe('what --reload watches', () => {
  const config = (args: string[]) => {
    const parsed = parseServeArgs([...args, 'app.ts'], {});
    if (parsed.help) throw new Error('unexpected');
    return parsed.config;
  };

  it('globs: * and ? within a name, ** across directories, [...] classes', () => {
    expect(globRegExp('*.ts').test('app.ts')).toBe(true);
    expect(globRegExp('*.ts').test('a/app.ts')).toBe(false);
    expect(globRegExp('**/*.ts').test('a/b/app.ts')).toBe(true);
    expect(globRegExp('app.[jt]s').test('app.js')).toBe(true);
    expect(globRegExp('app.[jt]s').test('app.cs')).toBe(false);
    expect(globRegExp('?.js').test('ab.js')).toBe(false);
  });

  it('defaults to the app files of TypeScript and JavaScript, without dotfiles, backups and node_modules', () => {
    const c = config([]);
    expect(c.reloadInclude).toEqual(RELOAD_INCLUDES);
    expect(c.reloadExclude).toEqual(RELOAD_EXCLUDES);
    const f = new ReloadFilter(c.reloadInclude, c.reloadExclude, '/w');
    for (const yes of ['/w/app.ts', '/w/lib/db.mjs', '/w/x.cts', '/w/view.tsx']) expect(f.matchesFile(yes, '/w'), yes).toBe(true);
    // Not data the app may write beside its code (config.json), lest it restart itself.
    for (const no of ['/w/config.json', '/w/README.md', '/w/.app.ts.swp', '/w/app.ts~', '/w/.git/x.js', '/w/node_modules/a/index.js']) expect(f.matchesFile(no, '/w'), no).toBe(false);
    expect(f.watchesDir('/w/node_modules', '/w')).toBe(false);
    expect(f.watchesDir('/w/.git', '/w')).toBe(false);
    expect(f.watchesDir('/w/src', '/w')).toBe(true);
  });

  it("naming a default in the other list takes it out, as uvicorn's flags do", () => {
    const c = config(['--reload-include', 'node_modules', '--reload-include', '*.json', '--reload-exclude', '*.cjs', '--reload-exclude', 'dist/*']);
    expect(c.reloadExclude).not.toContain('node_modules');
    expect(c.reloadInclude).not.toContain('*.cjs');
    const f = new ReloadFilter(c.reloadInclude, c.reloadExclude, '/w');
    expect(f.watchesDir('/w/node_modules', '/w')).toBe(true);
    expect(f.matchesFile('/w/package.json', '/w')).toBe(true);
    expect(f.matchesFile('/w/legacy.cjs', '/w')).toBe(false);
    expect(f.matchesFile('/w/dist/app.js', '/w')).toBe(false);
    expect(f.matchesFile('/w/src/app.js', '/w')).toBe(true);
  });

  it('refuses a --reload-dir that is not a directory', () => {
    expect(() => config(['--reload-dir', '/nonexistent/dir'])).toThrow(/--reload-dir must be a directory; got "\/nonexistent\/dir"/);
  });
});
