/**
 * The pool server: node:http parses HTTP on the main thread, the sync-app
 * runner runs the WSGI-TS app on worker threads. Per request: the head
 * becomes an ASGI scope (core's buildHttpScope, shared with every tsgi
 * server), the runner builds the environ from it on the worker, and the
 * response streams back through a sink over the ServerResponse.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { ClientDisconnected, buildHttpScope, isClientDisconnected, type ModuleRef, type ServerAddress, type ServerHandle } from '@tsgi/core';
import { consoleLogger, formatError, type Logger } from '../log.js';
import { answerFor, sendAnswer, type Answer } from '../runner/answer.js';
import { createSyncRunner } from '../runner/runner.js';
import { RequestBodyError, type SyncRunner } from '../runner/types.js';
import { resolvePoolOptions, type PoolServeOptions, type ResolvedPoolOptions } from './options.js';
import { bodyInfo, readRequestHead, refusal } from './request-head.js';
import { NodeResponseSink } from './response-sink.js';

/**
 * Serves the WSGI-TS app at `app` (a module reference: each worker thread
 * imports it) until close() is called. Resolves once the app has loaded in a
 * worker and the socket is listening; rejects if the app fails to import or
 * the address cannot be bound.
 */
export async function serve(app: ModuleRef, options: PoolServeOptions = {}): Promise<ServerHandle> {
  const opts = resolvePoolOptions(options, availableParallelism());
  const logger = options.logger ?? consoleLogger(opts.logLevel);
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
  const front = new HttpFront(runner, opts, logger);
  const server = createServer(
    {
      keepAliveTimeout: opts.timeoutKeepAlive * 1000,
      // A whole upload may take long (it streams): bound the head, and idle sockets, not the body.
      requestTimeout: 0,
      headersTimeout: 60_000,
    },
    (req, res) => front.onRequest(req, res),
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // Malformed HTTP, oversized heads: node answers 400/431; we only make sure the socket goes.
    logger.debug(`client error: ${error.code ?? error.message}`);
    if (!socket.destroyed && socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  try {
    await listen(server, opts);
  } catch (error) {
    await runner.close(0);
    throw error;
  }
  const address = boundAddress(server, opts);
  const url = 'path' in address ? `unix:${address.path}` : `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  logger.info(`tsgi pool serving ${app.module} on ${url} with ${runner.threads} worker thread(s)`);
  let closing: Promise<void> | null = null;
  return {
    address,
    url,
    close() {
      closing ??= front.shutdown(server, opts.timeoutGracefulShutdown);
      return closing;
    },
  };
}

/** Turns node:http requests into runner requests. */
class HttpFront {
  private count = 0;
  /** Requests handed to the runner whose follow-up (access log, unread body) has not run yet. */
  private active = 0;
  /** Resolves shutdown's wait once `active` is back to 0. */
  private whenIdle: (() => void) | null = null;
  private closing = false;

  constructor(
    private readonly runner: SyncRunner,
    private readonly opts: ResolvedPoolOptions,
    private readonly logger: Logger,
  ) {}

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    const n = ++this.count;
    const started = performance.now();
    const head = readRequestHead(req, this.opts.trustedHosts, this.opts.uds);
    const tag = `${head.method} ${head.target.length > 200 ? head.target.slice(0, 200) + '...' : head.target} #${n}`;
    if (this.closing || this.opts.timeoutKeepAlive === 0) res.shouldKeepAlive = false;
    const refused = refusal(req);
    if (refused !== null) {
      // Never reaches the app; the connection closes, since its framing cannot be trusted.
      this.logger.debug(`${tag}: refused with ${refused.status}: ${refused.why}`);
      res.shouldKeepAlive = false;
      void this.answerBeforeApp(res, answerFor(refused.status, refused.reason), tag).then(() => req.socket.destroySoon());
      this.accessLog(head.client, req, refused.status, started);
      return;
    }
    const info = bodyInfo(req);
    const limit = this.opts.limitMaxBodySize;
    if (limit !== null && info.contentLength !== null && info.contentLength > limit) {
      // Refuse before the app runs; the unread body is not worth draining.
      res.shouldKeepAlive = false;
      void this.answerBeforeApp(res, answerFor(413, 'Content Too Large'), tag);
      this.accessLog(head.client, req, 413, started);
      return;
    }
    const scope = buildHttpScope(head, { rootPath: this.opts.rootPath });
    const body = info.hasBody ? requestBody(req, limit) : null;
    // The sink hears the response close, so it is also the signal of the client leaving.
    const sink = new NodeResponseSink(res);
    this.active++;
    this.runner.handle(scope, body, sink, { signal: sink, tag }).then(
      (result) => {
        if (info.hasBody && !req.complete) discardUnreadBody(req, res, info.contentLength);
        this.accessLog(head.client, req, result.status, started);
        this.settled();
      },
      (error: unknown) => {
        // The runner answers app and client faults itself; reaching here is a server bug.
        this.logger.error(`${tag}: internal error in the pool server`, error);
        res.destroy();
        this.settled();
      },
    );
  }

  private settled(): void {
    if (--this.active === 0) this.whenIdle?.();
  }

  /** Stops accepting, lets in-flight requests finish (up to `graceSeconds`), then cuts what is left and ends the threads. */
  async shutdown(server: Server, graceSeconds: number | null): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const graceMs = graceSeconds === null ? Infinity : graceSeconds * 1000;
    await this.runner.close(graceMs);
    if (this.active > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
    server.closeAllConnections();
    await closed;
  }

  /** Sends one of the server's own answers (4xx/5xx) that never reached the app; a client already gone is no error. */
  private async answerBeforeApp(res: ServerResponse, answer: Answer, tag: string): Promise<void> {
    try {
      await sendAnswer(new NodeResponseSink(res), answer);
    } catch (e) {
      if (isClientDisconnected(e)) this.logger.debug(`${tag}: client left before the ${answer.status} answer was written`);
      else this.logger.error(`${tag}: could not send the ${answer.status} answer`, e);
    }
  }

  private accessLog(client: [string, number] | null, req: IncomingMessage, status: number, started: number): void {
    if (!this.opts.accessLog) return;
    const who = client === null ? '-' : `${client[0]}:${client[1]}`;
    const ms = (performance.now() - started).toFixed(1);
    this.logger.access(`${who} - "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status === 0 ? '-' : status} ${ms}ms`);
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
        throw new RequestBodyError(413, 'Content Too Large', `request body over the ${limit}-byte limit`);
      }
      yield chunk;
    }
  } catch (error) {
    if (error instanceof RequestBodyError) throw error;
    throw new ClientDisconnected(`request body cut off: ${formatError(error).split('\n')[0]}`);
  }
  if (!req.complete) throw new ClientDisconnected('request body cut off');
}

function listen(server: Server, opts: ResolvedPoolOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (opts.uds !== null) server.listen(opts.uds, done);
    else server.listen(opts.port, opts.host, done);
  });
}

function boundAddress(server: Server, opts: ResolvedPoolOptions): ServerAddress {
  const a = server.address();
  if (opts.uds !== null || typeof a === 'string' || a === null) return { path: opts.uds ?? String(a) };
  return { host: a.address, port: a.port };
}
