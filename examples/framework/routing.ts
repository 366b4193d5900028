/**
 * Route patterns and the route table, shared by the async app and the sync
 * views (nothing here knows about ASGI or WSGI). A pattern is a path whose
 * `:name` segments capture one path segment each: `/users/:id` matches
 * `/users/42` with `{ id: '42' }`. A trailing `*name` segment captures the
 * rest of the path, slashes included.
 */

/** The values captured by a route's `:name` segments. */
export type Params = Record<string, string>;

/** What looking a request up in a route table finds. */
export type RouteMatch<H> =
  | { kind: 'found'; handler: H; params: Params }
  /** The path exists but not for this method: the answer is 405 with an Allow header. */
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

interface Route<H> {
  method: string;
  pattern: string;
  regex: RegExp;
  names: string[];
  handler: H;
}

const SEGMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Compiles a pattern to an anchored regular expression; rejects malformed patterns when the route is declared, not at request time. */
export function compilePattern(pattern: string): { regex: RegExp; names: string[] } {
  if (!pattern.startsWith('/')) throw new TypeError(`route pattern must start with "/"; got ${JSON.stringify(pattern)}`);
  const names: string[] = [];
  const segments = pattern.split('/').slice(1);
  const parts = segments.map((segment, i) => {
    const sigil = segment[0];
    if (sigil === ':' || sigil === '*') {
      const name = segment.slice(1);
      if (!SEGMENT_NAME.test(name)) throw new TypeError(`route pattern ${JSON.stringify(pattern)}: bad parameter name ${JSON.stringify(segment)}`);
      if (names.includes(name)) throw new TypeError(`route pattern ${JSON.stringify(pattern)}: parameter "${name}" appears twice`);
      if (sigil === '*' && i !== segments.length - 1) throw new TypeError(`route pattern ${JSON.stringify(pattern)}: "*${name}" must be the last segment`);
      names.push(name);
      return sigil === ':' ? '([^/]+)' : '(.*)';
    }
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return { regex: new RegExp(`^/${parts.join('/')}$`), names };
}

/** An ordered route table: the first route declared that matches wins, as in Flask and Starlette. */
export class Router<H> {
  readonly #routes: Route<H>[] = [];

  /** Adds a route; `method` is upper-cased, `'*'` matches every method. */
  add(method: string, pattern: string, handler: H): void {
    const { regex, names } = compilePattern(pattern);
    this.#routes.push({ method: method.toUpperCase(), pattern, regex, names, handler });
  }

  /** Finds the handler for a method and path; a GET route also answers HEAD. */
  match(method: string, path: string): RouteMatch<H> {
    const allowed = new Set<string>();
    for (const route of this.#routes) {
      const m = route.regex.exec(path);
      if (m === null) continue;
      if (route.method === method || route.method === '*' || (method === 'HEAD' && route.method === 'GET')) {
        const params: Params = {};
        route.names.forEach((name, i) => (params[name] = m[i + 1]!));
        return { kind: 'found', handler: route.handler, params };
      }
      allowed.add(route.method);
      if (route.method === 'GET') allowed.add('HEAD');
    }
    return allowed.size > 0 ? { kind: 'method-not-allowed', allowed: [...allowed].sort() } : { kind: 'not-found' };
  }

  /** The declared routes, in order (for listings and tests). */
  get routes(): ReadonlyArray<{ method: string; pattern: string }> {
    return this.#routes.map(({ method, pattern }) => ({ method, pattern }));
  }
}
