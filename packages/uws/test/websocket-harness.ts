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

/** An app that accepts every WebSocket, then hands receive/send to the test. */
export function accepting(onOpen: (receive: Receive<WebSocketReceiveEventUnion>, send: Send) => Promise<void>): AsgiApplication {
  return async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    await send({ type: 'websocket.accept' });
    await onOpen(receive as Receive<WebSocketReceiveEventUnion>, send);
  };
}

/** Opens a ws client and resolves once it is open (or rejects with the handshake failure). */
export function connect(url: string, protocols?: string[], options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  // Messages can arrive in the same read as the 101: queue them from the start.
  const queue: Array<{ data: Buffer; isBinary: boolean }> = [];
  inboxes.set(ws, { queue, waiters: [] });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const box = inboxes.get(ws)!;
    const waiter = box.waiters.shift();
    if (waiter) waiter({ data, isBinary });
    else queue.push({ data, isBinary });
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
  });
}

type ClientMessage = { data: Buffer; isBinary: boolean };
const inboxes = new WeakMap<WebSocket, { queue: ClientMessage[]; waiters: Array<(m: ClientMessage) => void> }>();

/** The next message a client opened with connect() receives, as text or bytes. */
export function nextMessage(ws: WebSocket): Promise<ClientMessage> {
  const box = inboxes.get(ws);
  if (!box) throw new Error('nextMessage() needs a client opened with connect()');
  const queued = box.queue.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((resolve) => box.waiters.push(resolve));
}

/** Resolves with the close code and reason the client saw. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === ws.CLOSED) throw new Error('already closed');
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

/** A promise with its resolve function, for handing values out of an app. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
