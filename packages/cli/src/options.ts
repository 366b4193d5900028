/**
 * The flags of `tsgi serve`: one table that drives parsing, validation and
 * `--help`, so the three never drift apart. Each flag means what uvicorn's
 * flag of the same name means; units are uvicorn's (seconds, bytes).
 */
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { INTERFACE_RULES } from './detect-interface.js';

export const LOG_LEVELS = ['critical', 'error', 'warning', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const INTERFACES = ['auto', 'asgi', 'wsgi', 'fetch'] as const;
export type InterfaceChoice = (typeof INTERFACES)[number];
export const SERVERS = ['uws', 'node', 'pool'] as const;
export type ServerChoice = (typeof SERVERS)[number];
export const LIFESPAN_MODES = ['auto', 'on', 'off'] as const;
export type LifespanMode = (typeof LIFESPAN_MODES)[number];

/** Everything `tsgi serve` was asked to do, validated, in uvicorn's units. */
export interface ServeConfig {
  /** `<file>[:<export>]` as given. */
  app: string;
  host: string;
  port: number;
  uds: string | undefined;
  /** undefined: the default for the app's interface (uws for ASGI and fetch, pool for WSGI). */
  server: ServerChoice | undefined;
  interface: InterfaceChoice;
  workers: number;
  /**
   * Where `workers` came from. An explicit --workers that cannot apply is refused; $WEB_CONCURRENCY
   * is only a default (as in uvicorn and gunicorn), so one that cannot apply is ignored with a warning.
   */
  workersFrom: 'flag' | 'WEB_CONCURRENCY' | 'default';
  /** Worker threads for sync (WSGI) apps; undefined: the pool's default. */
  threads: number | undefined;
  rootPath: string;
  proxyHeaders: boolean;
  forwardedAllowIps: string[];
  limitConcurrency: number | undefined;
  limitMaxRequests: number | undefined;
  /** Seconds; undefined: the server's default. */
  timeoutKeepAlive: number | undefined;
  /** Seconds; undefined: wait for in-flight requests without a limit. */
  timeoutGracefulShutdown: number | undefined;
  /** Bytes. */
  wsMaxSize: number;
  /** Seconds; 0 disables pings. */
  wsPingInterval: number;
  /** Seconds. */
  wsPingTimeout: number;
  /** permessage-deflate on WebSocket connections (--server node only). */
  wsPerMessageDeflate: boolean;
  lifespan: LifespanMode;
  accessLog: boolean;
  logLevel: LogLevel;
}

type Kind = 'string' | 'boolean';
interface FlagSpec {
  name: string;
  kind: Kind;
  metavar?: string;
  help: string;
}

/** The flags in the order `--help` lists them. */
const FLAGS: readonly FlagSpec[] = [
  { name: 'host', kind: 'string', metavar: 'TEXT', help: 'Bind socket to this host. [default: 127.0.0.1]' },
  { name: 'port', kind: 'string', metavar: 'INTEGER', help: 'Bind socket to this port; 0 picks a free one. [default: 8000]' },
  { name: 'uds', kind: 'string', metavar: 'PATH', help: 'Bind to a UNIX domain socket instead of host and port.' },
  { name: 'server', kind: 'string', metavar: 'uws|node|pool', help: 'Server: uws (event loop on uWebSockets.js, the fast one), node (event loop on node:http and ws, the strict one: HTTP/1.0, any method llhttp knows, proxies at their defaults) or pool (thread pool, for WSGI-TS apps). [default: uws for ASGI/fetch, pool for WSGI]' },
  { name: 'interface', kind: 'string', metavar: 'auto|asgi|wsgi|fetch', help: 'Application interface; auto decides from the export (see below). [default: auto]' },
  { name: 'workers', kind: 'string', metavar: 'INTEGER', help: 'Number of event loops (uws: worker threads sharing the port). [default: $WEB_CONCURRENCY or 1]' },
  { name: 'threads', kind: 'string', metavar: 'INTEGER', help: 'Worker threads that run a WSGI-TS app (pool server, or the bridge under uws). [default: the pool\'s]' },
  { name: 'root-path', kind: 'string', metavar: 'TEXT', help: 'Set the ASGI root_path (WSGI SCRIPT_NAME) for an app mounted below a path prefix. [default: ""]' },
  { name: 'proxy-headers', kind: 'boolean', help: 'Trust X-Forwarded-For, X-Forwarded-Proto and Forwarded from --forwarded-allow-ips to set client and scheme. [default]' },
  { name: 'no-proxy-headers', kind: 'boolean', help: 'Ignore those headers.' },
  { name: 'forwarded-allow-ips', kind: 'string', metavar: 'TEXT', help: 'Comma-separated IPs or CIDRs to trust with proxy headers, or "*". [default: $FORWARDED_ALLOW_IPS or 127.0.0.1]' },
  { name: 'limit-concurrency', kind: 'string', metavar: 'INTEGER', help: 'Maximum number of concurrent connections or tasks before answering 503.' },
  { name: 'limit-max-requests', kind: 'string', metavar: 'INTEGER', help: 'Maximum number of requests to serve before shutting down gracefully (for use under a process manager).' },
  { name: 'timeout-keep-alive', kind: 'string', metavar: 'SECONDS', help: 'Close keep-alive connections idle for this long. [default: the server\'s; node and pool: 5; uws: 10, the only idle time uWebSockets.js v20.30 has, or 0 for no keep-alive]' },
  { name: 'timeout-graceful-shutdown', kind: 'string', metavar: 'SECONDS', help: 'Maximum time to wait for in-flight requests on shutdown. [default: no limit]' },
  { name: 'ws-max-size', kind: 'string', metavar: 'BYTES', help: 'WebSocket maximum message size; larger messages close the connection with 1009. [default: 16777216]' },
  { name: 'ws-ping-interval', kind: 'string', metavar: 'SECONDS', help: 'WebSocket ping interval; 0 disables pings. [default: 20]' },
  { name: 'ws-ping-timeout', kind: 'string', metavar: 'SECONDS', help: 'WebSocket ping timeout: a peer that does not answer a ping in time is dropped (1006). [default: 20]' },
  { name: 'ws-per-message-deflate', kind: 'boolean', help: 'Offer permessage-deflate compression on WebSocket connections (node server only). [default: off]' },
  { name: 'lifespan', kind: 'string', metavar: 'auto|on|off', help: 'Lifespan protocol: auto (use it if the app supports it), on (required), off. [default: auto]' },
  { name: 'access-log', kind: 'boolean', help: 'Log one line per request. [default]' },
  { name: 'no-access-log', kind: 'boolean', help: 'Disable the access log.' },
  { name: 'log-level', kind: 'string', metavar: 'LEVEL', help: `Log level: ${LOG_LEVELS.join('|')}. [default: info]` },
  { name: 'help', kind: 'boolean', help: 'Show this message and exit.' },
];

/** The text of `tsgi serve --help`. */
export function serveUsage(): string {
  const rows = FLAGS.map((f) => [`--${f.name}${f.metavar ? ` ${f.metavar}` : ''}`, f.help] as const);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = [
    'Usage: tsgi serve [OPTIONS] <file>[:<export>]',
    '',
    'Serve the app exported as <export> (default: app; "default" for a default export)',
    'from a .ts or .js module.',
    '',
    'Options:',
    ...rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`),
    '',
    'Interface detection (--interface auto):',
    ...INTERFACE_RULES.map((rule) => `  - ${rule}`),
  ];
  return lines.join('\n');
}

/** The text of `tsgi --help`. */
export function mainUsage(): string {
  return [
    'Usage: tsgi <command> [OPTIONS]',
    '',
    'Commands:',
    '  serve <file>[:<export>]   Serve an ASGI-TS, WSGI-TS or fetch app (tsgi serve --help)',
    '',
    'Options:',
    '  --version                 Show the version and exit.',
    '  --help                    Show this message and exit.',
  ].join('\n');
}

/** Parses and validates the arguments after `serve`; `help` is true when --help was given. */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true } | { help: false; config: ServeConfig } {
  const options = Object.fromEntries(FLAGS.map((f) => [f.name, { type: f.kind }])) as Record<string, { type: Kind }>;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(parseErrorMessage(e));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true };
  if (parsed.positionals.length !== 1) {
    throw new CliError(
      parsed.positionals.length === 0
        ? 'missing the app: tsgi serve <file>[:<export>]'
        : `expected one app, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
    );
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const flag = (name: string): boolean => values[name] === true;
  if (flag('proxy-headers') && flag('no-proxy-headers')) throw new CliError('--proxy-headers and --no-proxy-headers contradict each other');
  if (flag('access-log') && flag('no-access-log')) throw new CliError('--access-log and --no-access-log contradict each other');

  const uds = str('uds');
  if (uds !== undefined && uds === '') throw new CliError('--uds needs a path');
  const workersFlag = str('workers');
  const concurrency = workersFlag === undefined ? webConcurrency(env) : undefined;
  const config: ServeConfig = {
    app: parsed.positionals[0]!,
    host: str('host') ?? '127.0.0.1',
    port: integer('--port', str('port') ?? '8000', 0, 65535),
    uds,
    server: choice('--server', str('server'), SERVERS),
    interface: choice('--interface', str('interface'), INTERFACES) ?? 'auto',
    workers: workersFlag !== undefined ? integer('--workers', workersFlag, 1) : (concurrency ?? 1),
    workersFrom: workersFlag !== undefined ? 'flag' : concurrency !== undefined ? 'WEB_CONCURRENCY' : 'default',
    threads: optional(str('threads'), (v) => integer('--threads', v, 1)),
    rootPath: rootPath(str('root-path') ?? ''),
    proxyHeaders: !flag('no-proxy-headers'),
    forwardedAllowIps: ipList(str('forwarded-allow-ips') ?? env.FORWARDED_ALLOW_IPS ?? '127.0.0.1'),
    limitConcurrency: optional(str('limit-concurrency'), (v) => integer('--limit-concurrency', v, 1)),
    limitMaxRequests: optional(str('limit-max-requests'), (v) => integer('--limit-max-requests', v, 1)),
    timeoutKeepAlive: optional(str('timeout-keep-alive'), (v) => seconds('--timeout-keep-alive', v)),
    timeoutGracefulShutdown: optional(str('timeout-graceful-shutdown'), (v) => seconds('--timeout-graceful-shutdown', v)),
    wsMaxSize: integer('--ws-max-size', str('ws-max-size') ?? String(16 * 1024 * 1024), 1),
    wsPingInterval: seconds('--ws-ping-interval', str('ws-ping-interval') ?? '20'),
    wsPingTimeout: seconds('--ws-ping-timeout', str('ws-ping-timeout') ?? '20'),
    wsPerMessageDeflate: flag('ws-per-message-deflate'),
    lifespan: choice('--lifespan', str('lifespan'), LIFESPAN_MODES) ?? 'auto',
    accessLog: !flag('no-access-log'),
    logLevel: choice('--log-level', str('log-level'), LOG_LEVELS) ?? 'info',
  };
  if (config.host === '') throw new CliError('--host needs a value');
  return { help: false, config };
}

/**
 * $WEB_CONCURRENCY as a number of workers, or undefined when it is unset (or empty, as a shell's
 * `WEB_CONCURRENCY=` leaves it). Read only when --workers is not given, as uvicorn does.
 */
function webConcurrency(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.WEB_CONCURRENCY;
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new CliError(`WEB_CONCURRENCY must be a positive integer (the default number of --workers); got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The flag that sets each server option, derived from FLAGS (`timeoutKeepAlive` → `--timeout-keep-alive`). */
const FLAG_OF_OPTION: ReadonlyMap<string, string> = new Map(
  FLAGS.filter((f) => f.name !== 'help' && !f.name.startsWith('no-')).map((f) => [f.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), `--${f.name}`]),
);

/** The `--flag` a user types for a serve() option name, or undefined for an option no flag sets. */
export function flagOfOption(option: string): string | undefined {
  return FLAG_OF_OPTION.get(option);
}

/** node:util's parse errors, cut to the part that names the problem. */
function parseErrorMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown }).code;
  const option = /'([^']+)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}; see tsgi serve --help`;
  return message.split('\n')[0]!;
}

function optional<T>(value: string | undefined, parse: (v: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

function integer(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim())) throw new CliError(`${flag} must be a whole number; got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new CliError(`${flag} must be between ${min} and ${max}; got ${value}`);
  return n;
}

function seconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(`${flag} must be a number of seconds >= 0; got ${JSON.stringify(value)}`);
  return n;
}

function choice<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`${flag} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  return value as T;
}

function rootPath(value: string): string {
  if (value !== '' && (!value.startsWith('/') || value.endsWith('/'))) {
    throw new CliError(`--root-path must start with "/" and not end with "/" (e.g. /api): it is root_path (asgi.http.scope.9) and SCRIPT_NAME (wsgi.environ.path.1); got ${JSON.stringify(value)}`);
  }
  return value;
}

function ipList(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new CliError(`--forwarded-allow-ips needs at least one address; got ${JSON.stringify(value)}`);
  return items;
}
