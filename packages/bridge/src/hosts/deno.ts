/**
 * @tsgi/bridge/deno: an ASGI-TS app on Deno's own server. HTTP goes through
 * Deno.serve (toFetchHandler); a WebSocket through Deno.upgradeWebSocket,
 * whose events go to a FetchWebSocket (the transport of @tsgi/core's
 * ServerWebSocketSession). This module holds only Deno's calls, typed by the
 * small interfaces below (no Deno type package).
 *
 * What Deno cannot honor: the reason phrase (Deno writes the standard one),
 * receive backpressure (a server WebSocket cannot pause reading: a client
 * that outruns the app is closed with 1008), a drain event (send() polls
 * `bufferedAmount`), and a message-size limit of its own (the session closes
 * a message over wsMaxSize with 1009 once Deno has read it). Pings are
 * Deno's own (`idleTimeout` 120 s).
 */
import type { AsgiApplication } from '@tsgi/core';
import { nativeResponse } from '../fetch/light-response.js';
import { startHost, type HostHandle, type HostRequests, type HostServeOptions, type RuntimeServer } from './fetch-host.js';
import type { FetchWebSocket, RuntimeSocket } from './fetch-websocket.js';

export type { HostHandle, HostServeOptions } from './fetch-host.js';

/** The part of Deno's server-side WebSocket the host uses (the WHATWG WebSocket). */
interface DenoWebSocket {
  binaryType: 'blob' | 'arraybuffer';
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: (() => void) | null;
  onmessage: ((event: { data: string | ArrayBuffer }) => void) | null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** What Deno.serve passes next to the Request. */
interface DenoServeInfo {
  remoteAddr: { hostname: string; port: number };
}

/** The part of Deno's HttpServer the host uses. */
interface DenoHttpServer {
  readonly addr: { hostname: string; port: number };
  shutdown(): Promise<void>;
}

interface DenoGlobal {
  serve(
    options: { port: number; hostname: string; onListen(addr: { hostname: string; port: number }): void },
    handler: (request: Request, info: DenoServeInfo) => Promise<Response>,
  ): DenoHttpServer;
  upgradeWebSocket(request: Request): { socket: DenoWebSocket; response: Response };
}

/** Serves an ASGI-TS app with Deno.serve; resolves once lifespan startup succeeded and the server listens. */
export function serve(app: AsgiApplication, options: HostServeOptions = {}): Promise<HostHandle> {
  const deno = (globalThis as { Deno?: DenoGlobal }).Deno;
  if (deno === undefined) return Promise.reject(new Error('@tsgi/bridge/deno runs only on Deno (globalThis.Deno is undefined); on Node use @tsgi/uws or @tsgi/node, on Bun @tsgi/bridge/bun'));
  return startHost(app, options, (requests, hostname, port) => listen(deno, requests, hostname, port));
}

function listen(deno: DenoGlobal, requests: HostRequests, hostname: string, port: number): RuntimeServer {
  const server = deno.serve(
    {
      port,
      hostname,
      // The host logs its own line; Deno's default prints to stdout.
      onListen: () => {},
    },
    async (request, info) => {
      const client: [string, number] = [info.remoteAddr.hostname, info.remoteAddr.port];
      if (!requests.wantsWebSocket(request)) return requests.http(request, client);
      const answer = await requests.websocket(request, client, (socket) => ({ accept: (subprotocol, headers) => upgrade(deno, request, socket, subprotocol, headers) }));
      // Deno always needs a Response; undefined comes only from runtimes that answer the upgrade themselves.
      return answer ?? new (nativeResponse())(null, { status: 500 });
    },
  );
  return { hostname: server.addr.hostname, port: server.addr.port, stop: () => server.shutdown() };
}

function upgrade(deno: DenoGlobal, request: Request, transport: FetchWebSocket, subprotocol: string | null, headers: Array<[string, string]>): Response | null {
  let upgraded: { socket: DenoWebSocket; response: Response };
  try {
    // No `protocol` option: Deno checks it against the offer split on ", " only, so an offer "a,b" (legal, and what ws sends)
    // would be refused; the cycle has already checked the app's choice against scope.subprotocols.
    upgraded = deno.upgradeWebSocket(request);
  } catch {
    return null;
  }
  const { socket, response } = upgraded;
  if (subprotocol !== null) response.headers.set('sec-websocket-protocol', subprotocol);
  for (const [name, value] of headers) response.headers.append(name, value);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => transport.opened(runtimeSocket(socket));
  socket.onmessage = (event) => transport.message(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
  // Deno reports a connection lost without a Close frame as code 0 (wasClean false): ASGI says 1006.
  socket.onclose = (event) => transport.closed(event.code === 0 ? 1006 : event.code, event.reason);
  socket.onerror = () => {};
  return response;
}

function runtimeSocket(socket: DenoWebSocket): RuntimeSocket {
  return {
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
    // Deno's WebSocket has no way to drop the connection without a close handshake: close it with 1001 instead.
    terminate: () => socket.close(1001, ''),
    bufferedAmount: () => socket.bufferedAmount,
    reportsDrain: false,
  };
}
