/**
 * The life of an event-loop server of ASGI-TS apps, whatever its transport:
 * lifespan startup, listen, serve, and on close() a graceful shutdown as
 * uvicorn does it (stop accepting, close idle connections, let in-flight
 * requests finish up to timeoutGracefulShutdown, close what is left, run
 * lifespan shutdown). The transport supplies a Listener, the part that owns
 * sockets; everything else is here.
 */
import type { Extensions, AsgiApplication } from '../asgi/types.js';
import type { ScopeOptions } from '../asgi/scope.js';
import { ConnectionTracker } from './connections.js';
import type { ServerAddress, ServerHandle } from './handle.js';
import { LifespanRunner } from './lifespan.js';
import type { Logger } from './logger.js';
import type { ResolvedAsgiOptions } from './options.js';
import { removeUnixSocket } from './unix-socket.js';

/** What every part of one running server shares: the HTTP handler and the WebSocket handler of a transport both take it. */
export interface ServerContext {
  readonly app: AsgiApplication;
  readonly options: ResolvedAsgiOptions;
  /** What http scopes get: root_path, the lifespan state (copied per request) and the announced extensions. */
  readonly httpScope: ScopeOptions & { extensions: Extensions };
  /** The lifespan state: filled by the app during startup, shallow-copied into each scope. */
  readonly state: Record<string, unknown>;
  readonly logger: Logger;
  readonly connections: ConnectionTracker;
  /** `scope.server`: the bound address and port ([path, null] for a unix socket); set once listening. */
  server: [string, number | null] | null;
}

/** The part of a server that owns sockets. */
export interface Listener {
  /** Binds and starts accepting; resolves with the bound address. */
  listen(): Promise<ServerAddress>;
  /** Closes the listening socket: no new connections. */
  stopAccepting(): void;
  /** Closes the keep-alive connections that have no request in flight. */
  closeIdle(): void;
  /** Drops every connection at once. */
  closeAll(): void;
}

/** What a transport tells the lifecycle about itself. */
export interface Transport {
  /** Its name in the log line (`tsgi (node:http) running on …`). */
  name: string;
  /** The extensions its http scopes announce. */
  httpExtensions: Extensions;
  /** Builds the listener that serves `ctx`. */
  createListener(ctx: ServerContext): Listener;
}

/** A server on this thread; `closeNow()` drops every socket at once (a worker thread about to end must leave none open). */
export interface RunningServer extends ServerHandle {
  closeNow(): void;
}

/** uvicorn's first line, the same on every server: `Started server process [pid]`. */
export function startedLine(): string {
  return `Started server process [${process.pid}]`;
}

/** uvicorn's last line, the same on every server: `Finished server process [pid]`. */
export function finishedLine(): string {
  return `Finished server process [${process.pid}]`;
}

/** The line that says where a server listens, the same on every server: `tsgi (<what>) running on <url> (Press CTRL+C to quit)`. */
export function runningLine(what: string, url: string): string {
  return `tsgi (${what}) running on ${url} (Press CTRL+C to quit)`;
}

/** The URL a server is reached at, for the log and ServerHandle.url; `secure`: it serves TLS (https). */
export function serverUrl(address: ServerAddress, secure = false): string {
  if ('path' in address) return `unix:${address.path}`;
  return `${secure ? 'https' : 'http'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Serves `app` on this thread through `transport`: lifespan startup, listen, and a handle whose close() is graceful. */
export async function runAsgiServer(app: AsgiApplication, options: ResolvedAsgiOptions, logger: Logger, transport: Transport): Promise<RunningServer> {
  logger.info(startedLine());
  const state: Record<string, unknown> = {};
  const lifespan = new LifespanRunner(app, { mode: options.lifespan, state, logger });
  await lifespan.startup();

  const ctx: ServerContext = {
    app,
    options,
    httpScope: { rootPath: options.rootPath, state, extensions: transport.httpExtensions },
    state,
    logger,
    connections: new ConnectionTracker(),
    server: null,
  };
  const listener = transport.createListener(ctx);
  let address: ServerAddress;
  try {
    address = await listener.listen();
  } catch (e) {
    await lifespan.shutdown().catch(() => {});
    throw e;
  }
  ctx.server = 'path' in address ? [address.path, null] : [address.host, address.port];
  const url = serverUrl(address, options.tls !== null);
  logger.info(runningLine(transport.name, url));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info('Shutting down');
      listener.stopAccepting();
      ctx.connections.beginShutdown();
      listener.closeIdle();
      await drain(ctx.connections, options.timeoutGracefulShutdown, logger);
      listener.closeAll();
      // A failure is logged by the runner; close() still finishes.
      await lifespan.shutdown().catch(() => {});
      if (options.uds !== null) await removeUnixSocket(options.uds);
      logger.info(finishedLine());
    })();
    return closing;
  };
  const closeNow = (): void => {
    ctx.connections.closing = true;
    listener.stopAccepting();
    listener.closeAll();
  };
  return { address, url, close, closeNow };
}

/** Waits until nothing is in flight, or `timeoutSeconds` (null: for ever), then closes what is left. */
export async function drain(connections: ConnectionTracker, timeoutSeconds: number | null, logger: Logger): Promise<void> {
  if (connections.size === 0) return;
  logger.info(`Waiting for ${connections.size} connection(s) to finish.`);
  const drained = connections.drained();
  if (timeoutSeconds === null) return drained;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([drained.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutSeconds * 1000, true)))]);
  clearTimeout(timer);
  if (timedOut) {
    logger.warning(`Graceful shutdown timed out after ${timeoutSeconds} s: closing ${connections.size} connection(s).`);
    connections.abortAll();
  }
}
