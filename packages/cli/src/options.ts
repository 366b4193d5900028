/**
 * The flags of `tsgi serve`: one table that drives parsing, validation and
 * `--help`, so the three never drift apart. Each flag means what uvicorn's
 * flag of the same name means; units are uvicorn's (seconds, bytes).
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
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
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * What --reload watches when no --reload-include is given: the source files a TypeScript or
 * JavaScript app is made of (uvicorn's is `*.py`). Not `*.json`: an app that writes a JSON file
 * beside its code (a small store, a cache) would restart itself at every write.
 */
export const RELOAD_INCLUDES: readonly string[] = ['*.ts', '*.mts', '*.cts', '*.tsx', '*.js', '*.mjs', '*.cjs'];
/**
 * What --reload never watches unless an --reload-include names the same pattern: dotfiles and dot
 * directories (.git), editor backups, and installed packages (uvicorn's `.*`, `~*`, and the
 * directories its watcher skips).
 */
export const RELOAD_EXCLUDES: readonly string[] = ['.*', '*~', '~*', 'node_modules'];

/** Seconds of quiet after the last change before --reload restarts, by default (uvicorn's --reload-delay): a save or a `git checkout` is many changes. */
export const RELOAD_DELAY_S = 0.25;

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
  /** Seconds a worker's event loop may go without a heartbeat before it is replaced (workers > 1). */
  timeoutWorkerHealthcheck: number;
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
  /** A listening socket's file descriptor to serve on instead of host/port. */
  fd: number | undefined;
  /** listen()'s backlog; undefined: the server's default (2048; uws: 512). */
  backlog: number | undefined;
  /** Largest request head in bytes; undefined: the server's default (16384). */
  h11MaxIncompleteEventSize: number | undefined;
  /** permessage-deflate on WebSocket connections (--server node only). */
  wsPerMessageDeflate: boolean;
  /** Unreceived WebSocket messages past which reading stops (--server node only); undefined: the server's default. */
  wsMaxQueue: number | undefined;
  /** HTTP/2 by ALPN and h2c (--server node only); undefined: the server's default (on). */
  http2: boolean | undefined;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (--server node only); undefined: the server's default. */
  h2MaxConcurrentStreams: number | undefined;
  /** HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE in bytes (--server node only); undefined: the server's default. */
  h2MaxHeaderListSize: number | undefined;
  lifespan: LifespanMode;
  accessLog: boolean;
  logLevel: LogLevel;
  /** The directory the app's module path is resolved from (uvicorn's --app-dir); '.' is the working directory. */
  appDir: string;
  /** The export is a function returning the app. */
  factory: boolean;
  /** Run a supervisor that restarts the server when a watched file changes. */
  reload: boolean;
  /** Directories to watch, as given; empty: the working directory (and the app's directory when outside it). */
  reloadDir: string[];
  /** Glob patterns of the files whose changes reload: RELOAD_INCLUDES with --reload-include's added (and --reload-exclude's taken out). */
  reloadInclude: string[];
  /** Glob patterns never watched: RELOAD_EXCLUDES with --reload-exclude's added (and --reload-include's taken out). */
  reloadExclude: string[];
  /** Seconds of quiet after the last change before --reload restarts (uvicorn's --reload-delay). */
  reloadDelay: number;
  /** The dotenv file given, or undefined. */
  envFile: string | undefined;
  /** Its variables (those of the environment win, as with node --env-file); set into process.env before the app loads. */
  envFileValues: Record<string, string>;
  /** The JSON logging file given, or undefined (see readLogConfig()). */
  logConfig: string | undefined;
  logFormat: LogFormat;
  /** Color the log levels; undefined: when the output is a terminal. */
  useColors: boolean | undefined;
  /** --header name:value, in order. */
  header: Array<[string, string]>;
  serverHeader: boolean;
  dateHeader: boolean;
  /** The --ssl-* flags (uvicorn's), as serve() takes them; no --ssl-certfile: plain HTTP. */
  sslKeyfile: string | undefined;
  sslCertfile: string | undefined;
  sslKeyfilePassword: string | undefined;
  sslCaCerts: string | undefined;
  /** 0 no client certificate, 1 optional, 2 required (Python's ssl.CERT_*). */
  sslCertReqs: 0 | 1 | 2;
  sslCiphers: string | undefined;
}

/** The --ssl-* part of ServeConfig. */
export type TlsFlags = Pick<ServeConfig, 'sslKeyfile' | 'sslCertfile' | 'sslKeyfilePassword' | 'sslCaCerts' | 'sslCertReqs' | 'sslCiphers'>;

type Kind = 'string' | 'boolean';
interface FlagSpec {
  name: string;
  kind: Kind;
  metavar?: string;
  help: string;
  /** Repeatable: every value is kept. */
  multiple?: boolean;
}

/** The flags in the order `--help` lists them. */
const FLAGS: readonly FlagSpec[] = [
  { name: 'host', kind: 'string', metavar: 'TEXT', help: 'Bind socket to this host. [default: 127.0.0.1]' },
  { name: 'port', kind: 'string', metavar: 'INTEGER', help: 'Bind socket to this port; 0 picks a free one. [default: 8000]' },
  { name: 'uds', kind: 'string', metavar: 'PATH', help: 'Bind to a UNIX domain socket instead of host and port.' },
  { name: 'server', kind: 'string', metavar: 'uws|node|pool', help: 'Server: uws (event loop on uWebSockets.js, the fast one), node (event loop on node:http and ws, the strict one: HTTP/1.0, any method llhttp knows, proxies at their defaults) or pool (thread pool, for WSGI-TS apps). [default: uws for ASGI/fetch, pool for WSGI]' },
  { name: 'interface', kind: 'string', metavar: 'auto|asgi|wsgi|fetch', help: 'Application interface; auto decides from the export (see below). [default: auto]' },
  { name: 'factory', kind: 'boolean', help: 'Treat the export as a function that takes no arguments and returns the app (sync or async); every worker thread calls it too.' },
  { name: 'app-dir', kind: 'string', metavar: 'TEXT', help: 'Resolve the app\'s module path from this directory. [default: the working directory]' },
  { name: 'env-file', kind: 'string', metavar: 'PATH', help: 'Load environment variables from this dotenv file before the app loads; variables already set win.' },
  { name: 'reload', kind: 'boolean', help: 'Restart the server when a watched file changes (development only).' },
  { name: 'reload-dir', kind: 'string', metavar: 'PATH', multiple: true, help: 'Directory to watch with --reload; repeatable. [default: the working directory, and the app\'s directory if outside it]' },
  { name: 'reload-include', kind: 'string', metavar: 'GLOB', multiple: true, help: `Glob of files to watch with --reload; repeatable; naming a default exclude removes it. [default: ${RELOAD_INCLUDES.join(', ')}]` },
  { name: 'reload-exclude', kind: 'string', metavar: 'GLOB', multiple: true, help: `Glob of files and directories never watched; repeatable; naming a default include removes it. [default: ${RELOAD_EXCLUDES.join(', ')}]` },
  { name: 'reload-delay', kind: 'string', metavar: 'SECONDS', help: `With --reload: quiet time after the last change before restarting (an editor's save or a git checkout is many changes). [default: ${RELOAD_DELAY_S}]` },
  { name: 'workers', kind: 'string', metavar: 'INTEGER', help: 'Number of worker event loops sharing the port (uws: threads; node and pool: processes, each pool process with its --threads). [default: $WEB_CONCURRENCY or 1]' },
  { name: 'threads', kind: 'string', metavar: 'INTEGER', help: 'Worker threads that run a WSGI-TS app (pool server, or the bridge under uws). [default: the pool\'s]' },
  { name: 'fd', kind: 'string', metavar: 'INTEGER', help: 'Serve on the listening socket already bound at this file descriptor (socket activation) instead of --host/--port (node and pool servers).' },
  { name: 'backlog', kind: 'string', metavar: 'INTEGER', help: 'Maximum number of connections waiting to be accepted (listen backlog). [default: 2048; uws: 512, the only one uWebSockets.js v20.30 has]' },
  { name: 'root-path', kind: 'string', metavar: 'TEXT', help: 'Set the ASGI root_path (WSGI SCRIPT_NAME) for an app mounted below a path prefix. [default: ""]' },
  { name: 'proxy-headers', kind: 'boolean', help: 'Trust X-Forwarded-For, X-Forwarded-Proto and Forwarded from --forwarded-allow-ips to set client and scheme. [default]' },
  { name: 'no-proxy-headers', kind: 'boolean', help: 'Ignore those headers.' },
  { name: 'forwarded-allow-ips', kind: 'string', metavar: 'TEXT', help: 'Comma-separated IPs or CIDRs to trust with proxy headers, or "*". [default: $FORWARDED_ALLOW_IPS or 127.0.0.1]' },
  { name: 'limit-concurrency', kind: 'string', metavar: 'INTEGER', help: 'Maximum number of concurrent connections or tasks before answering 503.' },
  { name: 'limit-max-requests', kind: 'string', metavar: 'INTEGER', help: 'Maximum number of requests to serve before shutting down gracefully (for use under a process manager); with --workers, per worker: a worker that reaches it is replaced by a fresh one.' },
  { name: 'h11-max-incomplete-event-size', kind: 'string', metavar: 'BYTES', help: 'Largest request head (request line and header fields); a larger one is answered 431. [default: 16384; uws: at most 65536]' },
  { name: 'timeout-keep-alive', kind: 'string', metavar: 'SECONDS', help: 'Close keep-alive connections idle for this long. [default: the server\'s; node and pool: 5; uws: 10, the only idle time uWebSockets.js v20.30 has, or 0 for no keep-alive]' },
  { name: 'timeout-graceful-shutdown', kind: 'string', metavar: 'SECONDS', help: 'Maximum time to wait for in-flight requests on shutdown. [default: no limit]' },
  { name: 'timeout-worker-healthcheck', kind: 'string', metavar: 'SECONDS', help: 'With --workers: a worker whose event loop sends no heartbeat for this long is replaced. [default: 5]' },
  { name: 'ws-max-size', kind: 'string', metavar: 'BYTES', help: 'WebSocket maximum message size; larger messages close the connection with 1009. [default: 16777216]' },
  { name: 'ws-ping-interval', kind: 'string', metavar: 'SECONDS', help: 'WebSocket ping interval; 0 disables pings. [default: 20]' },
  { name: 'ws-ping-timeout', kind: 'string', metavar: 'SECONDS', help: 'WebSocket ping timeout: a peer that does not answer a ping in time is dropped (1006). [default: 20]' },
  { name: 'ws-max-queue', kind: 'string', metavar: 'INTEGER', help: 'WebSocket messages received and not yet taken by the app past which the server stops reading the socket (node server only). [default: 32]' },
  { name: 'ws-per-message-deflate', kind: 'boolean', help: 'Offer permessage-deflate compression on WebSocket connections (node server only). [default: off]' },
  { name: 'http2', kind: 'boolean', help: 'Serve HTTP/2 beside HTTP/1.x: h2 by ALPN over TLS, h2c with prior knowledge on plain TCP (node server only). [default]' },
  { name: 'no-http2', kind: 'boolean', help: 'Serve HTTP/1.x only: the HTTP/2 preface is answered 400 (node server).' },
  { name: 'h2-max-concurrent-streams', kind: 'string', metavar: 'INTEGER', help: 'HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; hypercorn\'s h2_max_concurrent_streams; node server only). [default: 100]' },
  { name: 'h2-max-header-list-size', kind: 'string', metavar: 'BYTES', help: 'Largest HTTP/2 header list accepted (SETTINGS_MAX_HEADER_LIST_SIZE; hypercorn\'s h2_max_header_list_size; node server only). [default: 65536]' },
  { name: 'lifespan', kind: 'string', metavar: 'auto|on|off', help: 'Lifespan protocol: auto (use it if the app supports it), on (required), off. [default: auto]' },
  { name: 'access-log', kind: 'boolean', help: 'Log one line per request. [default]' },
  { name: 'no-access-log', kind: 'boolean', help: 'Disable the access log.' },
  { name: 'log-level', kind: 'string', metavar: 'LEVEL', help: `Log level: ${LOG_LEVELS.join('|')}. [default: info]` },
  { name: 'log-config', kind: 'string', metavar: 'PATH', help: 'JSON logging configuration: {"level": …, "format": "text"|"json", "colors": …, "accessLog": …}; flags given win.' },
  { name: 'use-colors', kind: 'boolean', help: 'Color the log levels. [default: when the output is a terminal]' },
  { name: 'no-use-colors', kind: 'boolean', help: 'Never color the log.' },
  { name: 'header', kind: 'string', metavar: 'NAME:VALUE', multiple: true, help: 'Add this header to every response; repeatable. A "server" header replaces the default one.' },
  { name: 'server-header', kind: 'boolean', help: 'Add "server: tsgi" to every response. [default]' },
  { name: 'no-server-header', kind: 'boolean', help: 'Leave the server header out.' },
  { name: 'date-header', kind: 'boolean', help: 'Add a "date" header to every response. [default]' },
  { name: 'no-date-header', kind: 'boolean', help: 'Leave the date header out (node and pool servers: uWebSockets.js always writes it).' },
  { name: 'ssl-keyfile', kind: 'string', metavar: 'PATH', help: 'PEM private key file for TLS. [default: the key in --ssl-certfile]' },
  { name: 'ssl-certfile', kind: 'string', metavar: 'PATH', help: 'PEM certificate (chain) file: serve https and wss.' },
  { name: 'ssl-keyfile-password', kind: 'string', metavar: 'TEXT', help: 'Password of an encrypted --ssl-keyfile.' },
  { name: 'ssl-ca-certs', kind: 'string', metavar: 'PATH', help: 'PEM file of the CAs that client certificates are verified against.' },
  { name: 'ssl-cert-reqs', kind: 'string', metavar: '0|1|2', help: 'Client certificates: 0 not asked for, 1 optional, 2 required (as Python\'s ssl.CERT_*). [default: 0]' },
  { name: 'ssl-ciphers', kind: 'string', metavar: 'TEXT', help: 'OpenSSL cipher list for TLS 1.2 and below. [default: the TLS library\'s]' },
  { name: 'version', kind: 'boolean', help: 'Show the version and exit.' },
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

const PARSE_OPTIONS = Object.fromEntries(FLAGS.map((f) => [f.name, { type: f.kind, multiple: f.multiple === true }])) as Record<string, { type: Kind; multiple: boolean }>;

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: PARSE_OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw new CliError(parseErrorMessage(e));
  }
}

/**
 * The arguments of the server process a --reload supervisor starts: `argv` without the --reload
 * flags, and with `--port` set to `port` when given (the supervisor keeps one port across restarts).
 */
export function childServeArgs(argv: readonly string[], port?: number): string[] {
  const { tokens } = parse(argv);
  const out: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') out.push(t.value);
    else if (t.kind === 'option-terminator') out.push('--');
    else if (t.name === 'reload' || t.name.startsWith('reload-') || (port !== undefined && t.name === 'port')) continue;
    else if (t.value === undefined) out.push(t.rawName);
    else out.push(`${t.rawName}=${t.value}`);
  }
  if (port !== undefined) out.unshift(`--port=${port}`);
  return out;
}

/**
 * Parses and validates the arguments after `serve`. `help` is true when the command only prints
 * and exits: the usage for --help, the version for --version (then `version` is true too).
 */
export function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): { help: true; version?: true } | { help: false; config: ServeConfig } {
  const parsed = parse(argv);
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) return { help: true };
  if (values.version) return { help: true, version: true };
  if (parsed.positionals.length !== 1) {
    throw new CliError(
      parsed.positionals.length === 0
        ? 'missing the app: tsgi serve <file>[:<export>]'
        : `expected one app, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}`,
    );
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const list = (name: string): string[] => (values[name] as string[] | undefined) ?? [];
  const flag = (name: string): boolean => values[name] === true;
  for (const name of ['proxy-headers', 'access-log', 'use-colors', 'server-header', 'date-header', 'http2']) {
    if (flag(name) && flag(`no-${name}`)) throw new CliError(`--${name} and --no-${name} contradict each other`);
  }
  // The file is read first: it may set the variables read below ($WEB_CONCURRENCY, $FORWARDED_ALLOW_IPS), as in uvicorn.
  const envFile = str('env-file');
  const envFileValues = envFile === undefined ? {} : readEnvFile(envFile);
  env = { ...envFileValues, ...env };
  const logConfig = str('log-config');
  const fromFile = logConfig === undefined ? {} : readLogConfig(logConfig);
  const colorsFlag = flag('use-colors') ? true : flag('no-use-colors') ? false : undefined;
  const accessFlag = flag('access-log') ? true : flag('no-access-log') ? false : undefined;
  const reloadIncludes = list('reload-include');
  const reloadExcludes = list('reload-exclude');

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
    fd: optional(str('fd'), (v) => integer('--fd', v, 0)),
    backlog: optional(str('backlog'), (v) => integer('--backlog', v, 1)),
    rootPath: rootPath(str('root-path') ?? ''),
    proxyHeaders: !flag('no-proxy-headers'),
    forwardedAllowIps: ipList(str('forwarded-allow-ips') ?? env.FORWARDED_ALLOW_IPS ?? '127.0.0.1'),
    limitConcurrency: optional(str('limit-concurrency'), (v) => integer('--limit-concurrency', v, 1)),
    limitMaxRequests: optional(str('limit-max-requests'), (v) => integer('--limit-max-requests', v, 1)),
    h11MaxIncompleteEventSize: optional(str('h11-max-incomplete-event-size'), (v) => integer('--h11-max-incomplete-event-size', v, 1)),
    timeoutKeepAlive: optional(str('timeout-keep-alive'), (v) => seconds('--timeout-keep-alive', v)),
    timeoutGracefulShutdown: optional(str('timeout-graceful-shutdown'), (v) => seconds('--timeout-graceful-shutdown', v)),
    timeoutWorkerHealthcheck: positiveSeconds('--timeout-worker-healthcheck', str('timeout-worker-healthcheck') ?? '5'),
    wsMaxSize: integer('--ws-max-size', str('ws-max-size') ?? String(16 * 1024 * 1024), 1),
    wsPingInterval: seconds('--ws-ping-interval', str('ws-ping-interval') ?? '20'),
    wsPingTimeout: seconds('--ws-ping-timeout', str('ws-ping-timeout') ?? '20'),
    wsMaxQueue: optional(str('ws-max-queue'), (v) => integer('--ws-max-queue', v, 1)),
    wsPerMessageDeflate: flag('ws-per-message-deflate'),
    http2: flag('http2') ? true : flag('no-http2') ? false : undefined,
    // HTTP/2 SETTINGS values are 32-bit unsigned (RFC 9113 section 6.5.2).
    h2MaxConcurrentStreams: optional(str('h2-max-concurrent-streams'), (v) => integer('--h2-max-concurrent-streams', v, 1, 2 ** 32 - 1)),
    h2MaxHeaderListSize: optional(str('h2-max-header-list-size'), (v) => integer('--h2-max-header-list-size', v, 1, 2 ** 32 - 1)),
    lifespan: choice('--lifespan', str('lifespan'), LIFESPAN_MODES) ?? 'auto',
    accessLog: accessFlag ?? fromFile.accessLog ?? true,
    logLevel: choice('--log-level', str('log-level'), LOG_LEVELS) ?? fromFile.level ?? 'info',
    appDir: str('app-dir') ?? '.',
    factory: flag('factory'),
    reload: flag('reload'),
    reloadDir: list('reload-dir'),
    // As uvicorn: a pattern named in one list comes out of the other's defaults.
    reloadInclude: unique([...RELOAD_INCLUDES.filter((p) => !reloadExcludes.includes(p)), ...reloadIncludes]),
    reloadExclude: unique([...RELOAD_EXCLUDES.filter((p) => !reloadIncludes.includes(p)), ...reloadExcludes]),
    reloadDelay: seconds('--reload-delay', str('reload-delay') ?? String(RELOAD_DELAY_S)),
    envFile,
    envFileValues,
    logConfig,
    logFormat: fromFile.format ?? 'text',
    useColors: colorsFlag ?? fromFile.colors,
    header: list('header').map(headerPair),
    serverHeader: !flag('no-server-header'),
    dateHeader: !flag('no-date-header'),
    ...tlsFlags(str),
  };
  if (config.host === '') throw new CliError('--host needs a value');
  if (config.appDir === '') throw new CliError('--app-dir needs a directory');
  if (!isDirectory(resolve(config.appDir))) throw new CliError(`--app-dir must be a directory; got ${JSON.stringify(config.appDir)}`);
  for (const dir of config.reloadDir) {
    if (!isDirectory(resolve(dir))) throw new CliError(`--reload-dir must be a directory; got ${JSON.stringify(dir)}`);
  }
  return { help: false, config };
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `name:value` (uvicorn's --header) as a pair, both trimmed; the server checks the name and value. */
function headerPair(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new CliError(`--header must be name:value (e.g. "x-frame-options: DENY"); got ${JSON.stringify(text)}`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/** The variables of a dotenv file (node's parser: the format of node --env-file). */
function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`--env-file cannot be read: ${(e as Error).message}`);
  }
  return parseEnv(text) as Record<string, string>;
}

/** What a --log-config file may set; flags given on the command line win. */
export interface LogConfig {
  level?: LogLevel;
  format?: LogFormat;
  colors?: boolean;
  accessLog?: boolean;
}

/**
 * Reads a --log-config file: a JSON object with any of `level` (a --log-level value), `format`
 * ("text": uvicorn's lines; "json": one object per line), `colors` and `accessLog` (booleans).
 * Anything else is refused, naming the key.
 */
export function readLogConfig(path: string): LogConfig {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`--log-config ${JSON.stringify(path)} is not a readable JSON file: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new CliError(`--log-config ${JSON.stringify(path)} must hold a JSON object; got ${JSON.stringify(data)}`);
  const o = data as Record<string, unknown>;
  const config: LogConfig = {};
  for (const [key, value] of Object.entries(o)) {
    const where = `--log-config ${JSON.stringify(path)}: "${key}"`;
    if (key === 'level') {
      if (!(LOG_LEVELS as readonly unknown[]).includes(value)) throw new CliError(`${where} must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(value)}`);
      config.level = value as LogLevel;
    } else if (key === 'format') {
      if (!(LOG_FORMATS as readonly unknown[]).includes(value)) throw new CliError(`${where} must be one of ${LOG_FORMATS.join(', ')}; got ${JSON.stringify(value)}`);
      config.format = value as LogFormat;
    } else if (key === 'colors' || key === 'accessLog') {
      if (typeof value !== 'boolean') throw new CliError(`${where} must be true or false; got ${JSON.stringify(value)}`);
      config[key] = value;
    } else {
      throw new CliError(`${where} is not a setting; the settings are level, format, colors, accessLog`);
    }
  }
  return config;
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
const FLAG_OF_OPTION: ReadonlyMap<string, string> = new Map([
  ...FLAGS.filter((f) => f.name !== 'help' && !f.name.startsWith('no-')).map((f) => [f.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), `--${f.name}`] as const),
  ['headers', '--header'],
]);

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

function positiveSeconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new CliError(`${flag} must be a number of seconds > 0; got ${JSON.stringify(value)}`);
  return n;
}

/** The --ssl-* flags given (files are read and checked by serve(), which names the option a flag maps to). */
function tlsFlags(str: (name: string) => string | undefined): TlsFlags {
  const given = (flag: string): string | undefined => {
    const v = str(flag);
    if (v === '') throw new CliError(`--${flag} needs a value`);
    return v;
  };
  return {
    sslKeyfile: given('ssl-keyfile'),
    sslCertfile: given('ssl-certfile'),
    sslKeyfilePassword: given('ssl-keyfile-password'),
    sslCaCerts: given('ssl-ca-certs'),
    sslCertReqs: Number(choice('--ssl-cert-reqs', str('ssl-cert-reqs'), ['0', '1', '2'] as const) ?? '0') as 0 | 1 | 2,
    sslCiphers: given('ssl-ciphers'),
  };
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
