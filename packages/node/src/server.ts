/**
 * The node:http transport: one `http.Server` whose requests become
 * HttpExchanges and whose WebSocket upgrades go to `ws`, under the shared
 * lifecycle of @tsgi/core/server (runAsgiServer: lifespan, listen, graceful
 * close). node:http parses (llhttp), frames, keeps connections alive and
 * serializes pipelined responses; what it refuses to parse is answered by
 * the shared answerClientError.
 */
import { createServer, ServerResponse, type IncomingMessage, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { Extensions } from '@tsgi/core';
import { HeadRules, answerClientError, dateHeaderOptions, flatHeaders, listenNode, nodeTlsOptions, rejectUnverified, type Listener, type ServerContext, type Transport } from '@tsgi/core/server';
import { WRITE_HIGH_WATER, refuse, serveRequest, type RequestEnv } from './http-exchange.js';
import type { ResolvedOptions } from './options.js';
import { SocketRegistry } from './socket-registry.js';
import { createUpgradeHandler, type WebSocketTuning } from './websocket.js';

const none = Object.freeze({}) as Record<string, never>;

/** The extensions every http scope of this server announces. */
export const HTTP_EXTENSIONS: Extensions = Object.freeze({
  'http.response.early_hint': none,
  'http.response.pathsend': none,
  'http.response.reason_phrase': none,
  'http.response.trailers': none,
  'http.response.zerocopysend': none,
});

/**
 * Seconds a client may take to send a request head (node's headersTimeout;
 * a slow head never reaches the app, asgi.http.connection.5). The body has no
 * such bound: uploads stream for as long as they take.
 */
export const HEADERS_TIMEOUT_S = 60;

/** The transport of `serve()`: hand it to runAsgiServer with the same options. */
export function nodeTransport(options: ResolvedOptions, tuning: WebSocketTuning = {}): Transport {
  return {
    name: 'node:http',
    httpExtensions: HTTP_EXTENSIONS,
    createListener: (ctx) => new NodeListener(ctx, options, tuning),
  };
}

/** The http.Server of one running server, and the sockets it handed over on upgrade. */
class NodeListener implements Listener {
  private readonly server: Server;
  /** Sockets handed over by 'upgrade' or 'connect': node:http no longer closes them, so closeAll() does. */
  private readonly upgraded = new Set<Socket>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly options: ResolvedOptions,
    tuning: WebSocketTuning,
  ) {
    const logger = ctx.logger;
    const env: RequestEnv = {
      ctx,
      rules: new HeadRules(),
      headOptions: { trustedHosts: options.trustedHosts, uds: options.uds },
      sockets: new SocketRegistry(logger),
      closeIdle: () => this.server.closeIdleConnections(),
      defaultHeaders: flatHeaders(options.defaultHeaders),
      tls: options.tls,
    };
    const keepAlive = options.timeoutKeepAlive;
    const httpOptions: ServerOptions = {
      // timeoutKeepAlive 0 closes every connection after its response (HttpExchange); node's 0 would mean "never time out".
      keepAliveTimeout: keepAlive > 0 ? keepAlive * 1000 : 5000,
      headersTimeout: HEADERS_TIMEOUT_S * 1000,
      requestTimeout: 0,
      // The shared HeadRules refuse an HTTP/1.1 request without Host (400), with the same words as every tsgi server.
      requireHostHeader: false,
      highWaterMark: WRITE_HIGH_WATER,
      noDelay: true,
      // node writes a Date header unless told not to: the choice is made here once, not per response.
      ...dateHeaderOptions(options.dateHeader),
    };
    const tls = options.tls;
    // node:https is node:http over node:tls: the same 'request', 'upgrade' and 'clientError' events follow.
    const server: Server = tls === null ? createServer(httpOptions) : createHttpsServer({ ...httpOptions, ...nodeTlsOptions(tls) });
    if (tls !== null) {
      server.on('secureConnection', (socket: TLSSocket) => rejectUnverified(tls, socket));
      // A handshake that fails (a refused client certificate, a plain-HTTP client) never reaches the app.
      server.on('tlsClientError', (e: Error) => logger.debug(`TLS handshake failed: ${e.message}`));
    }
    this.server = server;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => serveRequest(env, req, res, false));
    // The app decides when the client may send its body (asgi.http.request.5).
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => serveRequest(env, req, res, true));
    // Other expectations are served like any request (uvicorn does not answer 417).
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => serveRequest(env, req, res, false));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      try {
        answerClientError(error, socket, logger);
      } catch (e) {
        logger.error('Internal error while answering a malformed request', e);
        socket.destroy();
      }
    });
    const plainHttp = (req: IncomingMessage, socket: Socket): void => this.servePlain(env, req, socket);
    server.on('upgrade', createUpgradeHandler(env, options, this.upgraded, plainHttp, tuning));
    server.on('connect', (req: IncomingMessage, socket: Socket) => {
      socket.on('error', () => {});
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
      try {
        plainHttp(req, socket);
      } catch (e) {
        logger.error('Internal error while handling a CONNECT request', e);
        socket.destroy();
      }
    });
    server.on('error', (e) => logger.error('HTTP server error', e));
  }

  listen() {
    return listenNode(this.server, this.options);
  }

  stopAccepting(): void {
    this.server.close(() => {});
  }

  closeIdle(): void {
    this.server.closeIdleConnections();
  }

  closeAll(): void {
    this.server.closeAllConnections();
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
  }

  /**
   * A request node:http handed over as an upgrade (an Upgrade other than
   * websocket, such as h2c, or CONNECT) is served as plain HTTP, as uvicorn
   * does, on a ServerResponse of our own; the connection closes after it,
   * since node's parser has left the socket. Its body cannot be read (node
   * stops parsing at the head), so one that declares a body gets 501.
   */
  private servePlain(env: RequestEnv, req: IncomingMessage, socket: Socket): void {
    const res = new ServerResponse(req);
    res.sendDate = this.options.dateHeader;
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.destroySoon());
    // Reading (and dropping) what follows is how a client that leaves is noticed.
    socket.resume();
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) {
      this.ctx.logger.warning(`${req.method} with Upgrade ${JSON.stringify(req.headers.upgrade ?? '')} and a request body: node:http hands such a connection over before the body, which cannot be read.`);
      res.on('error', () => {});
      refuse(res, 501, true, env.defaultHeaders);
      return;
    }
    serveRequest(env, req, res, false);
  }
}
