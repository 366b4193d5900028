/**
 * The server log: where app exceptions, `wsgi.errors` output (tagged with
 * the request) and the access log go. Plain lines on stderr by default.
 */

/** Log levels, most to least severe; a logger prints its level and the ones above. */
export type LogLevel = 'critical' | 'error' | 'warning' | 'info' | 'debug' | 'trace';

/** What the runner and the server write to. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  /** One access-log line per request (printed at info level). */
  access(message: string): void;
}

const RANK: Record<LogLevel, number> = { critical: 50, error: 40, warning: 30, info: 20, debug: 10, trace: 5 };

/** A logger that writes lines to stderr, dropping those below `level`; access lines only when `accessLog`. */
export function consoleLogger(level: LogLevel = 'info', accessLog = true): Logger {
  const min = RANK[level];
  const line = (tag: string, message: string) => process.stderr.write(`${new Date().toISOString()} [${tag}] ${message}\n`);
  return {
    error: (m) => void (RANK.error >= min && line('ERROR', m)),
    warn: (m) => void (RANK.warning >= min && line('WARNING', m)),
    info: (m) => void (RANK.info >= min && line('INFO', m)),
    access: (m) => void (accessLog && RANK.info >= min && line('ACCESS', m)),
  };
}

/** A logger that drops everything (tests that assert on nothing logged pass their own). */
export const silentLogger: Logger = { error() {}, warn() {}, info() {}, access() {} };
