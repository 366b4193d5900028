/**
 * @tsgi/bridge/bun: an ASGI-TS app on Bun's own server. HTTP goes through
 * Bun.serve's `fetch` (toFetchHandler); a WebSocket through
 * `server.upgrade(req, { data, headers })` and the `websocket` handlers,
 * whose events go to a FetchWebSocket (the transport of @tsgi/core's
 * ServerWebSocketSession). This module holds only Bun's calls, typed by the
 * small interfaces below (no bun-types).
 *
 * What Bun cannot honor: the reason phrase (Bun writes the standard one), and
 * receive backpressure (a ServerWebSocket cannot pause reading: a client that
 * outruns the app is closed with 1008). Pings are Bun's own (`sendPings`,
 * `idleTimeout` 120 s).
 */
import type { AsgiApplication } from '@tsgi/core';
import { startHost, type HostHandle, type HostRequests, type HostServeOptions, type RuntimeServer } from './fetch-host.js';
import type { FetchWebSocket, RuntimeSocket } from './fetch-websocket.js';

export type { HostHandle, HostServeOptions } from './fetch-host.js';

/** The part of Bun's ServerWebSocket the host uses; `data` is the FetchWebSocket given to upgrade(). */
interface BunServerWebSocket {
  readonly data: FetchWebSocket;
  send(data: string | Uint8Array): number;
  close(code?: number, reason?: string): void;
  terminate(): void;
  getBufferedAmount(): number;
}

/** The part of Bun's Server the host uses. */
interface BunServer {
  readonly port: number;
  readonly hostname: string;
  upgrade(request: Request, options: { data: FetchWebSocket; headers?: Array<[string, string]> }): boolean;
  requestIP(request: Request): { address: string; port: number } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

/** The options of Bun.serve the host passes. */
interface BunServeConfig {
  port: number;
  hostname: string;
  development: boolean;
  fetch(request: Request, server: BunServer): Promise<Response | undefined>;
  websocket: {
    maxPayloadLength: number;
    open(ws: BunServerWebSocket): void;
    message(ws: BunServerWebSocket, message: string | Uint8Array): void;
    close(ws: BunServerWebSocket, code: number, reason: string): void;
    drain(ws: BunServerWebSocket): void;
  };
}

interface BunGlobal {
  serve(config: BunServeConfig): BunServer;
}

/** Serves an ASGI-TS app with Bun.serve; resolves once lifespan startup succeeded and the server listens. */
export function serve(app: AsgiApplication, options: HostServeOptions = {}): Promise<HostHandle> {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (bun === undefined) return Promise.reject(new Error('@tsgi/bridge/bun runs only on Bun (globalThis.Bun is undefined); on Node use @tsgi/uws or @tsgi/node, on Deno @tsgi/bridge/deno'));
  // Bun closes a message larger than maxPayloadLength with 1009 itself, before the session sees it.
  const maxPayloadLength = options.wsMaxSize ?? 16 * 1024 * 1024;
  return startHost(app, options, (requests, hostname, port) => listen(bun, requests, hostname, port, maxPayloadLength));
}

function listen(bun: BunGlobal, requests: HostRequests, hostname: string, port: number, maxPayloadLength: number): RuntimeServer {
  const server = bun.serve({
    port,
    hostname,
    // Development mode would answer errors with Bun's own debug page.
    development: false,
    fetch: (request, srv) => {
      const ip = srv.requestIP(request);
      const client: [string, number] | null = ip === null ? null : [ip.address, ip.port];
      if (!requests.wantsWebSocket(request)) return requests.http(request, client);
      return requests.websocket(request, client, (socket) => ({
        accept: (subprotocol, headers) => {
          // Without a Sec-WebSocket-Protocol of ours Bun echoes the client's first offer; an empty one makes it send none.
          const extra: Array<[string, string]> = [['sec-websocket-protocol', subprotocol ?? ''], ...headers];
          // After a successful upgrade the fetch handler must return undefined: Bun writes the 101.
          return srv.upgrade(request, { data: socket, headers: extra }) ? undefined : null;
        },
      }));
    },
    websocket: {
      maxPayloadLength,
      open: (ws) => ws.data.opened(runtimeSocket(ws)),
      message: (ws, message) => ws.data.message(message),
      close: (ws, code, reason) => ws.data.closed(code, reason),
      drain: (ws) => ws.data.drained(),
    },
  });
  return {
    hostname: server.hostname,
    port: server.port,
    // stop() without closeActiveConnections stops accepting and lets open requests finish.
    stop: async () => void (await server.stop()),
  };
}

function runtimeSocket(ws: BunServerWebSocket): RuntimeSocket {
  return {
    send: (data) => void ws.send(data),
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
    bufferedAmount: () => ws.getBufferedAmount(),
    reportsDrain: true,
  };
}
