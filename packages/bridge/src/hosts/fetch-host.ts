/**
 * What the Bun and Deno hosts share, independent of the runtime: the
 * options, lifespan startup before listening, HTTP through toFetchHandler,
 * WebSocket upgrades through @tsgi/core's ServerWebSocketSession over a
 * FetchWebSocket, and the graceful close (close open WebSockets with 1012,
 * stop accepting, let open requests finish, then lifespan shutdown). A
 * runtime module supplies only `listen`, which starts its fetch server with
 * the host's handlers.
 */
import { buildWebSocketScope, type AsgiApplication, type Extensions } from '@tsgi/core';
import { ConnectionTracker, consoleLogger, statusReason, type LifespanMode, type Logger } from '@tsgi/core/server';
import { nativeResponse } from '../fetch/light-response.js';
import { fetchRequestHead } from '../fetch/request-head.js';
import { toFetchHandler, type AsgiFetchHandler } from '../fetch/to-fetch-handler.js';
import { FetchWebSocket, refuseHandshake, wantsWebSocket, type FetchWebSocketEnv, type RuntimeHandshake } from './fetch-websocket.js';

/** Options of `serve()` on Bun and Deno. */
export interface HostServeOptions {
  /** TCP port; 0 picks a free one (the handle tells which). Default 8000. */
  port?: number;
  /** Address to bind. Default '127.0.0.1'. */
  hostname?: string;
  /** A path prefix a proxy stripped (uvicorn's --root-path): scope.root_path, and prefixed to path. Default ''. */
  rootPath?: string;
  /** Lifespan mode: 'auto' (default), 'on' (an app without lifespan fails startup) or 'off'. */
  lifespan?: LifespanMode;
  /** Where app exceptions and lifespan lines go; default the console at level info. */
  logger?: Logger;
  /** Largest WebSocket message the app is handed; a larger one closes with 1009. Default 16 MiB (uvicorn's --ws-max-size). */
  wsMaxSize?: number;
}

/** A running host: where it listens, and how to stop it. */
export interface HostHandle {
  /** The bound address. */
  readonly hostname: string;
  /** The bound port (the one picked when `port` was 0). */
  readonly port: number;
  /** `http://hostname:port`. */
  readonly url: string;
  /** Graceful stop: close WebSockets with 1012 (refusing new ones), stop accepting, let open requests finish, then lifespan shutdown. Idempotent. */
  close(): Promise<void>;
}

/** The runtime's listening fetch server, as the host drives it. */
export interface RuntimeServer {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting connections; resolves once the open HTTP requests have finished. */
  stop(): Promise<void>;
}

/** What a runtime module needs from the host to serve one request. */
export interface HostRequests {
  /** An HTTP request (not a WebSocket upgrade), with the peer address when the runtime tells it. */
  http(request: Request, client: [string, number] | null): Promise<Response>;
  /** True when `request` asks for a WebSocket. */
  wantsWebSocket(request: Request): boolean;
  /** A WebSocket upgrade request: refused before the app runs, or run as a session whose handshake `handshakeFor` completes. */
  websocket(request: Request, client: [string, number] | null, handshakeFor: (socket: FetchWebSocket) => RuntimeHandshake): Promise<Response | undefined>;
}

/** What the websocket scopes announce: the denial response is answered as a plain Response, which both runtimes allow. */
const WEBSOCKET_EXTENSIONS: Extensions = Object.freeze({ 'websocket.http.response': Object.freeze({}) as Record<string, never> });
const MAX_WS_MAX_SIZE = 2 ** 31 - 1;
/** How long close() waits for clients to answer the WebSockets' close frames before it stops the server. */
const WEBSOCKET_CLOSE_WAIT_MS = 1000;

/** Checks the options, runs lifespan startup, then `listen`; the returned handle closes gracefully. A failed startup rejects and nothing listens. */
export async function startHost(app: AsgiApplication, options: HostServeOptions, listen: (requests: HostRequests, hostname: string, port: number) => RuntimeServer): Promise<HostHandle> {
  if (typeof app !== 'function') throw new TypeError(`serve(app): app must be an ASGI-TS function (scope, receive, send); got ${app === null ? 'null' : typeof app}`);
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`serve(): port must be an integer from 0 to 65535; got ${String(port)}`);
  const hostname = options.hostname ?? '127.0.0.1';
  if (typeof hostname !== 'string' || hostname === '') throw new TypeError(`serve(): hostname must be a non-empty string; got ${JSON.stringify(hostname)}`);
  const wsMaxSize = options.wsMaxSize ?? 16 * 1024 * 1024;
  if (!Number.isInteger(wsMaxSize) || wsMaxSize < 1 || wsMaxSize > MAX_WS_MAX_SIZE) throw new TypeError(`serve(): wsMaxSize must be an integer from 1 to ${MAX_WS_MAX_SIZE}; got ${String(wsMaxSize)}`);
  const logger = options.logger ?? consoleLogger();
  const rootPath = options.rootPath ?? '';
  let bound: [string, number] | null = null;
  // Neither Bun.serve nor Deno.serve writes a Response's statusText (they send the standard phrase), so no reason_phrase extension.
  const handler: AsgiFetchHandler = toFetchHandler(app, { rootPath, lifespan: options.lifespan ?? 'auto', logger, reasonPhrase: false, server: () => bound });
  const connections = new ConnectionTracker();
  const env: FetchWebSocketEnv = {
    session: {
      app,
      logger,
      connections,
      limits: {
        maxMessageBytes: wsMaxSize,
        // The inbox bounds are @tsgi/uws's, which cannot pause reading either.
        inbox: { maxMessages: 1024, maxBytes: wsMaxSize },
        pausable: false,
        // Both runtimes ping by themselves (idleTimeout).
        pingIntervalMs: null,
        pingTimeoutMs: null,
      },
    },
    sendHighWaterMark: 64 * 1024,
  };
  const requests: HostRequests = {
    http: (request, client) => handler(request, client === null ? undefined : { remoteAddr: { hostname: client[0], port: client[1] } }),
    wantsWebSocket,
    websocket: (request, client, handshakeFor) => {
      const refusal = refuseHandshake(request, logger);
      if (refusal !== null) return Promise.resolve(refusal);
      if (connections.closing) return Promise.resolve(new (nativeResponse())(statusReason(503), { status: 503 }));
      const scope = buildWebSocketScope(fetchRequestHead(request, client, bound), { rootPath, state: handler.state, extensions: WEBSOCKET_EXTENSIONS });
      const socket = new FetchWebSocket(env, scope, request);
      return socket.start(handshakeFor(socket));
    },
  };

  await handler.startup();
  let server: RuntimeServer;
  try {
    server = listen(requests, hostname, port);
  } catch (e) {
    await handler.shutdown().catch(() => {});
    throw e;
  }
  bound = [server.hostname, server.port];
  const url = `http://${server.hostname.includes(':') ? `[${server.hostname}]` : server.hostname}:${server.port}`;
  logger.info(`Listening on ${url}`);
  let closing: Promise<void> | null = null;
  return {
    hostname: server.hostname,
    port: server.port,
    url,
    close: () =>
      (closing ??= (async () => {
        connections.beginShutdown();
        // The WebSockets' close handshakes (1012) first: Deno's shutdown() would close them itself with 1001.
        await Promise.race([connections.drained(), new Promise((resolve) => setTimeout(resolve, WEBSOCKET_CLOSE_WAIT_MS))]);
        await Promise.all([server.stop(), connections.drained()]);
        await handler.shutdown();
      })()),
  };
}
