/**
 * The options every tsgi server takes, named and defaulted as uvicorn's
 * flags, validated once here so every server refuses a bad value with the
 * same words: CommonServeOptions for all of them, AsgiServeOptions for the
 * event-loop servers of ASGI-TS apps. A transport adds only what is its own
 * (the pool's threads; a keep-alive rule its library imposes).
 */
import { describe } from '../bytes.js';
import { consoleLogger, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from './logger.js';
import { parseTrustedHosts, type TrustedHosts } from './proxy-headers.js';
import { MAX_HEAD_BYTES } from './request-head.js';
import { resolveTlsOptions, TLS_OPTION_NAMES, type ResolvedTls, type TlsServeOptions } from './tls.js';

/** A serve() option that cannot be honored: names the option and the value, so the CLI can name its flag. */
export class OptionError extends TypeError {
  override name = 'OptionError';
  /** What follows the option's name in the message (`' must be …; got …'`, or `' > 1 needs …'`). */
  readonly predicate: string;
  constructor(
    /** The option's name in serve()'s options (`timeoutKeepAlive`), or '' for the options object itself. */
    readonly option: string,
    /** What the option must be, in words; null when `predicate` says what is wrong instead. */
    readonly rule: string | null,
    readonly value: unknown,
    predicate?: string,
  ) {
    const p = predicate ?? ` must be ${rule}; got ${describe(value)}`;
    super(option === '' ? `serve(): ${rule ?? p.trim()}` : predicate === undefined ? `serve(): option '${option}'${p}` : `serve(): ${option}${p}`);
    this.predicate = p;
  }

  /** An option whose value cannot work with the rest of the setup: `serve(): workers > 1 needs …`. */
  static conflict(option: string, value: unknown, predicate: string): OptionError {
    return new OptionError(option, null, value, predicate);
  }
}

/** Throws the OptionError for option `name`: what it must be, and the value it got. */
export function optionError(name: string, rule: string, value: unknown): never {
  throw new OptionError(name, rule, value);
}

/** The options every server takes. Times are in seconds, sizes in bytes. */
export interface CommonServeOptions extends TlsServeOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one; default 8000. */
  port?: number;
  /** Listen on this unix socket path instead of host/port. */
  uds?: string | null;
  /** Serve on this listening socket, already bound, by its file descriptor (uvicorn's --fd: systemd socket activation, process managers) instead of host/port; default null. */
  fd?: number | null;
  /** Connections the kernel may hold waiting to be accepted (listen()'s backlog, uvicorn's --backlog); default 2048; the kernel caps it at net.core.somaxconn. */
  backlog?: number;
  /** The app's mount point (ASGI root_path, WSGI SCRIPT_NAME); '' or a path starting and not ending with '/'. */
  rootPath?: string;
  /** Honor X-Forwarded-For/-Proto and Forwarded from trusted peers; default true (as uvicorn). */
  proxyHeaders?: boolean;
  /** Trusted proxies: IPs, CIDRs or '*'; default $FORWARDED_ALLOW_IPS or 127.0.0.1. */
  forwardedAllowIps?: string | string[];
  /** Largest request body accepted; past it the server answers 413. null: no limit (default). */
  limitMaxBodySize?: number | null;
  /** Largest request head (request line and header fields) in bytes; past it the server answers 431 (uvicorn's --h11-max-incomplete-event-size); default 16384. */
  h11MaxIncompleteEventSize?: number;
  /** Seconds an idle keep-alive connection stays open; 0 closes the connection after each response. */
  timeoutKeepAlive?: number;
  /** Seconds close() waits for in-flight requests before closing them; null: wait for ever (default, as uvicorn). */
  timeoutGracefulShutdown?: number | null;
  /** One log line per response; default true. */
  accessLog?: boolean;
  /** Minimum level logged; default 'info'. */
  logLevel?: LogLevel;
  /** Replaces the console logger. */
  logger?: Logger;
  /** The console logger's lines: 'text' (uvicorn's, default) or 'json' (one object per line). */
  logFormat?: LogFormat;
  /** Color the console logger's level names; default null: when the stream is a terminal. */
  useColors?: boolean | null;
  /** Headers added to every response (uvicorn's --header), as [name, value] pairs; a `server` one replaces the default. */
  headers?: Array<[string, string]>;
  /** Add `server: tsgi` to every response (uvicorn's --server-header); default true. */
  serverHeader?: boolean;
  /** Add a `date` header to every response (uvicorn's --date-header); default true. */
  dateHeader?: boolean;
}

/** The common options with defaults applied and checked. */
export interface ResolvedCommonOptions {
  host: string;
  port: number;
  uds: string | null;
  fd: number | null;
  backlog: number;
  rootPath: string;
  proxyHeaders: boolean;
  /** forwardedAllowIps as a list (from the option, or $FORWARDED_ALLOW_IPS, default '127.0.0.1'). */
  forwardedAllowIps: string[];
  /** The parsed allow-list; null when proxyHeaders is off. */
  trustedHosts: TrustedHosts | null;
  limitMaxBodySize: number | null;
  h11MaxIncompleteEventSize: number;
  timeoutKeepAlive: number;
  timeoutGracefulShutdown: number | null;
  accessLog: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat;
  useColors: boolean | null;
  /**
   * The headers every response gets before the app's, names in lower case: `server: tsgi` (unless
   * serverHeader is off or `headers` has its own), then `headers`. Computed once, so a server adds
   * them without work per request.
   */
  defaultHeaders: Array<[string, string]>;
  dateHeader: boolean;
  /** TLS when sslCertfile is given (its files read and checked); null: plain HTTP. */
  tls: ResolvedTls | null;
}

/** The smallest and largest h11MaxIncompleteEventSize: a head needs room for a request line and a few fields; a larger one than 1 MiB is no request. */
const MIN_HEAD_OPTION = 1024;
const MAX_HEAD_OPTION = 1024 * 1024;

/** The value of the `server` header that serverHeader adds (uvicorn's is `uvicorn`). */
export const SERVER_HEADER_VALUE = 'tsgi';

/** What a transport's library imposes on the common options. */
export interface TransportRules {
  /** timeoutKeepAlive when not given (uvicorn: 5). */
  keepAliveDefault: number;
  /** The keep-alive values the transport can honor, in words, when it cannot honor every non-negative number. */
  keepAliveOnly?: { values: readonly number[]; rule: string };
  /** Why the transport cannot leave the Date header out, when it cannot (dateHeader: false is then refused). */
  dateHeaderAlways?: string;
  /** Why the transport cannot serve on an inherited socket, when it cannot (fd is then refused). */
  fdUnsupported?: string;
  /** The listen backlog the transport always uses, and why, when it cannot be chosen (any other backlog is then refused). */
  backlogFixed?: { value: number; why: string };
  /** The largest request head its parser lets through, and why, when that is below MAX_HEAD_OPTION. */
  maxHead?: { bytes: number; why: string };
}

/** The names of CommonServeOptions, for a server's set of known option names. */
export const COMMON_OPTION_NAMES: readonly string[] = [
  'host', 'port', 'uds', 'fd', 'backlog', 'rootPath', 'proxyHeaders', 'forwardedAllowIps', 'limitMaxBodySize', 'h11MaxIncompleteEventSize', 'timeoutKeepAlive',
  'timeoutGracefulShutdown', 'accessLog', 'logLevel', 'logger', 'logFormat', 'useColors', 'headers', 'serverHeader', 'dateHeader',
  ...TLS_OPTION_NAMES,
];

/** The logger a server uses: the `logger` option, else a console logger with the resolved level, format and colors. */
export function serverLogger(options: { logger?: Logger }, resolved: ResolvedCommonOptions, prefix = ''): Logger {
  return options.logger ?? consoleLogger({ level: resolved.logLevel, format: resolved.logFormat, colors: resolved.useColors ?? undefined, prefix });
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A field value: visible latin-1 text, spaces and tabs inside, no CR, LF or NUL (RFC 9110 section 5.5).
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\x20\x09\x21-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/** Checks `headers` and builds the defaultHeaders list. */
function resolveHeaders(headers: unknown, serverHeader: boolean): Array<[string, string]> {
  if (!Array.isArray(headers)) optionError('headers', 'an array of [name, value] pairs', headers);
  const list: Array<[string, string]> = [];
  for (const h of headers as unknown[]) {
    if (!Array.isArray(h) || h.length !== 2 || typeof h[0] !== 'string' || typeof h[1] !== 'string') optionError('headers', 'an array of [name, value] pairs of strings', h);
    if (!TOKEN.test(h[0])) optionError('headers', 'header names that are tokens (RFC 9110 section 5.1)', h[0]);
    if (!FIELD_VALUE.test(h[1])) optionError('headers', 'header values of latin-1 text without CR, LF or surrounding whitespace (RFC 9110 section 5.5)', h[1]);
    list.push([h[0].toLowerCase(), h[1]]);
  }
  // As uvicorn: a `server` header of one's own replaces the default one.
  const ownServer = list.some(([name]) => name === 'server');
  return serverHeader && !ownServer ? [['server', SERVER_HEADER_VALUE], ...list] : list;
}

/**
 * Checks that `options` is an object with only `known` keys (which include
 * COMMON_OPTION_NAMES), then applies the defaults of the common options and
 * validates them; throws OptionError naming the first bad one.
 */
export function resolveCommonOptions(options: unknown, known: ReadonlySet<string>, rules: TransportRules): ResolvedCommonOptions {
  if (typeof options !== 'object' || options === null) throw new OptionError('', `options must be an object; got ${describe(options)}`, options);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new OptionError('', `unknown option ${JSON.stringify(key)}`, key);
  }
  const o = options as CommonServeOptions;
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host)) optionError('host', 'a host name or IP address', host);
  const port = o.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) optionError('port', 'an integer from 0 to 65535', port);
  const uds = o.uds ?? null;
  if (uds !== null && (typeof uds !== 'string' || uds === '' || uds.includes('\0'))) optionError('uds', 'a unix socket path', uds);
  const fd = o.fd ?? null;
  if (fd !== null) {
    if (!(Number.isSafeInteger(fd) && fd >= 0)) optionError('fd', 'null or a file descriptor (a non-negative integer)', fd);
    if (rules.fdUnsupported !== undefined) throw OptionError.conflict('fd', fd, ` cannot be served: ${rules.fdUnsupported}`);
    if (uds !== null) throw OptionError.conflict('fd', fd, ` and uds ${JSON.stringify(uds)} are two places to listen; give one`);
  }
  const backlog = o.backlog ?? rules.backlogFixed?.value ?? 2048;
  if (rules.backlogFixed !== undefined) {
    if (backlog !== rules.backlogFixed.value) optionError('backlog', `${rules.backlogFixed.value} (${rules.backlogFixed.why})`, backlog);
  } else if (!(Number.isSafeInteger(backlog) && backlog >= 1 && backlog <= 2 ** 31 - 1)) {
    optionError('backlog', 'a positive integer (connections)', backlog);
  }
  const rootPath = o.rootPath ?? '';
  // A trailing '/' would reach a WSGI app as SCRIPT_NAME '/app/' and double the slash in path ('/app//x').
  if (typeof rootPath !== 'string' || (rootPath !== '' && !rootPath.startsWith('/')) || /[?#]/.test(rootPath) || rootPath.endsWith('/')) {
    optionError('rootPath', `'' or a path starting (and not ending) with '/', without '?' or '#' (root_path, asgi.http.scope.9; SCRIPT_NAME, wsgi.environ.path.1)`, rootPath);
  }
  const proxyHeaders = o.proxyHeaders ?? true;
  if (typeof proxyHeaders !== 'boolean') optionError('proxyHeaders', 'a boolean', proxyHeaders);
  const allow = o.forwardedAllowIps ?? process.env.FORWARDED_ALLOW_IPS ?? '127.0.0.1';
  if (typeof allow !== 'string' && !(Array.isArray(allow) && allow.every((s) => typeof s === 'string'))) {
    optionError('forwardedAllowIps', 'a string or an array of strings', allow);
  }
  let trusted: TrustedHosts | null = null;
  if (proxyHeaders) {
    try {
      trusted = parseTrustedHosts(allow);
    } catch {
      optionError('forwardedAllowIps', "IP addresses, CIDR networks (like 10.0.0.0/8) or '*', comma-separated", allow);
    }
  }
  const forwardedAllowIps = (typeof allow === 'string' ? [allow] : allow).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const limitMaxBodySize = o.limitMaxBodySize ?? null;
  if (limitMaxBodySize !== null && !(Number.isSafeInteger(limitMaxBodySize) && limitMaxBodySize >= 0)) {
    optionError('limitMaxBodySize', 'null or a non-negative integer (bytes)', limitMaxBodySize);
  }
  const h11MaxIncompleteEventSize = o.h11MaxIncompleteEventSize ?? MAX_HEAD_BYTES;
  const maxHead = rules.maxHead?.bytes ?? MAX_HEAD_OPTION;
  if (!(Number.isSafeInteger(h11MaxIncompleteEventSize) && h11MaxIncompleteEventSize >= MIN_HEAD_OPTION && h11MaxIncompleteEventSize <= maxHead)) {
    optionError('h11MaxIncompleteEventSize', `an integer from ${MIN_HEAD_OPTION} to ${maxHead} (bytes${rules.maxHead === undefined ? '' : `; ${rules.maxHead.why}`})`, h11MaxIncompleteEventSize);
  }
  const timeoutKeepAlive = o.timeoutKeepAlive ?? rules.keepAliveDefault;
  if (rules.keepAliveOnly !== undefined) {
    if (!rules.keepAliveOnly.values.includes(timeoutKeepAlive)) optionError('timeoutKeepAlive', rules.keepAliveOnly.rule, timeoutKeepAlive);
  } else if (typeof timeoutKeepAlive !== 'number' || !Number.isFinite(timeoutKeepAlive) || timeoutKeepAlive < 0) {
    optionError('timeoutKeepAlive', 'a non-negative number of seconds', timeoutKeepAlive);
  }
  const timeoutGracefulShutdown = o.timeoutGracefulShutdown ?? null;
  if (timeoutGracefulShutdown !== null && !(typeof timeoutGracefulShutdown === 'number' && timeoutGracefulShutdown >= 0 && Number.isFinite(timeoutGracefulShutdown))) {
    optionError('timeoutGracefulShutdown', 'null or a non-negative number of seconds', timeoutGracefulShutdown);
  }
  const accessLog = o.accessLog ?? true;
  if (typeof accessLog !== 'boolean') optionError('accessLog', 'a boolean', accessLog);
  const logLevel = o.logLevel ?? 'info';
  if (!isLogLevel(logLevel)) optionError('logLevel', LOG_LEVELS.join(', '), logLevel);
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.error !== 'function')) {
    optionError('logger', 'a Logger object', o.logger);
  }
  const logFormat = o.logFormat ?? 'text';
  if (!(LOG_FORMATS as readonly unknown[]).includes(logFormat)) optionError('logFormat', LOG_FORMATS.map((f) => `'${f}'`).join(' or '), logFormat);
  const useColors = o.useColors ?? null;
  if (useColors !== null && typeof useColors !== 'boolean') optionError('useColors', 'null or a boolean', useColors);
  const serverHeader = o.serverHeader ?? true;
  if (typeof serverHeader !== 'boolean') optionError('serverHeader', 'a boolean', serverHeader);
  const dateHeader = o.dateHeader ?? true;
  if (typeof dateHeader !== 'boolean') optionError('dateHeader', 'a boolean', dateHeader);
  if (!dateHeader && rules.dateHeaderAlways !== undefined) optionError('dateHeader', `true (${rules.dateHeaderAlways})`, dateHeader);
  const defaultHeaders = resolveHeaders(o.headers ?? [], serverHeader);
  const tls = resolveTlsOptions(o);
  return {
    host, port, uds, fd, backlog, rootPath, proxyHeaders, forwardedAllowIps, trustedHosts: trusted,
    limitMaxBodySize, h11MaxIncompleteEventSize, timeoutKeepAlive, timeoutGracefulShutdown, accessLog, logLevel, logFormat, useColors, defaultHeaders, dateHeader, tls,
  };
}

/** uvicorn's --lifespan: `auto` runs it and tolerates an app that does not speak it. */
export type LifespanMode = 'auto' | 'on' | 'off';

/** The options of a server's `workers: N` > 1 (worker processes or threads), gunicorn's and uvicorn's. */
export interface WorkerServeOptions {
  /** Requests each worker serves before a fresh one replaces it, one at a time (gunicorn's --max-requests); null: never (default). Needs workers > 1. */
  limitMaxRequests?: number | null;
  /** Seconds a worker's event loop may go without sending a heartbeat before the worker is replaced; default 5 (uvicorn's --timeout-worker-healthcheck). */
  timeoutWorkerHealthcheck?: number;
}

/** WorkerServeOptions after defaults and validation. */
export interface ResolvedWorkerOptions {
  limitMaxRequests: number | null;
  timeoutWorkerHealthcheck: number;
}

/** The names of WorkerServeOptions. */
export const WORKER_OPTION_NAMES: readonly string[] = ['limitMaxRequests', 'timeoutWorkerHealthcheck'];

/** Applies defaults to WorkerServeOptions and validates them against the number of workers (and the inherited socket, `fd`). */
export function resolveWorkerOptions(o: WorkerServeOptions, workers: number, fd: number | null = null): ResolvedWorkerOptions {
  // Each worker binds its own listener; an inherited socket is one listener for one process.
  if (fd !== null && workers > 1) throw OptionError.conflict('fd', fd, ` needs workers 1 (an inherited socket is served by one process); got workers ${workers}`);
  const limitMaxRequests = o.limitMaxRequests ?? null;
  if (limitMaxRequests !== null) {
    if (!(Number.isSafeInteger(limitMaxRequests) && limitMaxRequests >= 1)) optionError('limitMaxRequests', 'null or a positive integer', limitMaxRequests);
    // A single server cannot replace itself: whoever runs it stops it (the CLI exits, for its process manager).
    if (workers === 1) throw OptionError.conflict('limitMaxRequests', limitMaxRequests, ' needs workers > 1 (each worker is replaced after that many requests)');
  }
  const timeoutWorkerHealthcheck = o.timeoutWorkerHealthcheck ?? 5;
  if (!(typeof timeoutWorkerHealthcheck === 'number' && timeoutWorkerHealthcheck > 0 && timeoutWorkerHealthcheck <= MAX_TIMER_S)) {
    optionError('timeoutWorkerHealthcheck', `a number of seconds above 0, at most ${MAX_TIMER_S}`, timeoutWorkerHealthcheck);
  }
  return { limitMaxRequests, timeoutWorkerHealthcheck };
}

/** The options of the event-loop servers of ASGI-TS apps (@tsgi/uws, @tsgi/node). */
export interface AsgiServeOptions extends CommonServeOptions, WorkerServeOptions {
  /** Most requests and WebSockets in flight at once; past it the server answers 503. null: no limit (default). */
  limitConcurrency?: number | null;
  /** Lifespan protocol: 'auto' (default), 'on' or 'off'. */
  lifespan?: LifespanMode;
  /** Largest incoming WebSocket message; default 16 MiB (uvicorn's 16777216). */
  wsMaxSize?: number;
  /** Seconds between server pings on an idle WebSocket; null or 0 disables; default 20. */
  wsPingInterval?: number | null;
  /** Seconds to wait for the pong before closing; null or 0 disables; default 20. */
  wsPingTimeout?: number | null;
  /** Event loops serving the app, each importing it (needs a ModuleRef); default 1 (the calling thread). */
  workers?: number;
}

/** AsgiServeOptions after defaults and validation. */
export interface ResolvedAsgiOptions extends ResolvedCommonOptions, ResolvedWorkerOptions {
  limitConcurrency: number | null;
  lifespan: LifespanMode;
  wsMaxSize: number;
  wsPingInterval: number | null;
  wsPingTimeout: number | null;
  workers: number;
}

/** The names of AsgiServeOptions. */
export const ASGI_OPTION_NAMES: readonly string[] = [
  ...COMMON_OPTION_NAMES, 'limitConcurrency', 'lifespan', 'wsMaxSize', 'wsPingInterval', 'wsPingTimeout', 'workers', ...WORKER_OPTION_NAMES,
];

/** Largest WebSocket message any tsgi server takes (uWebSockets.js keeps it in a signed 32-bit int). */
export const MAX_WS_MAX_SIZE = 2 ** 31 - 1;

/** Applies defaults to AsgiServeOptions and validates them (plus `extra` option names the transport checks itself). */
export function resolveAsgiOptions(options: unknown, rules: TransportRules, extra: readonly string[] = []): ResolvedAsgiOptions {
  const common = resolveCommonOptions(options, new Set([...ASGI_OPTION_NAMES, ...extra]), rules);
  const o = options as AsgiServeOptions;
  const limitConcurrency = o.limitConcurrency ?? null;
  if (limitConcurrency !== null && !(Number.isSafeInteger(limitConcurrency) && limitConcurrency >= 1)) {
    optionError('limitConcurrency', 'null or a positive integer', limitConcurrency);
  }
  const lifespan = o.lifespan ?? 'auto';
  if (lifespan !== 'auto' && lifespan !== 'on' && lifespan !== 'off') optionError('lifespan', "'auto', 'on' or 'off'", lifespan);
  const wsMaxSize = o.wsMaxSize ?? 16 * 1024 * 1024;
  if (!Number.isInteger(wsMaxSize) || wsMaxSize < 1 || wsMaxSize > MAX_WS_MAX_SIZE) optionError('wsMaxSize', `an integer from 1 to ${MAX_WS_MAX_SIZE}`, wsMaxSize);
  const wsPingInterval = seconds('wsPingInterval', o.wsPingInterval, 20);
  const wsPingTimeout = seconds('wsPingTimeout', o.wsPingTimeout, 20);
  const workers = o.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 256) optionError('workers', 'an integer from 1 to 256', workers);
  return { ...common, limitConcurrency, lifespan, wsMaxSize, wsPingInterval, wsPingTimeout, workers, ...resolveWorkerOptions(o, workers, common.fd) };
}

// WebSocket ping times run on JS timers: null/0 disable; otherwise at most what setTimeout can wait (2^31 - 1 ms).
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);
function seconds(name: string, v: number | null | undefined, dflt: number): number | null {
  if (v === undefined) return dflt;
  if (v === null || v === 0) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIMER_S) {
    optionError(name, `null, 0, or a positive number of seconds up to ${MAX_TIMER_S}`, v);
  }
  return v;
}
