/**
 * The sans-IO driver of one WSGI call: it calls the app, implements
 * start_response and write(), iterates the response, and tells a sink what
 * to put on the wire and when. It knows nothing of sockets or threads: the
 * pool's worker thread, the bridge (through the same runner) and the
 * in-process test client each provide a sink.
 *
 * PEP 3333 rules it enforces (each broken rule is a ProtocolError naming its
 * clause in spec/wsgi.md):
 * - headers go out only with the first non-empty chunk, the first write()
 *   call, or at the end of an empty body;
 * - start_response once, or again only with exc_info; exc_info is re-raised
 *   once headers were sent;
 * - a Content-Length from the app is honored and enforced both ways;
 * - the iterable's close() is called exactly once, however the call ends.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import type { ByteString } from '../bytes.js';
import { describe } from '../bytes.js';
import { ClientDisconnected, ProtocolError, isClientDisconnected } from '../errors.js';
import { checkBodyChunk, checkResponseHeaders, checkStatus } from './checks.js';
import type { FileLike, FileWrapper, StartResponse, WriteCallable, WsgiApplication, WsgiEnviron, WsgiHeaders, WsgiResponse } from './types.js';

/** Where the driver puts the response; the host turns it into bytes on a wire (or events, or memory). */
export interface WsgiSink {
  /** The status and headers; called once, right before the first body bytes or at the end of an empty body. */
  start(status: number, reason: ByteString, headers: WsgiHeaders): void;
  /**
   * One non-empty body chunk. May block until the client takes more; throws
   * ClientDisconnected once it is gone. `batch` is true when the driver
   * already holds what comes next (a list response, the 500 answer): no app
   * code runs before the next call, so the sink may hold this chunk and send
   * it together with what follows. When false the chunk must go out now
   * (a generator may sleep before its next chunk).
   */
  body(chunk: Uint8Array, batch: boolean): void;
  /** The body is complete. */
  end(): void;
  /** The response cannot be completed after its headers went out: close the connection so the client sees it cut. */
  abort(error: unknown): void;
}

/** How a call ended, for the access log and the host's bookkeeping. */
export interface CallResult {
  /** The status sent to the client; 0 when nothing was sent (the client left first). */
  status: number;
  /** Body bytes the app produced (for a bodiless response, what it yielded before iteration stopped). */
  bytes: number;
  /** complete; error (500 sent, nothing of the app's got out); aborted (cut after headers); disconnected (client left). */
  outcome: 'complete' | 'error' | 'aborted' | 'disconnected';
}

/** Options of callWsgiApp. */
export interface CallOptions {
  /** Logs an app exception or protocol error; defaults to writing the stack to environ['wsgi.errors']. */
  onError?: (error: unknown) => void;
}

const INTERNAL_ERROR_BODY = new TextEncoder().encode('Internal Server Error\n');
const INTERNAL_ERROR_HEADERS: WsgiHeaders = [
  ['Content-Type', 'text/plain; charset=utf-8'],
  ['Content-Length', String(INTERNAL_ERROR_BODY.byteLength)],
];

/**
 * Runs one WSGI call of `app` against `environ`, driving `sink`. Never
 * throws for an app's fault: an exception before the headers went out gives
 * a 500 (logged, nothing leaked), after that the sink is aborted. Returns how
 * the call ended.
 */
export function callWsgiApp(app: WsgiApplication, environ: WsgiEnviron, sink: WsgiSink, options: CallOptions = {}): CallResult {
  return new WsgiCall(environ, sink, options.onError ?? ((e) => logToErrors(environ, e))).run(app);
}

/** The state of one call: what start_response set, what has been sent. */
class WsgiCall {
  private status: { code: number; reason: string } | null = null;
  private headers: WsgiHeaders = [];
  private headersSent = false;
  /** The app's Content-Length, or (for a list response) the length the driver computed; null when unknown. */
  private contentLength: number | null = null;
  private appContentLength = false;
  private knownLength: number | null = null;
  private sent = 0;
  private disconnected = false;
  /** HEAD, 1xx, 204 and 304 responses carry no body: iteration stops once headers are final. */
  private readonly isHead: boolean;
  private noBody = false;

  readonly startResponse: StartResponse;
  readonly write: WriteCallable;

  constructor(
    private readonly environ: WsgiEnviron,
    private readonly sink: WsgiSink,
    private readonly onError: (error: unknown) => void,
  ) {
    this.isHead = environ.REQUEST_METHOD === 'HEAD';
    this.startResponse = (status, headers, excInfo) => this.doStartResponse(status, headers, excInfo);
    this.write = (data) => this.doWrite(data);
  }

  run(app: WsgiApplication): CallResult {
    let response: WsgiResponse | undefined;
    try {
      response = app(this.environ, this.startResponse);
      if (response === null || response === undefined || typeof (response as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') {
        throw new ProtocolError('wsgi.app.return.1', 'the app must return an iterable of Uint8Array chunks', response);
      }
      const isList = Array.isArray(response);
      if (isList) this.knownLength = arrayLength(response as unknown as readonly unknown[]);
      // for-of calls a generator's return() if we stop early, so its finally blocks run too.
      for (const item of response) {
        const chunk = checkBodyChunk(item, 'wsgi.response.chunk.1');
        if (chunk.byteLength === 0) continue;
        if (this.status === null) {
          throw new ProtocolError('wsgi.start_response.before_body.1', 'start_response must be called before the first non-empty body chunk', chunk);
        }
        this.send(chunk, isList);
        // No body to send (HEAD, 204, 304): the headers are final, so stop iterating (spec 8.2).
        if (this.noBody) break;
      }
      if (this.status === null) {
        throw new ProtocolError('wsgi.start_response.before_body.1', 'the app returned without calling start_response', undefined);
      }
      if (this.disconnected) return this.result('disconnected');
      if (!this.headersSent) this.sendHeaders();
      if (this.appContentLength && !this.noBody && this.sent < this.contentLength!) {
        throw new ProtocolError(
          'wsgi.response.content_length.2',
          `the body ended after ${this.sent} bytes, short of its Content-Length ${this.contentLength}`,
          this.sent,
        );
      }
      this.sink.end();
      return this.result('complete');
    } catch (error) {
      return this.fail(error);
    } finally {
      this.close(response);
    }
  }

  private doStartResponse(status: unknown, headers: unknown, excInfo?: unknown): WriteCallable {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: too late to change the response; re-raise so the app's error propagates.
      if (this.headersSent) throw excInfo;
    } else if (this.status !== null) {
      throw new ProtocolError('wsgi.start_response.once.1', 'start_response must not be called a second time without exc_info', status);
    }
    const st = checkStatus(status);
    const hs = checkResponseHeaders(headers);
    this.status = st;
    this.headers = hs;
    this.contentLength = null;
    this.appContentLength = false;
    for (const [name, value] of hs) {
      if (name.length === 14 && name.toLowerCase() === 'content-length') {
        this.contentLength = Number(value);
        this.appContentLength = true;
      }
    }
    this.noBody = this.isHead || st.code === 204 || st.code === 304 || st.code < 200;
    return this.write;
  }

  private doWrite(data: unknown): void {
    if (this.status === null) {
      throw new ProtocolError('wsgi.start_response.before_body.1', 'write() must not be called before start_response', data);
    }
    const chunk = checkBodyChunk(data, 'wsgi.write.chunk.1');
    // The list length computed up front no longer holds once the app writes too.
    this.knownLength = null;
    if (!this.headersSent) this.sendHeaders();
    if (chunk.byteLength > 0) this.send(chunk, false);
  }

  private sendHeaders(): void {
    const st = this.status!;
    let headers = this.headers;
    if (!this.appContentLength && this.knownLength !== null && !(st.code === 204 || st.code === 304 || st.code < 200)) {
      // A list response has a known length: say so and spare the client chunked encoding.
      headers = [...headers, ['Content-Length', String(this.knownLength)]];
    }
    this.headersSent = true;
    this.sink.start(st.code, st.reason, headers);
  }

  private send(chunk: Uint8Array, batch: boolean): void {
    // An app that swallowed the disconnect from write() learns again on its next chunk.
    if (this.disconnected) throw new ClientDisconnected();
    if (!this.headersSent) this.sendHeaders();
    const total = this.sent + chunk.byteLength;
    if (this.appContentLength && !this.noBody && total > this.contentLength!) {
      throw new ProtocolError(
        'wsgi.response.content_length.1',
        `the app sent more body than its Content-Length ${this.contentLength}`,
        total,
      );
    }
    this.sent = total;
    if (this.noBody) return;
    try {
      this.sink.body(chunk, batch);
    } catch (error) {
      if (isClientDisconnected(error)) this.disconnected = true;
      throw error;
    }
  }

  private fail(error: unknown): CallResult {
    if (this.disconnected || isClientDisconnected(error)) {
      // The client left: not the app's fault, nothing to log or answer.
      this.disconnected = true;
      return this.result('disconnected');
    }
    this.onError(error);
    if (this.headersSent) {
      this.sink.abort(error);
      return this.result('aborted');
    }
    try {
      this.headersSent = true;
      this.status = { code: 500, reason: 'Internal Server Error' };
      this.sink.start(500, 'Internal Server Error', INTERNAL_ERROR_HEADERS);
      if (!this.isHead) this.sink.body(INTERNAL_ERROR_BODY, true);
      this.sink.end();
    } catch (sinkError) {
      if (!isClientDisconnected(sinkError)) throw sinkError;
      return this.result('disconnected');
    }
    return this.result('error');
  }

  /** close() exactly once, whatever happened; its own exception is logged, never raised. */
  private close(response: WsgiResponse | undefined): void {
    if (response === null || response === undefined) return;
    const close = (response as { close?: unknown }).close;
    if (typeof close !== 'function') return;
    try {
      close.call(response);
    } catch (error) {
      this.onError(error);
    }
  }

  private result(outcome: CallResult['outcome']): CallResult {
    return { status: this.headersSent && this.status !== null ? this.status.code : 0, bytes: this.sent, outcome };
  }
}

/** The total length of a list response when every item is a Uint8Array; null otherwise (the loop reports it). */
function arrayLength(items: readonly unknown[]): number | null {
  let n = 0;
  for (const item of items) {
    if (!(item instanceof Uint8Array)) return null;
    n += item.byteLength;
  }
  return n;
}

function logToErrors(environ: WsgiEnviron, error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : `non-Error thrown: ${describe(error)}`;
  try {
    environ['wsgi.errors'].write(text + '\n');
    environ['wsgi.errors'].flush();
  } catch {
    // A broken error stream must not turn one failure into two.
  }
}

// ---- wsgi.file_wrapper ----------------------------------------------------

/** Default block size of wsgi.file_wrapper: 64 KiB keeps per-chunk overhead (a thread hop each) low. */
export const FILE_BLOCK_SIZE = 65536;

/** The iterable wsgi.file_wrapper returns: reads `blockSize` bytes at a time, closes the file on close(). */
export class FileResponse implements Iterable<Uint8Array> {
  private closed = false;
  constructor(
    /** The wrapped file-like object (a host may stream it natively when it has fileno()). */
    readonly filelike: FileLike,
    readonly blockSize: number = FILE_BLOCK_SIZE,
  ) {
    if (!Number.isInteger(blockSize) || blockSize <= 0) {
      throw new ProtocolError('wsgi.file_wrapper.block_size.1', 'file_wrapper block size must be a positive integer', blockSize);
    }
  }

  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (;;) {
      const block = this.filelike.read(this.blockSize);
      if (block.byteLength === 0) return;
      yield block;
    }
  }

  /** Closes the file (PEP 3333: the wrapper's close() calls the file's). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.filelike.close?.();
  }
}

/** `wsgi.file_wrapper`: streams a file-like object block by block, never reading it whole. */
export const fileWrapper: FileWrapper = (file, blockSize) => new FileResponse(file, blockSize);

/** Opens a file for reading as a FileLike (blocking reads), e.g. to hand to wsgi.file_wrapper. */
export function openFile(path: string): FileLike {
  const fd = openSync(path, 'r');
  let open = true;
  return {
    read(size: number): Uint8Array {
      if (!open) throw new Error(`read from closed file ${path}`);
      // A fresh buffer per block: the host may still hold the previous one.
      const buf = Buffer.allocUnsafe(size);
      const n = readSync(fd, buf, 0, size, null);
      return n === size ? buf : buf.subarray(0, n);
    },
    close(): void {
      if (open) {
        open = false;
        closeSync(fd);
      }
    },
    fileno: () => fd,
  };
}
