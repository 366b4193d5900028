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

/** The line formats of consoleLogger(): uvicorn's text lines, or one JSON object per line for log collectors. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How consoleLogger() writes. */
export interface ConsoleLoggerOptions {
  /** Records below it are dropped; default 'info'. */
  level?: LogLevel;
  /** Tags every message (a worker's name). */
  prefix?: string;
  /** Color the level names (uvicorn's colors); default: when the stream is a terminal. Text format only. */
  colors?: boolean;
  /** 'text' (default): `INFO:     message`; 'json': `{"time":…,"level":"info","logger":"tsgi.error","message":…}`. */
  format?: LogFormat;
}

// uvicorn's level colors (click's fg colors), as ANSI codes.
const COLOR: Record<string, string> = { TRACE: '34', DEBUG: '36', INFO: '32', WARNING: '33', ERROR: '31', CRITICAL: '91' };

/** `INFO:     ` as uvicorn pads it (the level name and its colon take 9 columns), colored when asked. */
function levelPrefix(name: string, colors: boolean): string {
  const pad = ' '.repeat(Math.max(1, 9 - name.length));
  return colors ? `\x1b[${COLOR[name]}m${name}\x1b[0m:${pad}` : `${name}:${pad}`;
}

/**
 * A console logger that drops records below the level. The old form
 * `consoleLogger(level, prefix)` still works; pass options for colors and the JSON format.
 */
export function consoleLogger(level: LogLevel | ConsoleLoggerOptions = 'info', prefix = ''): Logger {
  const o: ConsoleLoggerOptions = typeof level === 'string' ? { level, prefix } : level;
  const rank = LOG_LEVELS.indexOf(o.level ?? 'info');
  const tag = o.prefix ?? '';
  const on = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= rank;
  const noop = () => {};
  const err = (line: string) => process.stderr.write(line);
  const out = (line: string) => process.stdout.write(line);
  let write: (stream: (line: string) => void, name: string, logger: string, message: string, e?: unknown) => void;
  if (o.format === 'json') {
    write = (stream, name, logger, message, e) => {
      const record: Record<string, string> = { time: new Date().toISOString(), level: name.toLowerCase(), logger, message: tag + message };
      if (e !== undefined) record.exc_info = formatError(e);
      stream(`${JSON.stringify(record)}\n`);
    };
  } else {
    // Decided once: a terminal now is a terminal for the life of the process.
    const errColors = o.colors ?? process.stderr.isTTY === true;
    const outColors = o.colors ?? process.stdout.isTTY === true;
    const prefixes = new Map<string, string>();
    const prefixOf = (name: string, stream: (line: string) => void): string => {
      const key = `${name}:${stream === out}`;
      let p = prefixes.get(key);
      if (p === undefined) prefixes.set(key, (p = levelPrefix(name, stream === out ? outColors : errColors)));
      return p;
    };
    write = (stream, name, _logger, message, e) => stream(`${prefixOf(name, stream)}${tag}${message}${e === undefined ? '' : `\n${formatError(e)}`}\n`);
  }
  return {
    debug: on('debug') ? (m) => write(err, 'DEBUG', 'tsgi.error', m) : noop,
    info: on('info') ? (m) => write(err, 'INFO', 'tsgi.error', m) : noop,
    warning: on('warning') ? (m) => write(err, 'WARNING', 'tsgi.error', m) : noop,
    error: on('error') ? (m, e) => write(err, 'ERROR', 'tsgi.error', m, e) : noop,
    access: on('info') ? (m) => write(out, 'INFO', 'tsgi.access', m) : noop,
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, error() {}, access() {} };

/** An error's stack (or its text, for a non-Error), for log lines. */
export function formatError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}
