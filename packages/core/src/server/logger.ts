/**
 * The one server logger: uvicorn's levels and line format, one line per
 * record on stderr, access lines on stdout. Every server, the runner and the
 * bridge write through a Logger, so an embedder can replace it in one place.
 */

/** Log levels, most to least verbose (uvicorn's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where a server's messages go. `error` gets the exception when there is one. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string, error?: unknown): void;
  /** One access-log line (see accessLine()). */
  access(line: string): void;
}

/** True when `value` is one of LOG_LEVELS. */
export function isLogLevel(value: unknown): value is LogLevel {
  return (LOG_LEVELS as readonly unknown[]).includes(value);
}

/** A console logger that drops records below `level`; `prefix` tags every line (a worker's name). */
export function consoleLogger(level: LogLevel = 'info', prefix = ''): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const on = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= rank;
  const noop = () => {};
  return {
    debug: on('debug') ? (m) => process.stderr.write(`DEBUG:    ${prefix}${m}\n`) : noop,
    info: on('info') ? (m) => process.stderr.write(`INFO:     ${prefix}${m}\n`) : noop,
    warning: on('warning') ? (m) => process.stderr.write(`WARNING:  ${prefix}${m}\n`) : noop,
    error: on('error') ? (m, e) => process.stderr.write(`ERROR:    ${prefix}${m}${e === undefined ? '' : `\n${formatError(e)}`}\n`) : noop,
    access: on('info') ? (m) => process.stdout.write(`INFO:     ${prefix}${m}\n`) : noop,
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, error() {}, access() {} };

/** An error's stack (or its text, for a non-Error), for log lines. */
export function formatError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
