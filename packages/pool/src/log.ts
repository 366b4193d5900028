/**
 * The server log: app exceptions, `wsgi.errors` output tagged with the
 * request, worker-thread trouble and the access log. The Logger shape is the
 * same as @tsgi/uws's (uvicorn's levels), so the bridge can hand the runner
 * the logger of the server it runs under.
 */

/** Log levels, most to least verbose (uvicorn's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the runner and the server write. `error` gets the exception when there is one. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string, error?: unknown): void;
  /** One access-log line (`client - "METHOD path HTTP/1.1" status`). */
  access(line: string): void;
}

/** A console logger (uvicorn's format) that drops records below `level`; access lines go to stdout. */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const on = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= rank;
  const noop = () => {};
  return {
    debug: on('debug') ? (m) => process.stderr.write(`DEBUG:    ${m}\n`) : noop,
    info: on('info') ? (m) => process.stderr.write(`INFO:     ${m}\n`) : noop,
    warning: on('warning') ? (m) => process.stderr.write(`WARNING:  ${m}\n`) : noop,
    error: on('error') ? (m, e) => process.stderr.write(`ERROR:    ${m}${e === undefined ? '' : `\n${formatError(e)}`}\n`) : noop,
    access: on('info') ? (m) => process.stdout.write(`INFO:     ${m}\n`) : noop,
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, error() {}, access() {} };

/** An error's stack (or its text, for a non-Error), for log lines. */
export function formatError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
