/**
 * The transport on Node's own HTTP stack, under the shared lifecycle of
 * @tsgi/core/server (runAsgiServer: lifespan, listen, graceful close).
 * HTTP/1.x connections are read by node's parser (llhttp) in an
 * Http1Connection, whose requests become HttpExchanges and whose WebSocket
 * upgrades go to `ws`; HTTP/2 streams (node:http2's core API) become the
 * same HttpExchanges through an Http2StreamIO; TLS is node:tls in front of
 * both.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Extensions } from '@tsgi/core';
import { HeadRules, flatHeaders, listenNode, nodeTlsOptions, rejectUnverified, type Listener, type ServerContext, type Transport } from '@tsgi/core/server';
import { WRITE_HIGH_WATER, refuse, serveHttp1Request, serveHttp2Stream, serveRequest, type RequestEnv } from './http-exchange.js';
import { Http1Server } from './http1-connection.js';
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
 * Seconds a client may take to send a request head, from its first byte
 * (node:http's headersTimeout; a slow head never reaches the app,
 * asgi.http.connection.5), and a new connection to send its first byte.
 * The body has no such bound: uploads stream for as long as they take.
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

/**
 * One running server's sockets. A front server (node:net, or node:tls with
 * ALPN) accepts each connection and hands it to the engine of its protocol:
 * the HTTP/1.x one (Http1Server), or an http2 server for HTTP/2 (by ALPN
 * over TLS; on plain TCP when the HTTP/1.x parser finds the connection
 * opens with the HTTP/2 preface).
 */
class NodeListener implements Listener {
  private readonly front: NetServer;
  private readonly http1: Http1Server;
  private readonly h2: Http2Server | null;
  /** Open HTTP/2 sessions: stopAccepting() sends each GOAWAY. */
  private readonly sessions = new Set<ServerHttp2Session>();
  /** Sockets handed over by an Upgrade or CONNECT request: the HTTP/1.x engine no longer closes them, so closeAll() does. */
  private readonly upgraded = new Set<Socket>();
  private closing = false;

  constructor(
    private readonly ctx: ServerContext,
    private readonly options: ResolvedOptions,
    tuning: WebSocketTuning,
  ) {
    const logger = ctx.logger;
    const env: RequestEnv = {
      ctx,
      rules: new HeadRules(options.h11MaxIncompleteEventSize),
      headOptions: { trustedHosts: options.trustedHosts, uds: options.uds },
      sockets: new SocketRegistry(logger),
      closeIdle: () => this.http1.closeIdle(),
      defaultHeaders: flatHeaders(options.defaultHeaders),
      tls: options.tls,
    };
    const onUpgrade = createUpgradeHandler(env, options, this.upgraded, (req, socket) => this.servePlain(env, req, socket), tuning);
    this.h2 = options.http2 ? this.createHttp2(env) : null;
    const h2 = this.h2;
    this.http1 = new Http1Server(
      {
        maxHeaderSize: options.h11MaxIncompleteEventSize,
        // timeoutKeepAlive 0 closes every connection after its response (HttpExchange).
        keepAliveMs: options.timeoutKeepAlive * 1000,
        headersTimeoutS: HEADERS_TIMEOUT_S,
        sendDate: options.dateHeader,
        logger,
      },
      {
        request: (conn, res, method, target, major, minor, raw) => serveHttp1Request(env, conn, res, method, target, major, minor, raw),
        upgrade: (req, socket, head) => {
          if (req.method === 'CONNECT') this.serveConnect(env, req, socket);
          else onUpgrade(req, socket, head);
        },
        // h2c: a plain-TCP connection that opens with the HTTP/2 preface, the preface and what followed put back for the session.
        h2c:
          h2 === null || options.tls !== null
            ? null
            : (socket, start) => {
                socket.pause();
                socket.unshift(start);
                h2.emit('connection', socket);
              },
      },
    );

    const tls = options.tls;
    if (tls === null) {
      this.front = createNetServer({ noDelay: true, highWaterMark: WRITE_HIGH_WATER }, (socket) => this.toHttp1(socket));
    } else {
      const front = createTlsServer({ ...nodeTlsOptions(tls), ALPNProtocols: this.h2 !== null ? ['h2', 'http/1.1'] : ['http/1.1'], noDelay: true, highWaterMark: WRITE_HIGH_WATER });
      front.on('secureConnection', (socket: TLSSocket) => {
        if (rejectUnverified(tls, socket)) return;
        if (socket.alpnProtocol === 'h2' && this.h2 !== null) this.h2.emit('connection', socket);
        else this.toHttp1(socket);
      });
      // A handshake that fails (a refused client certificate, a plain-HTTP client) never reaches the app.
      front.on('tlsClientError', (e: Error) => logger.debug(`TLS handshake failed: ${e.message}`));
      this.front = front;
    }
    this.front.on('error', (e) => logger.error('Server socket error', e));
  }

  /** The HTTP/2 engine: each stream is served like an HTTP/1.x request, on node:http2's core API (no request and response objects). */
  private createHttp2(env: RequestEnv): Http2Server {
    const o = this.options;
    const h2 = createHttp2Server({
      settings: { maxConcurrentStreams: o.h2MaxConcurrentStreams, maxHeaderListSize: o.h2MaxHeaderListSize },
      maxHeaderListPairs: 1024,
    });
    h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => serveHttp2Stream(env, stream, headers, raw));
    const idleMs = o.timeoutKeepAlive > 0 ? o.timeoutKeepAlive * 1000 : 5000;
    h2.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      session.on('error', (e) => this.ctx.logger.debug(`HTTP/2 session error: ${e.message}`));
      // The keep-alive time of HTTP/1.x: a session without a frame for that long gets GOAWAY. close() is graceful (a
      // stream still open finishes), so no count of open streams is kept per stream: that would cost listeners on each.
      session.setTimeout(idleMs, () => session.close());
      if (this.closing) session.close();
    });
    return h2;
  }

  /** Gives a connection to the HTTP/1.x engine. */
  private toHttp1(socket: Socket): void {
    this.http1.accept(socket);
  }

  async listen() {
    return listenNode(this.front, this.options);
  }

  stopAccepting(): void {
    this.closing = true;
    this.front.close(() => {});
    // Closes the idle HTTP/1.x connections, as a listening http.Server's close() does.
    this.http1.closeIdle();
    // GOAWAY: each session finishes its open streams, takes no new ones, and closes.
    for (const session of this.sessions) session.close();
  }

  closeIdle(): void {
    this.http1.closeIdle();
    // Graceful: a session with streams open lets them finish.
    for (const session of this.sessions) session.close();
  }

  closeAll(): void {
    this.http1.closeAll();
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
    for (const session of this.sessions) session.destroy();
  }

  /** A CONNECT request: served as plain HTTP (servePlain), its socket closed by closeAll() like an upgraded one. */
  private serveConnect(env: RequestEnv, req: IncomingMessage, socket: Socket): void {
    socket.on('error', () => {});
    this.upgraded.add(socket);
    socket.once('close', () => this.upgraded.delete(socket));
    try {
      this.servePlain(env, req, socket);
    } catch (e) {
      this.ctx.logger.error('Internal error while handling a CONNECT request', e);
      socket.destroy();
    }
  }

  /**
   * A request handed over as an upgrade (an Upgrade other than websocket,
   * such as h2c, or CONNECT) is served as plain HTTP, as uvicorn does, on a
   * node:http ServerResponse; the connection closes after it, since the
   * parser has left the socket. Its body cannot be read (llhttp stops at the
   * head of an upgrade), so one that declares a body gets 501.
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
      this.ctx.logger.warning(`${req.method} with Upgrade ${JSON.stringify(req.headers.upgrade ?? '')} and a request body: the connection leaves the HTTP/1.x parser at the head, so the body cannot be read.`);
      res.on('error', () => {});
      refuse(res, 501, true, env.defaultHeaders);
      return;
    }
    serveRequest(env, req, res);
  }
}
