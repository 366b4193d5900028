/**
 * The `tsgi` command: `tsgi serve <file>[:<export>] [flags]`. main() returns
 * the process exit code instead of exiting, so tests can call it in-process.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ServerHandle } from '@tsgi/core';
import { consoleLogger, type Logger } from '@tsgi/core/server';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_STARTUP_FAILED, EXIT_USAGE } from './errors.js';
import { checkInterface, detectInterface } from './detect-interface.js';
import { loadApp, moduleRefOf, parseAppSpec } from './load-app.js';
import { RELOAD_DELAY_S, RELOAD_EXCLUDES, RELOAD_INCLUDES, mainUsage, parseServeArgs, serveUsage, type ServeConfig } from './options.js';
import { RELOAD_CHILD_ENV, runReloader } from './reload.js';
import { startServer } from './start-server.js';

/** Where the CLI writes; swappable for tests. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
};

/** The version of @tsgi/cli, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the command line `argv` (without `node` and the script) and resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === '--version' || command === '-V') {
      io.out(`tsgi ${version()} (Node.js ${process.version})`);
      return EXIT_OK;
    }
    if (command === '--help' || command === '-h') {
      io.out(mainUsage());
      return EXIT_OK;
    }
    if (command === undefined) {
      io.err(mainUsage());
      return EXIT_USAGE;
    }
    if (command !== 'serve') throw new CliError(`unknown command ${JSON.stringify(command)}; try tsgi --help`);
    const parsed = parseServeArgs(rest);
    if (parsed.help) {
      io.out(parsed.version ? `tsgi ${version()} (Node.js ${process.version})` : serveUsage());
      return EXIT_OK;
    }
    const logger = consoleLogger({ level: parsed.config.logLevel, colors: parsed.config.useColors, format: parsed.config.logFormat });
    if (parsed.config.reload) {
      const spec = parseAppSpec(parsed.config.app, resolve(parsed.config.appDir));
      return await runReloader(rest, parsed.config, spec.path, logger);
    }
    return await serveCommand(parsed.config, io, logger);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`tsgi: error: ${e.message}`);
      return e.exitCode;
    }
    io.err(`tsgi: error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT_FAILURE;
  }
}

/** Sets the --env-file variables the environment does not already have (as node --env-file and python-dotenv do). */
function applyEnvFile(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) if (process.env[name] === undefined) process.env[name] = value;
}

/** `tsgi serve`: load, detect, start, then wait for a signal (or --limit-max-requests) and shut down gracefully. */
async function serveCommand(config: ServeConfig, io: Io, logger: Logger): Promise<number> {
  const info = (line: string) => logger.info(line);
  const warn = (line: string) => logger.warning(line);
  const reloadFlags =
    config.reloadDir.length > 0 || String(config.reloadInclude) !== String(RELOAD_INCLUDES) || String(config.reloadExclude) !== String(RELOAD_EXCLUDES) || config.reloadDelay !== RELOAD_DELAY_S;
  // As uvicorn, a warning rather than a refusal: the server still runs, without reloading.
  if (reloadFlags && process.env[RELOAD_CHILD_ENV] === undefined) warn('--reload-dir, --reload-include, --reload-exclude and --reload-delay apply only with --reload.');
  applyEnvFile(config.envFileValues);
  const spec = parseAppSpec(config.app, resolve(config.appDir));
  const value = await loadApp(spec, config.factory);
  const detection = config.interface === 'auto' ? detectInterface(value) : checkInterface(value, config.interface);
  if (!detection.ok) throw new CliError(`export "${spec.exportName}" of ${spec.path} ${detection.reason}`);
  const iface = detection.interface;
  const server = config.server ?? (iface === 'wsgi' ? 'pool' : 'uws');

  let stop!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  let served = 0;
  const onRequest =
    config.limitMaxRequests === undefined
      ? undefined
      : () => {
          if (++served === config.limitMaxRequests) stop(`Maximum request limit of ${config.limitMaxRequests} exceeded. Terminating process.`);
        };

  // Signals are taken from the start: one that arrives while the server starts stops it right after.
  // Under a --reload supervisor, Ctrl+C reaches both processes: this one leaves SIGINT to the
  // supervisor, which stops it with SIGTERM (two signals would force the exit), and it stops too
  // if the supervisor is gone without a word.
  const child = process.env[RELOAD_CHILD_ENV] !== undefined;
  const signals: NodeJS.Signals[] = child ? ['SIGTERM'] : ['SIGINT', 'SIGTERM'];
  const onSignal = (signal: NodeJS.Signals) => stop(`Received ${signal}: shutting down gracefully.`);
  const ignore = () => {};
  const orphaned = () => stop('The reloader process is gone: shutting down gracefully.');
  for (const signal of signals) process.once(signal, onSignal);
  if (child) {
    process.on('SIGINT', ignore);
    process.once('disconnect', orphaned);
    (process.channel as { unref?: () => void } | undefined)?.unref?.();
  }
  const forget = () => {
    for (const signal of signals) process.removeListener(signal, onSignal);
    process.removeListener('disconnect', orphaned);
    process.removeListener('SIGHUP', onHangup);
  };
  // SIGHUP, gunicorn's: replace the workers one at a time with fresh code. One server in this process
  // cannot be replaced without a moment when nothing listens, so there it is logged and ignored (and
  // never ends the process, as an unhandled SIGHUP would).
  let handle: ServerHandle | undefined;
  let restarting: Promise<void> | undefined;
  const onHangup = () => {
    if (handle === undefined) return warn('Received SIGHUP while starting: ignored.');
    const restart = handle.restartWorkers?.bind(handle);
    if (restart === undefined) {
      return warn('Received SIGHUP: ignored; with 1 worker there is nothing to replace without dropping connections. Use --workers 2 or more, or restart the process.');
    }
    if (restarting !== undefined) return warn('Received SIGHUP: a restart of the workers is already under way; ignored.');
    info('Received SIGHUP: restarting the workers one at a time.');
    restarting = restart().finally(() => (restarting = undefined));
  };
  process.on('SIGHUP', onHangup);

  // The process stays up until it is told to stop, whatever the server holds open meanwhile: while
  // the app starts (lifespan startup, the pool's threads importing it) nothing may be listening yet,
  // and idle worker threads do not keep a process alive.
  const alive = setInterval(() => {}, 2 ** 31 - 1);
  try {
    handle = await startServer({ value, ref: moduleRefOf(spec, config.factory), iface, server, config, onRequest, warn, logger });
  } catch (e) {
    forget();
    clearInterval(alive);
    if (e instanceof CliError) throw e;
    if (isStartupFailure(e)) {
      io.err(`tsgi: error: application startup failed: ${(e as Error).message}`);
      return EXIT_STARTUP_FAILED;
    }
    throw new CliError(`cannot start the server: ${e instanceof Error ? e.message : String(e)}`, EXIT_FAILURE);
  }
  const label = iface === 'fetch' ? 'fetch handler' : `${iface.toUpperCase()}-TS app`;
  info(`Serving ${label} ${spec.display} with ${server} on ${handle.url}`);

  info(await stopped);
  forget();
  process.on('SIGHUP', ignore); // while draining
  const running = handle;
  // A second signal while draining forces the exit, as uvicorn does.
  const force = (signal: NodeJS.Signals) => {
    io.err(`tsgi: forced exit on a second ${signal}`);
    process.exit(EXIT_FAILURE);
  };
  for (const signal of signals) process.once(signal, force);
  try {
    await running.close();
  } finally {
    process.removeListener('SIGHUP', ignore);
    for (const signal of signals) process.removeListener(signal, force);
    clearInterval(alive);
  }
  return EXIT_OK;
}

/** True for the error serve() rejects with when the app's lifespan startup failed. */
function isStartupFailure(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'LifespanStartupFailed';
}
