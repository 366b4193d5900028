/**
 * The server's logger: levels as uvicorn's --log-level, one line per record
 * on stderr (access lines on stdout), replaceable by the embedder.
 */

/** Log levels, most to least verbose (uvicorn's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the server's messages go. `error` gets the exception when there is one. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string, error?: unknown): void;
  /** One access-log line (`client - "METHOD path HTTP/1.1" status`). */
  access(line: string): void;
}

/** A console logger that drops records below `level`. */
export function consoleLogger(level: LogLevel = 'info', prefix = ''): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const on = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= rank;
  const noop = () => {};
  return {
    debug: on('debug') ? (m) => process.stderr.write(`DEBUG:    ${prefix}${m}\n`) : noop,
    info: on('info') ? (m) => process.stderr.write(`INFO:     ${prefix}${m}\n`) : noop,
    warning: on('warning') ? (m) => process.stderr.write(`WARNING:  ${prefix}${m}\n`) : noop,
    error: on('error')
      ? (m, e) => process.stderr.write(`ERROR:    ${prefix}${m}${e === undefined ? '' : `\n${formatError(e)}`}\n`)
      : noop,
    access: on('info') ? (m) => process.stdout.write(`INFO:     ${prefix}${m}\n`) : noop,
  };
}

function formatError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
