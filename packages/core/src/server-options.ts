/**
 * The options every tsgi server takes (where to listen, the mount point,
 * trusted proxies, body limit, graceful shutdown, access log), validated once
 * here so @tsgi/uws and @tsgi/pool refuse bad values with the same words.
 */
import { describe } from './bytes.js';
import { parseTrustedHosts, type TrustedHosts } from './proxy-headers.js';

/** The options both servers share, as a caller passes them. */
export interface CommonServeOptions {
  host?: string;
  port?: number;
  uds?: string | null;
  rootPath?: string;
  proxyHeaders?: boolean;
  forwardedAllowIps?: string | string[];
  limitMaxBodySize?: number | null;
  timeoutGracefulShutdown?: number | null;
  accessLog?: boolean;
}

/** The shared options with defaults applied and checked. */
export interface ResolvedCommonOptions {
  host: string;
  port: number;
  uds: string | null;
  rootPath: string;
  proxyHeaders: boolean;
  /** forwardedAllowIps as given (or from FORWARDED_ALLOW_IPS, default '127.0.0.1'). */
  forwardedAllowIps: string | string[];
  /** The parsed allow-list; null when proxyHeaders is off. */
  trustedHosts: TrustedHosts | null;
  limitMaxBodySize: number | null;
  timeoutGracefulShutdown: number | null;
  accessLog: boolean;
}

/** Throws the TypeError every server uses for a bad option: its name, what it must be, and the value. */
export function optionError(name: string, what: string, value: unknown): never {
  throw new TypeError(`serve(): option '${name}' must be ${what}; got ${describe(value)}`);
}

/**
 * Checks that `options` is an object with only `known` keys, then applies the
 * defaults of the shared options and validates them. `rootPathMayEndWithSlash`
 * keeps each server's existing rule for a trailing '/' in rootPath.
 */
export function resolveCommonOptions(
  options: unknown,
  known: ReadonlySet<string>,
  rules: { rootPathMayEndWithSlash: boolean },
): ResolvedCommonOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`serve(): options must be an object; got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`serve(): unknown option ${JSON.stringify(key)}`);
  }
  const o = options as CommonServeOptions;
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '' || /[\s/]/.test(host)) optionError('host', 'a host name or IP address', host);
  const port = o.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) optionError('port', 'an integer from 0 to 65535', port);
  const uds = o.uds ?? null;
  if (uds !== null && (typeof uds !== 'string' || uds === '' || uds.includes('\0'))) optionError('uds', 'a unix socket path', uds);
  const rootPath = o.rootPath ?? '';
  if (typeof rootPath !== 'string' || (rootPath !== '' && !rootPath.startsWith('/')) || /[?#]/.test(rootPath)) {
    optionError('rootPath', rootPathRule(rules), rootPath);
  }
  if (!rules.rootPathMayEndWithSlash && rootPath.endsWith('/')) optionError('rootPath', rootPathRule(rules), rootPath);
  const proxyHeaders = o.proxyHeaders ?? true;
  if (typeof proxyHeaders !== 'boolean') optionError('proxyHeaders', 'a boolean', proxyHeaders);
  const allow = o.forwardedAllowIps ?? process.env.FORWARDED_ALLOW_IPS ?? '127.0.0.1';
  if (typeof allow !== 'string' && !(Array.isArray(allow) && allow.every((s) => typeof s === 'string'))) {
    optionError('forwardedAllowIps', 'a string or an array of strings', allow);
  }
  const trusted = parseTrustedHosts(allow);
  const limitMaxBodySize = o.limitMaxBodySize ?? null;
  if (limitMaxBodySize !== null && !(Number.isSafeInteger(limitMaxBodySize) && limitMaxBodySize >= 0)) {
    optionError('limitMaxBodySize', 'null or a non-negative integer (bytes)', limitMaxBodySize);
  }
  const timeoutGracefulShutdown = o.timeoutGracefulShutdown ?? null;
  if (timeoutGracefulShutdown !== null && !(typeof timeoutGracefulShutdown === 'number' && timeoutGracefulShutdown >= 0 && Number.isFinite(timeoutGracefulShutdown))) {
    optionError('timeoutGracefulShutdown', 'null or a non-negative number of seconds', timeoutGracefulShutdown);
  }
  const accessLog = o.accessLog ?? true;
  if (typeof accessLog !== 'boolean') optionError('accessLog', 'a boolean', accessLog);
  return {
    host, port, uds, rootPath, proxyHeaders, forwardedAllowIps: allow, trustedHosts: proxyHeaders ? trusted : null,
    limitMaxBodySize, timeoutGracefulShutdown, accessLog,
  };
}

/** The rootPath rule in words, with the spec clauses it comes from: it is the ASGI root_path and the WSGI SCRIPT_NAME. */
function rootPathRule(rules: { rootPathMayEndWithSlash: boolean }): string {
  const clauses = '(root_path, asgi.http.scope.9; SCRIPT_NAME, wsgi.environ.path.1)';
  return rules.rootPathMayEndWithSlash
    ? `'' or a path starting with '/' (no '?' or '#') ${clauses}`
    : `'' or a path starting (and not ending) with '/', without '?' or '#' ${clauses}`;
}
