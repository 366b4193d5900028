/**
 * A minimal uWebSockets.js server around createWebSocketBehavior, for the
 * WebSocket tests: it exercises the behavior with a real socket and lets a
 * test set the tuning knobs that serve() does not expose.
 */
import type { AsgiApplication, Receive, Send, WebSocketReceiveEventUnion } from '@tsgi/core';
import { WebSocket } from 'ws';
import { loadBinding, type us_listen_socket } from '../src/binding.js';
import { ConnectionTracker, type ServerContext } from '@tsgi/core/server';
import { recordingLogger, type RecordingLogger } from '../../core/test/support/server-tests.js';
export { deferred } from '../../core/test/support/server-tests.js';
export * from '../../core/test/support/websocket-tests.js';
import { resolveOptions, type ServeOptions } from '../src/options.js';
import { createWebSocketBehavior, type WebSocketTuning } from '../src/websocket.js';

export interface WsTestServer {
  url: string;
  port: number;
  ctx: ServerContext;
  logger: RecordingLogger;
  close(): void;
}

/** Serves `app` for WebSocket upgrades on 127.0.0.1 and an ephemeral port. */
export async function startWsServer(app: AsgiApplication, options: ServeOptions = {}, tuning: WebSocketTuning = {}): Promise<WsTestServer> {
  const { uws } = loadBinding();
  const logger = recordingLogger();
  const resolved = resolveOptions({ ...options, port: 0 });
  const ctx: ServerContext = {
    app,
    options: resolved,
    httpScope: { rootPath: resolved.rootPath, state: {}, extensions: {} },
    state: {},
    logger,
    connections: new ConnectionTracker(),
    server: null,
  };
  const uwsApp = uws.App().ws('/*', createWebSocketBehavior(ctx, tuning));
  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) =>
    uwsApp.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('listen failed')))),
  );
  const port = uws.us_socket_local_port(listenSocket as never);
  ctx.server = ['127.0.0.1', port];
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    ctx,
    logger,
    close() {
      uws.us_listen_socket_close(listenSocket);
      ctx.connections.abortAll();
    },
  };
}
