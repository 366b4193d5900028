/**
 * `serve()`: runs an ASGI-TS app on uWebSockets.js. Loads the app (a
 * function, or a module reference for worker threads), runs lifespan
 * startup, listens, and hands back a ServerHandle whose close() shuts down
 * gracefully: stop accepting, let in-flight requests finish (up to
 * timeoutGracefulShutdown), close what is left, run lifespan shutdown.
 */
import { lstat, unlink } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { describe, type AsgiApplication, type Extensions, type ModuleRef, type ServerAddress, type ServerHandle } from '@tsgi/core';
import { loadBinding, type TemplatedApp, type us_listen_socket } from './binding.js';
import { ConnectionTracker, type ServerContext } from './context.js';
import { createHttpHandler } from './http-handler.js';
import { Lifespan } from './lifespan.js';
import { createWebSocketBehavior } from './websocket.js';
import { consoleLogger, type Logger } from './logger.js';
import { resolveOptions, type ResolvedOptions, type ServeOptions } from './options.js';
import { serveWorkers } from './workers.js';

/** The extensions this server announces in every http scope (see docs/choosing-a-server.md for the others). */
export const HTTP_EXTENSIONS: Extensions = Object.freeze({
  'http.response.pathsend': Object.freeze({}) as Record<string, never>,
  'http.response.reason_phrase': Object.freeze({}) as Record<string, never>,
  'http.response.zerocopysend': Object.freeze({}) as Record<string, never>,
});

/** Starts serving `app` (a function, or a ModuleRef to import; workers > 1 needs a ModuleRef). */
export async function serve(app: AsgiApplication | ModuleRef, options: ServeOptions = {}): Promise<ServerHandle> {
  const resolved = resolveOptions(options);
  const logger = options.logger ?? consoleLogger(resolved.logLevel);
  if (resolved.workers > 1) {
    if (typeof app === 'function') {
      throw new TypeError('serve(): workers > 1 needs the app as a module reference ({ module, exportName }), since a function cannot cross to a worker thread');
    }
    return serveWorkers(app, options, resolved, logger);
  }
  const fn = typeof app === 'function' ? app : await importApp(app);
  return startServer(fn, resolved, logger);
}

/** Imports `exportName` (default `app`) from a module and checks it is callable. */
export async function importApp(ref: ModuleRef): Promise<AsgiApplication> {
  if (typeof ref !== 'object' || ref === null || typeof ref.module !== 'string') {
    throw new TypeError(`serve(): app must be an ASGI callable or { module, exportName }; got ${describe(ref)}`);
  }
  const url = /^[a-z][a-z0-9+.-]*:/i.test(ref.module) && !/^[a-z]:[\\/]/i.test(ref.module) ? ref.module : pathToFileURL(ref.module).href;
  const name = ref.exportName ?? 'app';
  const mod = (await import(url)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== 'function') {
    throw new TypeError(`${ref.module} has no export '${name}' that is an ASGI application; got ${describe(fn)}`);
  }
  return fn as AsgiApplication;
}

/** A server on this thread; `closeNow()` drops every socket at once (a worker thread about to end must leave no socket open). */
export interface RunningServer extends ServerHandle {
  closeNow(): void;
}

/** Serves `app` on this thread's event loop (what each worker runs too). */
export async function startServer(app: AsgiApplication, options: ResolvedOptions, logger: Logger): Promise<RunningServer> {
  const { uws } = loadBinding();
  const state: Record<string, unknown> = {};
  const lifespan = new Lifespan(app, options.lifespan, state, logger);
  await lifespan.startup();

  const ctx: ServerContext = {
    app,
    options,
    httpScope: { rootPath: options.rootPath, state, extensions: HTTP_EXTENSIONS },
    state,
    logger,
    connections: new ConnectionTracker(),
    server: null,
  };
  const uwsApp: TemplatedApp = uws.App();
  // Upgrade requests go to the WebSocket behavior, every other request to the HTTP handler.
  uwsApp.ws('/*', createWebSocketBehavior(ctx));
  uwsApp.any('/*', createHttpHandler(ctx));

  let listenSocket: us_listen_socket | false;
  try {
    listenSocket = await listen(uwsApp, options);
  } catch (e) {
    await lifespan.shutdown();
    throw e;
  }
  const port = options.uds === null ? uws.us_socket_local_port(listenSocket) : null;
  const address: ServerAddress = port === null ? { path: options.uds! } : { host: options.host, port };
  ctx.server = port === null ? [options.uds!, null] : [options.host, port];
  const url = port === null ? `unix:${options.uds}` : `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info(`tsgi (uWebSockets.js) running on ${url} (Press CTRL+C to quit)`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('Shutting down');
      if (listenSocket !== false) uws.us_listen_socket_close(listenSocket);
      listenSocket = false;
      ctx.connections.beginShutdown();
      const timeout = options.timeoutGracefulShutdown;
      if (ctx.connections.size > 0) {
        logger.info(`Waiting for ${ctx.connections.size} connection(s) to finish.`);
        const drained = ctx.connections.drained();
        if (timeout === null) await drained;
        else {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            drained.then(() => false),
            new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeout * 1000, true))),
          ]);
          clearTimeout(timer);
          if (timedOut) {
            logger.warning(`Graceful shutdown timed out after ${timeout} s: closing ${ctx.connections.size} connection(s).`);
            ctx.connections.abortAll();
          }
        }
      }
      // Idle keep-alive connections would otherwise linger until uWS's idle timeout.
      (uwsApp as TemplatedApp & { close(): void }).close();
      await lifespan.shutdown();
      if (options.uds !== null) await unlink(options.uds).catch(() => {});
      logger.info('Finished server process');
    })();
    return closing;
  };
  const closeNow = (): void => {
    ctx.connections.closing = true;
    if (listenSocket !== false) uws.us_listen_socket_close(listenSocket);
    listenSocket = false;
    (uwsApp as TemplatedApp & { close(): void }).close();
  };
  return { address, url, close, closeNow };
}

function listen(app: TemplatedApp, options: ResolvedOptions): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    const done = (socket: us_listen_socket | false) => {
      if (socket === false || socket === undefined || socket === null) {
        reject(new Error(`could not listen on ${options.uds !== null ? `unix socket ${options.uds}` : `${options.host}:${options.port}`} (address in use, or not an address of this machine?)`));
      } else resolve(socket);
    };
    if (options.uds !== null) {
      const path = options.uds;
      // A stale socket file from a previous run would make the bind fail; only a socket is ever removed.
      lstat(path).then(
        (st) => (st.isSocket() ? unlink(path) : Promise.reject(new Error(`${path} exists and is not a socket`))),
        () => undefined,
      ).then(() => app.listen_unix(done, path), reject);
    } else {
      app.listen(options.host, options.port, done);
    }
  });
}
