/**
 * The pool server: node:http parses HTTP on the main thread, the sync-app
 * runner runs the WSGI-TS app on worker threads. Per request: the head is
 * read and checked under the rules every tsgi server applies, becomes an
 * ASGI scope (core's buildHttpScope), the runner builds the environ from it
 * on the worker, and the response streams back through a sink over the
 * ServerResponse. Options, the log, listening, connection tracking and
 * graceful shutdown are the server layer's (@tsgi/core/server); what is
 * left here is the front between node:http and the runner.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { ClientDisconnected, buildHttpScope, isClientDisconnected, type ModuleRef, type RequestHead, type ServerAddress, type ServerHandle } from '@tsgi/core';
import {
  accessLine,
  accessPrefix,
  answerClientError,
  appWorkerData,
  ConnectionTracker,
  dateHeaderOptions,
  drain,
  finishedLine,
  flatHeaders,
  formatError,
  HeadRules,
  listenNode,
  nodeTlsOptions,
  rejectUnverified,
  readNodeRequestHead,
  removeUnixSocket,
  runningLine,
  serveAppProcesses,
  serverLogger,
  serverUrl,
  startedLine,
  statusReason,
  type Logger,
  type RunningServer,
  type WorkerHooks,
} from '@tsgi/core/server';
import { answerFor, sendAnswer, type Answer } from '../runner/answer.js';
import { createSyncRunner } from '../runner/runner.js';
import { RequestBodyError, type SyncRunner } from '../runner/types.js';
import { resolvePoolOptions, type PoolServeOptions, type ResolvedPoolOptions } from './options.js';
import { NodeResponseSink } from './response-sink.js';

/**
 * Serves the WSGI-TS app at `app` (a module reference: each worker thread
 * imports it) until close() is called. Resolves once the app has loaded in a
 * worker and the socket is listening; rejects if the app fails to import or
 * the address cannot be bound. With `workers: N` > 1, N such servers run in
 * worker processes sharing the listening socket (gunicorn's workers x threads).
 */
export async function serve(app: ModuleRef, options: PoolServeOptions = {}): Promise<ServerHandle> {
  const opts = resolvePoolOptions(options, availableParallelism());
  const logger = serverLogger(options, opts);
  if (opts.workers > 1) return serveAppProcesses({ serverModule: import.meta.url, what: 'pool', tsx: import.meta.resolve('tsx') }, app, options, opts, logger);
  return serveHere(app, opts, logger);
}

/** One pool server in this process; `onRequest` runs once per request answered (a worker's request limit). */
async function serveHere(app: ModuleRef, opts: ResolvedPoolOptions, logger: Logger, onRequest?: () => void): Promise<ServerHandle> {
  // The same start and stop lines as the event-loop servers; a WSGI app has no lifespan, so its
  // "application startup" is its import on every worker thread, and its shutdown the threads' end.
  logger.info(startedLine());
  logger.info('Waiting for application startup.');
  const runner = createSyncRunner(app, {
    threads: opts.threads,
    maxQueue: opts.maxQueue,
    timeoutMs: opts.timeout * 1000,
    maxRequestsPerWorker: opts.maxRequestsPerWorker,
    logger,
  });
  try {
    await runner.ready();
  } catch (error) {
    await runner.close(0);
    throw error;
  }
  logger.info('Application startup complete.');
  const front = new HttpFront(runner, opts, logger, onRequest);
  const tls = opts.tls;
  const httpOptions: ServerOptions = {
    keepAliveTimeout: opts.timeoutKeepAlive * 1000,
    // A whole upload may take long (it streams): bound the head, and idle sockets, not the body.
    requestTimeout: 0,
    headersTimeout: 60_000,
    // llhttp's bound is the shared rules' bound: a head over it gets the same 431 either way.
    maxHeaderSize: opts.h11MaxIncompleteEventSize,
    // node writes a Date header unless told not to: decided here once, not per response.
    ...dateHeaderOptions(opts.dateHeader),
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => front.onRequest(req, res);
  // node:https is node:http over node:tls: the requests, and the scheme read from their sockets, follow.
  const server: Server = tls === null ? createServer(httpOptions, handle) : createHttpsServer({ ...httpOptions, ...nodeTlsOptions(tls) }, handle);
  if (tls !== null) {
    server.on('secureConnection', (socket: TLSSocket) => rejectUnverified(tls, socket));
    server.on('tlsClientError', (e: Error) => logger.debug(`TLS handshake failed: ${e.message}`));
  }
  // A head node's parser refused (malformed, over 16 KiB, too slow) gets the status every tsgi server gives it.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket, logger));
  let address: ServerAddress;
  try {
    address = await listenNode(server, opts);
  } catch (error) {
    await runner.close(0);
    throw error;
  }
  const url = serverUrl(address, tls !== null);
  logger.info(runningLine(`pool, ${runner.threads} worker thread${runner.threads === 1 ? '' : 's'}`, url));
  let closing: Promise<void> | null = null;
  return {
    address,
    url,
    close() {
      closing ??= front.shutdown(server);
      return closing;
    },
  };
}

/** The worker side of `workers: N`: this process's pool server (serveAppProcesses' workers call it). */
export async function startWorker(raw: unknown, hooks: WorkerHooks = {}): Promise<RunningServer> {
  const { ref, options } = appWorkerData<PoolServeOptions>(raw);
  const opts = resolvePoolOptions(options, availableParallelism());
  const handle = await serveHere(ref, opts, serverLogger({}, opts), hooks.onRequest);
  // The pool's own handle has no closeNow: exiting the process is how a worker is cut.
  return { ...handle, closeNow: () => process.exit(1) };
}

/** Turns node:http requests into runner requests. */
class HttpFront {
  private count = 0;
  /** The requests handed to the runner whose follow-up (access log, unread body) has not run yet. */
  private readonly tracker = new ConnectionTracker();
  /** Checks each request head; reused, since a head is read and judged in one go. */
  private readonly rules: HeadRules;
  /** The server's own headers of every response (server, --header), flat, computed once. */
  private readonly defaults: readonly string[];

  constructor(
    private readonly runner: SyncRunner,
    private readonly opts: ResolvedPoolOptions,
    private readonly logger: Logger,
    private readonly onRequestDone?: () => void,
  ) {
    this.defaults = flatHeaders(opts.defaultHeaders);
    this.rules = new HeadRules(opts.h11MaxIncompleteEventSize);
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const n = ++this.count;
    const started = performance.now();
    const rules = this.rules;
    const head = readNodeRequestHead(req, rules, this.opts);
    const { fault, contentLength, chunked } = rules;
    const tag = `${head.method} ${head.target.length > 200 ? head.target.slice(0, 200) + '...' : head.target} #${n}`;
    if (this.opts.timeoutKeepAlive === 0) res.shouldKeepAlive = false;
    if (fault !== null) {
      // Never reaches the app; the connection closes, since its framing cannot be trusted.
      this.logger.debug(`${tag}: refused with ${fault.status}: ${fault.reason}`);
      res.shouldKeepAlive = false;
      void this.answerBeforeApp(res, answerFor(fault.status), tag).then(() => req.socket.destroySoon());
      this.accessLog(head, req, fault.status, started);
      return;
    }
    // Shutdown began: a request that came on a connection already open is served, and the connection closed after it.
    if (this.tracker.closing) res.shouldKeepAlive = false;
    const limit = this.opts.limitMaxBodySize;
    if (limit !== null && contentLength > limit) {
      // Refuse before the app runs; the unread body is not worth draining.
      res.shouldKeepAlive = false;
      void this.answerBeforeApp(res, answerFor(413), tag);
      this.accessLog(head, req, 413, started);
      return;
    }
    const hasBody = chunked || contentLength > 0;
    const scope = buildHttpScope(head, { rootPath: this.opts.rootPath });
    const body = hasBody ? requestBody(req, limit) : null;
    // The sink hears the response close, so it is also the signal of the client leaving, and what shutdown tracks.
    const sink = new NodeResponseSink(res, this.defaults);
    this.tracker.add(sink);
    this.runner.handle(scope, body, sink, { signal: sink, tag }).then(
      (result) => {
        if (hasBody && !req.complete) discardUnreadBody(req, res, contentLength < 0 ? null : contentLength);
        this.accessLog(head, req, result.status, started);
        this.tracker.delete(sink);
        this.onRequestDone?.();
      },
      (error: unknown) => {
        // The runner answers app and client faults itself; reaching here is a server bug.
        this.logger.error(`${tag}: internal error in the pool server`, error);
        res.destroy();
        this.tracker.delete(sink);
      },
    );
  }

  /**
   * Graceful shutdown, as every tsgi server does it (uvicorn's): stop
   * accepting, close idle connections at once, let requests in flight
   * finish up to timeoutGracefulShutdown, then cut what is left and end the
   * worker threads.
   */
  async shutdown(server: Server): Promise<void> {
    this.logger.info('Shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    this.tracker.beginShutdown();
    server.closeIdleConnections();
    await drain(this.tracker, this.opts.timeoutGracefulShutdown, this.logger);
    server.closeAllConnections();
    this.logger.info('Waiting for application shutdown.');
    await this.runner.close(0);
    this.logger.info('Application shutdown complete.');
    await closed;
    if (this.opts.uds !== null) await removeUnixSocket(this.opts.uds);
    this.logger.info(finishedLine());
  }

  /** Sends one of the server's own answers (4xx/5xx) that never reached the app; a client already gone is no error. */
  private async answerBeforeApp(res: ServerResponse, answer: Answer, tag: string): Promise<void> {
    try {
      await sendAnswer(new NodeResponseSink(res, this.defaults), answer);
    } catch (e) {
      if (isClientDisconnected(e)) this.logger.debug(`${tag}: client left before the ${answer.status} answer was written`);
      else this.logger.error(`${tag}: could not send the ${answer.status} answer`, e);
    }
  }

  private accessLog(head: RequestHead, req: IncomingMessage, status: number, started: number): void {
    if (!this.opts.accessLog) return;
    // The version as the request line said it: a refused HTTP/2.0 is logged as such.
    this.logger.access(accessLine(accessPrefix(head.client, head.method, head.target, req.httpVersion), status, started));
  }
}

// Unread request bodies up to this size are read and dropped to keep the connection; larger ones close it.
const DRAIN_LIMIT = 1024 * 1024;

/**
 * The app answered without reading the whole body (spec wsgi.input.unread.1):
 * the rest must leave the socket before the next request can be parsed. Up
 * to DRAIN_LIMIT bytes are read and dropped; a larger rest (declared, or met
 * while draining a chunked body) is not worth it, so the connection closes
 * once the response is out.
 */
function discardUnreadBody(req: IncomingMessage, res: ServerResponse, contentLength: number | null): void {
  const close = () => {
    if (res.writableFinished) req.socket.destroySoon();
    else res.once('finish', () => req.socket.destroySoon());
  };
  if (contentLength !== null && contentLength - req.socket.bytesRead > DRAIN_LIMIT) return close();
  let dropped = 0;
  // 'readable' mode: resume() would be ignored while the body iterator's listener is still being removed.
  const drain = () => {
    for (let chunk: Buffer | null; (chunk = req.read() as Buffer | null) !== null; ) {
      dropped += chunk.byteLength;
      if (dropped > DRAIN_LIMIT) {
        req.off('readable', drain);
        return close();
      }
    }
  };
  req.on('readable', drain);
  req.once('end', () => req.off('readable', drain));
  drain();
}

/** The request body as the runner pulls it; past `limit` bytes it fails with a 413, a cut-off upload with ClientDisconnected. */
async function* requestBody(req: IncomingMessage, limit: number | null): AsyncGenerator<Uint8Array> {
  let total = 0;
  try {
    // Stopping early must not destroy the request (that would take the socket, and the response, with it).
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (limit !== null && total > limit) {
        throw new RequestBodyError(413, statusReason(413), `request body over the ${limit}-byte limit`);
      }
      yield chunk;
    }
  } catch (error) {
    if (error instanceof RequestBodyError) throw error;
    throw new ClientDisconnected(`request body cut off: ${formatError(error).split('\n')[0]}`);
  }
  if (!req.complete) throw new ClientDisconnected('request body cut off');
}
