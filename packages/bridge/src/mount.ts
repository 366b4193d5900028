/**
 * mount: several ASGI-TS apps (async apps, bridged sync apps, fetch handlers)
 * under path prefixes in one server, like Starlette's Mount. Per the ASGI
 * spec, a mounted app sees `root_path` grown by its prefix while `path`
 * stays the full path, so a sync app behind wsgiToAsgi gets SCRIPT_NAME =
 * the prefix and PATH_INFO = the rest. Lifespan is fanned out to every app.
 */
import type { AsgiApplication, HttpScope, LifespanScope, Receive, Scope, Send, WebSocketScope } from '@tsgi/core';
import { LifespanRunner, type Logger } from '@tsgi/core/server';
import { refuseWebSocket, sendPlainAnswer } from './own-answers.js';

/** One mount point: a path prefix ('' or '/' for everything else) and the app served under it. */
export type Route = readonly [prefix: string, app: AsgiApplication];

/** Options of mount(). */
export interface MountOptions {
  /**
   * Where each mounted app's lifespan lines go (uvicorn's, failures
   * included). Default: nowhere, since the server logs the combined outcome,
   * which names the app that failed.
   */
  logger?: Logger;
}

interface CompiledRoute {
  prefix: string;
  app: AsgiApplication;
}

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

  return async function mounted(scope: Scope, receive: Receive, send: Send): Promise<void> {
    if (scope.type === 'lifespan') return fanOutLifespan(compiled, scope, receive, send, options.logger);
    const route = match(byLength, scope);
    if (route === null) return scope.type === 'websocket' ? refuseWebSocket(receive, send) : sendPlainAnswer(send, 404);
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

/**
 * One lifespan for all: startup runs each app's startup in mount order (an app
 * that does not speak lifespan is skipped, as in uvicorn's auto mode); if one
 * fails, those already started are shut down and startup fails with its
 * message. Shutdown runs in reverse order and reports every failure.
 */
async function fanOutLifespan(routes: CompiledRoute[], scope: LifespanScope, receive: Receive, send: Send, logger: Logger | undefined): Promise<void> {
  // Every app shares the server's state dict, so what each puts there reaches request scopes.
  const state = scope.state ?? {};
  const apps: MountedLifespan[] = routes.map((r) => ({ prefix: r.prefix, runner: new LifespanRunner(r.app, { mode: 'auto', state, logger }) }));
  const started: MountedLifespan[] = [];
  for (;;) {
    const event = await receive();
    if (event.type === 'lifespan.startup') {
      try {
        for (const a of apps) {
          await a.runner.startup();
          started.push(a);
        }
      } catch (e) {
        const message = failureMessage(apps[started.length]!.prefix, e);
        await shutdownAll(started);
        await send({ type: 'lifespan.startup.failed', message });
        return;
      }
      await send({ type: 'lifespan.startup.complete' });
    } else if (event.type === 'lifespan.shutdown') {
      const failures = await shutdownAll(started);
      if (failures.length > 0) await send({ type: 'lifespan.shutdown.failed', message: failures.join('; ') });
      else await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

/** One mounted app's lifespan, with the prefix that names it in failure messages. */
interface MountedLifespan {
  prefix: string;
  runner: LifespanRunner;
}

/** Shuts down the started apps in reverse order; returns a message per failure. */
async function shutdownAll(started: MountedLifespan[]): Promise<string[]> {
  const failures: string[] = [];
  for (const a of [...started].reverse()) {
    try {
      await a.runner.shutdown();
    } catch (e) {
      failures.push(failureMessage(a.prefix, e));
    }
  }
  started.length = 0;
  return failures;
}

// LifespanStartupFailed and LifespanShutdownFailed carry the app's own message.
function failureMessage(prefix: string, e: unknown): string {
  return `app mounted at ${JSON.stringify(prefix || '/')}: ${e instanceof Error ? e.message : String(e)}`;
}
