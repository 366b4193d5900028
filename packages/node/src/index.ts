/**
 * @tsgi/node: the event-loop server for ASGI-TS apps on Node's own HTTP stack
 * (its llhttp parser, node:http2, node:tls) and `ws`, with no native dependency. It serves what uWebSockets.js refuses (HTTP/1.0,
 * any method token llhttp knows, absolute-form targets, latin-1 header bytes,
 * a real client port, `100 Continue` on demand, trailers and early hints) at a
 * lower request rate than @tsgi/uws.
 */
import type { AsgiApplication, ModuleRef } from '@tsgi/core';
import { OptionError, importApp, runAsgiServer, serverLogger, type RunningServer } from '@tsgi/core/server';
import { resolveOptions, type ServeOptions } from './options.js';
import { nodeTransport } from './server.js';
import { serveWorkerProcesses } from './worker-process.js';

export { HTTP_EXTENSIONS, HEADERS_TIMEOUT_S, nodeTransport } from './server.js';
export { resolveOptions, NODE_RULES, type ServeOptions, type ResolvedOptions } from './options.js';
export { WRITE_HIGH_WATER } from './http-exchange.js';
export type { WebSocketTuning } from './websocket.js';

/**
 * Serves `app` (an ASGI-TS callable, or a module reference to import) on
 * Node's HTTP stack: runs lifespan startup, listens, and resolves with a handle whose
 * close() shuts down gracefully (stop accepting, close idle connections, let
 * in-flight requests finish up to timeoutGracefulShutdown, close WebSockets
 * with 1012, run lifespan shutdown). With `workers: N` > 1 (a module
 * reference only) it runs N such servers in worker processes sharing the
 * listening socket, each importing the app itself.
 */
export async function serve(app: AsgiApplication | ModuleRef, options: ServeOptions = {}): Promise<RunningServer> {
  const resolved = resolveOptions(options);
  const logger = serverLogger(options, resolved);
  if (resolved.workers > 1) {
    if (typeof app === 'function') {
      throw OptionError.conflict('workers', resolved.workers, ' > 1 needs the app as a module reference ({ module, exportName }), since a function cannot cross to a worker process');
    }
    return serveWorkerProcesses(app, options, resolved, logger);
  }
  const fn = typeof app === 'function' ? app : await importApp<AsgiApplication>(app, 'ASGI-TS');
  return runAsgiServer(fn, resolved, logger, nodeTransport(resolved));
}
