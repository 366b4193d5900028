/**
 * `tsgi serve --reload`: a supervisor process that runs the server in a
 * child process and starts a fresh one when a watched file changes, as
 * uvicorn's reloader does. A fresh process is the only way to get fresh code
 * everywhere: Node caches every module it imported, and the pool's worker
 * threads import the app themselves.
 *
 * The watcher is node:fs `watch()`, one per directory. Node 20's recursive
 * watch works on Linux but puts a watch on every file of the tree, node_modules
 * included, with no way to leave a directory out; watching directory by
 * directory skips excluded ones (node_modules, .git) and costs one inotify
 * watch per directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, statSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@tsgi/core/server';
import { childServeArgs, type ServeConfig } from './options.js';

/** The variable that tells a server process it runs under a --reload supervisor. */
export const RELOAD_CHILD_ENV = 'TSGI_RELOAD_CHILD';

/** A glob of --reload-include/--reload-exclude as a RegExp: `*` and `?` within a name, `**` across directories, `[...]` classes. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Which paths --reload cares about. */
export class ReloadFilter {
  private readonly includes: Array<{ re: RegExp; path: boolean }>;
  private readonly excludes: Array<{ re: RegExp; path: boolean }>;
  /** Excludes that name existing directories (`--reload-exclude build`), as absolute paths. */
  private readonly excludedDirs: string[];

  constructor(include: readonly string[], exclude: readonly string[], cwd: string = process.cwd()) {
    this.includes = include.map((g) => ({ re: globRegExp(g), path: g.includes('/') }));
    this.excludes = exclude.map((g) => ({ re: globRegExp(g), path: g.includes('/') }));
    this.excludedDirs = exclude.map((g) => resolve(cwd, g)).filter(isDirectory);
  }

  /** A pattern without `/` matches a name; one with `/` the path under the watched directory. */
  private excluded(name: string, rel: string): boolean {
    return this.excludes.some(({ re, path }) => re.test(path ? rel : name));
  }

  /** True for a directory to watch (and descend into). */
  watchesDir(abs: string, root: string): boolean {
    if (abs === root) return true;
    if (this.excludedDirs.some((d) => abs === d || abs.startsWith(d + sep))) return false;
    return !this.excluded(basename(abs), toPosix(relative(root, abs)));
  }

  /** True for a file whose change restarts the server. */
  matchesFile(abs: string, root: string): boolean {
    const name = basename(abs);
    const rel = toPosix(relative(root, abs));
    if (this.excludedDirs.some((d) => abs.startsWith(d + sep))) return false;
    // A file inside an excluded directory (reached through a watched parent's event) does not count either.
    const dirs = rel.split('/').slice(0, -1);
    if (dirs.some((d, i) => this.excluded(d, dirs.slice(0, i + 1).join('/')))) return false;
    if (this.excluded(name, rel)) return false;
    return this.includes.some(({ re, path }) => re.test(path ? rel : name));
  }
}

function toPosix(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

/** The entries of a directory; none when it is gone or unreadable. */
function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Watches directory trees and reports the changed files the filter keeps, debounced. */
export class TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly roots: readonly string[],
    private readonly filter: ReloadFilter,
    private readonly onChange: (files: string[]) => void,
    /** Quiet time after the last change before onChange (--reload-delay): an editor's save or a `git checkout` is many events. */
    private readonly debounceMs: number,
  ) {}

  start(): void {
    for (const root of this.roots) this.addTree(root, root);
  }

  /** How many directories are watched. */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Watches `dir` and the directories below it that the filter keeps; `added` collects them. */
  private addTree(dir: string, root: string, added: string[] = []): string[] {
    if (this.closed || this.watchers.has(dir) || !this.filter.watchesDir(dir, root)) return added;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: true }, (_event, name) => this.changed(dir, root, name === null ? null : String(name)));
    } catch {
      return added; // gone already, or not readable: nothing to watch
    }
    // A watched directory that is removed ends its watcher with an error on some systems.
    w.on('error', () => this.forget(dir));
    this.watchers.set(dir, w);
    added.push(dir);
    for (const e of entries(dir)) if (e.isDirectory()) this.addTree(join(dir, e.name), root, added);
    return added;
  }

  private forget(dir: string): void {
    for (const [path, w] of this.watchers) {
      if (path === dir || path.startsWith(dir + sep)) {
        w.close();
        this.watchers.delete(path);
      }
    }
  }

  private changed(dir: string, root: string, name: string | null): void {
    if (this.closed) return;
    if (name === null) return;
    const abs = join(dir, name);
    if (isDirectory(abs)) {
      // A new directory (or one moved in): watch it, and count the files it brought. An excluded
      // one (node_modules appearing) is neither watched nor read.
      if (!this.watchers.has(abs)) this.collect(this.addTree(abs, root), root);
      return;
    }
    if (this.watchers.has(abs)) this.forget(abs); // a watched directory was removed or moved away
    if (!this.filter.matchesFile(abs, root)) return;
    this.pending.add(abs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.debounceMs);
  }

  /** The matching files of directories that appeared (those now watched). */
  private collect(dirs: readonly string[], root: string): void {
    for (const dir of dirs) {
      for (const e of entries(dir)) {
        const abs = join(dir, e.name);
        if (e.isFile() && this.filter.matchesFile(abs, root)) this.pending.add(abs);
      }
    }
    if (this.pending.size > 0) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.flush(), this.debounceMs);
    }
  }

  private flush(): void {
    const files = [...this.pending];
    this.pending = new Set();
    if (files.length > 0 && !this.closed) this.onChange(files);
  }
}

/** The directories --reload watches: --reload-dir's, else the working directory and the app's directory when outside it. */
export function reloadDirs(config: ServeConfig, appPath: string, cwd: string = process.cwd()): string[] {
  if (config.reloadDir.length > 0) return [...new Set(config.reloadDir.map((d) => resolve(cwd, d)))];
  const appDir = dirname(appPath);
  const inside = appDir === cwd || appDir.startsWith(cwd + sep);
  return inside ? [cwd] : [cwd, appDir];
}

/** A free TCP port on `host`, so every server process of the supervisor listens on the same one (`--port 0`). */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** How the supervisor starts a server process: this module's sibling serve-child, from source (through tsx) or built. */
function childCommand(args: string[]): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`./serve-child${fromSource ? '.ts' : '.js'}`, import.meta.url));
  // `--import tsx` resolves from the working directory, which need not have tsx: pass where it is.
  const execArgv = process.execArgv.map((a, i, all) => (a === 'tsx' && all[i - 1] === '--import' ? import.meta.resolve('tsx') : a));
  if (fromSource) {
    if (!execArgv.some((a) => a.startsWith('--conditions=source') || a === 'source')) execArgv.push('--conditions=source');
    if (!execArgv.some((a, i) => execArgv[i - 1] === '--import' && /(^|\/)tsx(\/|$)/.test(a))) execArgv.push('--import', import.meta.resolve('tsx'));
  }
  return [...execArgv, entry, 'serve', ...args];
}

/**
 * Runs the supervisor until SIGINT or SIGTERM: starts the server process,
 * restarts it after a change (the old one shuts down gracefully first, so the
 * port is free), and after a server process that failed (an import or syntax
 * error) waits for the next change. Resolves with the exit code.
 */
export async function runReloader(argv: readonly string[], config: ServeConfig, appPath: string, logger: Logger): Promise<number> {
  const dirs = reloadDirs(config, appPath);
  const port = config.uds === undefined && config.port === 0 ? await freePort(config.host) : undefined;
  const args = childServeArgs(argv, port);
  const command = childCommand(args);
  logger.info(`Will watch for changes in these directories: [${dirs.map((d) => `'${d}'`).join(', ')}]`);
  logger.info(`Started reloader process [${process.pid}] using fs.watch`);

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  let restarting: Promise<void> | null = null;
  let again = false;

  const start = (): void => {
    const c = spawn(process.execPath, command, {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [RELOAD_CHILD_ENV]: '1' },
    });
    child = c;
    exited = new Promise((resolveExit) => {
      let done = false;
      const ended = (how: string): void => {
        if (done) return;
        done = true;
        if (child === c) child = null;
        // One that ends while no restart or stop asked it to failed (an import error, a crash): wait for a fix.
        if (!stopping && restarting === null) logger.warning(`Server process [${c.pid ?? '-'}] ${how}; waiting for a change to restart it.`);
        resolveExit();
      };
      c.once('exit', (code, signal) => ended(`exited with ${signal ?? `code ${code}`}`));
      // A spawn that fails may end without 'exit'.
      c.once('error', (e) => ended(`could not run: ${e.message}`));
    });
  };

  const stopChild = async (): Promise<void> => {
    const c = child;
    if (c !== null && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await exited;
  };

  const restart = (files: string[]): void => {
    if (stopping) return;
    if (restarting !== null) {
      again = true;
      return;
    }
    const shown = files.map((f) => `'${relative(process.cwd(), f) || f}'`).join(', ');
    logger.warning(`fs.watch detected changes in ${shown}. Reloading...`);
    restarting = (async () => {
      do {
        again = false;
        await stopChild();
        if (!stopping) start();
      } while (again && !stopping);
    })().finally(() => (restarting = null));
  };

  const watcher = new TreeWatcher(dirs, new ReloadFilter(config.reloadInclude, config.reloadExclude), restart, config.reloadDelay * 1000);
  watcher.start();
  logger.debug(`Watching ${watcher.size} directories for ${config.reloadInclude.join(', ')} (excluding ${config.reloadExclude.join(', ')})`);
  start();

  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGINT', resolveSignal);
    process.once('SIGTERM', resolveSignal);
  });
  stopping = true;
  watcher.close();
  // The server process shuts down gracefully; a second signal here ends it at once.
  const force = (): void => {
    const c = child as ChildProcess | null;
    c?.kill('SIGKILL');
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  logger.info(`Received ${signal}: stopping the server process.`);
  await restarting;
  await stopChild();
  process.removeListener('SIGINT', force);
  process.removeListener('SIGTERM', force);
  logger.info(`Stopping reloader process [${process.pid}]`);
  return 0;
}
