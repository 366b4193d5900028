/**
 * mount: several ASGI-TS apps (async apps, bridged sync apps, fetch handlers)
 * under path prefixes in one server, like Starlette's Mount. Per the ASGI
 * spec, a mounted app sees `root_path` grown by its prefix while `path`
 * stays the full path, so a sync app behind wsgiToAsgi gets SCRIPT_NAME =
 * the prefix and PATH_INFO = the rest. Lifespan is fanned out to every app.
 */
import type { AsgiApplication, HttpScope, LifespanScope, Receive, Scope, Send, WebSocketScope } from '@tsgi/core';
import { LifespanDriver, LifespanFailed } from './lifespan.js';
import { consoleLogger, type BridgeLogger } from './logger.js';

/** One mount point: a path prefix ('' or '/' for everything else) and the app served under it. */
export type Route = readonly [prefix: string, app: AsgiApplication];

/** Options of mount(). */
export interface MountOptions {
  /** Where lifespan failures are logged (default: console). */
  logger?: BridgeLogger;
}

interface CompiledRoute {
  prefix: string;
  app: AsgiApplication;
}

const NOT_FOUND = new TextEncoder().encode('Not Found');

/**
 * Dispatches each connection to the app whose prefix is the longest match of
 * the path below the scope's root_path; the match ends at a '/' boundary
 * (`/api` matches `/api` and `/api/x`, not `/apix`). Unmatched HTTP requests
 * get a 404, unmatched WebSockets are closed before accept (403).
 */
export function mount(routes: ReadonlyArray<Route>, options: MountOptions = {}): AsgiApplication {
  const compiled = routes.map(([prefix, app]) => ({ prefix: normalizePrefix(prefix), app }));
  const seen = new Set<string>();
  for (const r of compiled) {
    if (seen.has(r.prefix)) throw new Error(`mount(): prefix ${JSON.stringify(r.prefix || '/')} is mounted twice`);
    seen.add(r.prefix);
  }
  // Longest prefix first, so the first match is the most specific one.
  const byLength = [...compiled].sort((a, b) => b.prefix.length - a.prefix.length);
  const logger = options.logger ?? consoleLogger;

  return async function mounted(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan') return fanOutLifespan(compiled, scope, receive, send, logger);
    const route = match(byLength, scope);
    if (route === null) return notFound(scope, receive, send);
    const child = { ...scope, root_path: scope.root_path + route.prefix };
    return route.app(child as typeof scope, receive, send);
  };
}

/** A prefix as stored: '' for the root, else '/seg…' without a trailing slash. */
function normalizePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new TypeError(`mount(): a prefix must be a string; got ${typeof prefix}`);
  if (prefix !== '' && !prefix.startsWith('/')) throw new Error(`mount(): a prefix must start with '/'; got ${JSON.stringify(prefix)}`);
  return prefix.replace(/\/+$/, '');
}

function match(routes: CompiledRoute[], scope: HttpScope | WebSocketScope): CompiledRoute | null {
  const rootPath = scope.root_path;
  // path includes root_path; below a root_path the path does not start with, nothing matches but the root mount.
  const rest = scope.path.startsWith(rootPath) ? scope.path.slice(rootPath.length) : null;
  for (const r of routes) {
    if (r.prefix === '') return r;
    if (rest === null) continue;
    if (rest === r.prefix || (rest.startsWith(r.prefix) && rest.charCodeAt(r.prefix.length) === 0x2f /* '/' */)) return r;
  }
  return null;
}

async function notFound(scope: HttpScope | WebSocketScope, receive: Receive, send: Send): Promise<void> {
  if (scope.type === 'websocket') {
    await receive(); // websocket.connect
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  await send({
    type: 'http.response.start',
    status: 404,
    headers: [
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-length', String(NOT_FOUND.byteLength)],
    ],
  });
  await send({ type: 'http.response.body', body: NOT_FOUND, more_body: false });
}

/**
 * One lifespan for all: startup runs each app's startup in mount order (an app
 * that does not speak lifespan is skipped, as in uvicorn's auto mode); if one
 * fails, those already started are shut down and startup fails with its
 * message. Shutdown runs in reverse order and reports every failure.
 */
async function fanOutLifespan(
  routes: CompiledRoute[],
  scope: LifespanScope,
  receive: Receive,
  send: Send,
  logger: BridgeLogger,
): Promise<void> {
  // Every app shares the server's state dict, so what each puts there reaches request scopes.
  const state = scope.state ?? {};
  const drivers = routes.map((r) => ({ prefix: r.prefix, driver: new LifespanDriver(r.app, { state }) }));
  const started: typeof drivers = [];
  for (;;) {
    const event = await receive();
    if (event.type === 'lifespan.startup') {
      try {
        for (const d of drivers) {
          await d.driver.startup();
          started.push(d);
        }
      } catch (e) {
        const message = failureMessage(drivers, started.length, e);
        await shutdownAll(started, logger);
        await send({ type: 'lifespan.startup.failed', message });
        return;
      }
      await send({ type: 'lifespan.startup.complete' });
    } else if (event.type === 'lifespan.shutdown') {
      const failures = await shutdownAll(started, logger);
      if (failures.length > 0) await send({ type: 'lifespan.shutdown.failed', message: failures.join('; ') });
      else await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

async function shutdownAll(started: Array<{ prefix: string; driver: LifespanDriver }>, logger: BridgeLogger): Promise<string[]> {
  const failures: string[] = [];
  for (const d of [...started].reverse()) {
    try {
      await d.driver.shutdown();
    } catch (e) {
      const message = `app mounted at ${JSON.stringify(d.prefix || '/')}: ${e instanceof Error ? e.message : String(e)}`;
      logger.error(`mount: lifespan shutdown failed for the ${message}`);
      failures.push(message);
    }
  }
  started.length = 0;
  return failures;
}

function failureMessage(drivers: Array<{ prefix: string }>, index: number, e: unknown): string {
  const prefix = drivers[index]?.prefix ?? '';
  const why = e instanceof LifespanFailed || e instanceof Error ? e.message : String(e);
  return `app mounted at ${JSON.stringify(prefix || '/')}: ${why}`;
}
