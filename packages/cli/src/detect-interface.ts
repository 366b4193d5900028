/**
 * `--interface auto`: tells from an exported value whether it is an ASGI-TS
 * app, a WSGI-TS app or a fetch handler. JavaScript functions carry no
 * signature at run time, so the rule looks only at what it can see: a
 * `fetch` method, whether the function is `async`, and its declared
 * parameter count (`Function.length`).
 */

/** The interfaces the CLI can host. */
export type AppInterface = 'asgi' | 'wsgi' | 'fetch';

/** The rule, in order, as written in `--help` and docs/cli.md. */
export const INTERFACE_RULES: readonly string[] = [
  'an object (or function) with a fetch() method, e.g. a Hono app or `export default { fetch }`: fetch',
  'an async function: ASGI-TS (a WSGI-TS app is synchronous)',
  'a function declaring 3 parameters (scope, receive, send): ASGI-TS',
  'a function declaring 2 parameters (environ, start_response): WSGI-TS',
  'anything else: an error; name the interface with --interface asgi|wsgi|fetch',
  'parameters with default values and rest parameters are not counted by Function.length: use --interface then',
];

/** Why a value could not be classified: a one-line explanation for the user. */
export type Detection = { ok: true; interface: AppInterface } | { ok: false; reason: string };

/** True if `value` has a callable `fetch` (a fetch-style handler object). */
export function hasFetchMethod(value: unknown): value is { fetch: (request: Request) => unknown } {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { fetch?: unknown }).fetch === 'function';
}

/** Applies INTERFACE_RULES to an exported value. */
export function detectInterface(value: unknown): Detection {
  if (hasFetchMethod(value)) return { ok: true, interface: 'fetch' };
  if (typeof value !== 'function') {
    return { ok: false, reason: `is not an app: expected a function or an object with a fetch() method, got ${describeValue(value)}` };
  }
  if (isAsyncFunction(value)) return { ok: true, interface: 'asgi' };
  if (value.length === 3) return { ok: true, interface: 'asgi' };
  if (value.length === 2) return { ok: true, interface: 'wsgi' };
  return {
    ok: false,
    reason: `is a function declaring ${value.length} parameter${value.length === 1 ? '' : 's'}, so its interface cannot be told (ASGI-TS apps take 3, WSGI-TS apps 2): pass --interface asgi|wsgi|fetch`,
  };
}

/** Checks that a value can be served as `wanted` when --interface names it explicitly. */
export function checkInterface(value: unknown, wanted: AppInterface): Detection {
  if (wanted === 'fetch') {
    if (hasFetchMethod(value) || typeof value === 'function') return { ok: true, interface: 'fetch' };
    return { ok: false, reason: `is not a fetch handler: expected a function or an object with a fetch() method, got ${describeValue(value)}` };
  }
  if (typeof value !== 'function') return { ok: false, reason: `is not an ${wanted.toUpperCase()}-TS app: expected a function, got ${describeValue(value)}` };
  return { ok: true, interface: wanted };
}

function isAsyncFunction(fn: Function): boolean {
  const tag = Object.prototype.toString.call(fn);
  return tag === '[object AsyncFunction]';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object without a fetch() method';
  return `a ${typeof value}`;
}
