/**
 * One HTTP/1.x request of an Http1Connection, as an HttpExchange sees it:
 * the source of its body and the sink of its response, framed as
 * @tsgi/core's frameHttp1Response says (node:http's choices). The head
 * waits for the first body bytes and goes out in the same write. A response
 * pipelined behind others buffers its output until the connection gives it
 * its turn on the socket.
 */
import type { Socket } from 'node:net';
import type { ByteString } from '@tsgi/core';
import { chunkLine, frameHttp1Response, lastChunk } from '@tsgi/core/server';
import { checkEarlyHintLinks } from './early-hints.js';
import type { RequestSource, ResponseSink } from './http-exchange.js';

/** What a response needs of its connection. */
export interface ResponseConnection {
  readonly socket: Socket;
  /** `Connection: keep-alive` and the `Keep-Alive` field, as head lines. */
  readonly keepAliveLines: string;
  /** Write a Date field (the server's dateHeader option). */
  readonly sendDate: boolean;
  /** The response wrote its last byte to the socket: the connection moves on. */
  responseFinished(res: Http1Response): void;
  /** Stop (or go back to) reading the socket while the app leaves the body unread. */
  pauseBody(): void;
  resumeBody(): void;
}

/** Output held while the response waits behind pipelined ones. */
interface Held {
  data: string | Uint8Array;
  encoding: BufferEncoding | undefined;
  callback: ((error?: Error | null) => void) | undefined;
}

/** node's write high-water mark for a response waiting its turn: under it, write() says go on. */
const HELD_HIGH_WATER = 64 * 1024;

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';

let dateCache: string | null = null;

/** The Date field's value (RFC 9110 section 5.6.7), made at most once a second. */
function httpDate(): string {
  if (dateCache === null) {
    const now = new Date();
    dateCache = now.toUTCString();
    setTimeout(() => (dateCache = null), 1000 - now.getMilliseconds()).unref();
  }
  return dateCache;
}

/** The request and response sides of one HTTP/1.x request. */
export class Http1Response implements RequestSource, ResponseSink {
  /** The next response in the connection's queue (pipelining). */
  next: Http1Response | null = null;
  /** This response has the socket: its output goes straight to it. */
  private active = false;
  /** The request body was read to its end. */
  complete = false;
  private onData: ((chunk: Buffer) => void) | null = null;
  private onEnd: (() => void) | null = null;
  /** The connection stays open after this response; false makes it the last (`Connection: close`). */
  shouldKeepAlive: boolean;
  /** The connection closes once this response is out. */
  last = false;
  /** The client waits for 100 Continue before sending its body: answered without it, the connection cannot be reused. */
  expectContinue = false;
  headersSent = false;
  /** All of the response is in the kernel. */
  writableFinished = false;
  /** The head, generated and not yet written. */
  private head: string | null = null;
  private chunked = false;
  private ended = false;
  private held: Held[] | null = null;
  private heldBytes = 0;
  private destroyWhenActive = false;
  private finishListener: (() => void) | null = null;
  private trailerFields: ReadonlyArray<[ByteString, ByteString]> | null = null;
  /** The callback of the response's last write: made at end(). */
  private onWritten: (() => void) | undefined;

  constructor(
    private readonly conn: ResponseConnection,
    /** HTTP/1.1 (else 1.0: no chunked coding, close unless the client asked for keep-alive). */
    private readonly http11: boolean,
    /** The request was HEAD: the head is written, the body never. */
    private readonly isHead: boolean,
    keepAlive: boolean,
  ) {
    this.shouldKeepAlive = keepAlive;
  }

  // ---- The request side ---------------------------------------------------

  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'data' | 'end', listener: ((chunk: Buffer) => void) | (() => void)): this {
    if (event === 'data') this.onData = listener as (chunk: Buffer) => void;
    else this.onEnd = listener as () => void;
    return this;
  }
  pause(): void {
    if (!this.complete) this.conn.pauseBody();
  }
  resume(): void {
    this.conn.resumeBody();
  }
  /** A piece of the request body (the connection's parser made it; nobody else holds it). */
  bodyChunk(chunk: Buffer): void {
    this.onData?.(chunk);
  }
  /** The request body ended. */
  bodyEnd(): void {
    this.complete = true;
    this.onEnd?.();
  }

  // ---- The response side --------------------------------------------------

  /** The socket once this response has it; null while it waits behind pipelined ones. */
  get socket(): Socket | null {
    return this.active ? this.conn.socket : null;
  }

  /** Generates the head (frameHttp1Response); it goes out with the first body bytes. */
  writeHead(status: number, reason: string, fields: string[], _trailers?: boolean): void {
    // The body the client holds back may still come, or never: no next request can be read after it (as node:http does).
    if (this.expectContinue) this.shouldKeepAlive = false;
    const conn = this.conn;
    const framing = frameHttp1Response(status, reason, fields, {
      http11: this.http11,
      isHead: this.isHead,
      keepAlive: this.shouldKeepAlive,
      date: conn.sendDate ? httpDate() : null,
      keepAliveLines: conn.keepAliveLines,
    });
    this.head = framing.head;
    this.chunked = framing.chunked;
    this.last = framing.close;
    this.headersSent = true;
  }

  writeContinue(): void {
    this.expectContinue = false;
    this.out(CONTINUE, 'latin1', undefined, false);
  }

  /** `103 Early Hints` with one Link field, the links comma-separated (RFC 8288 allows either form). */
  writeEarlyHints(hints: { link: string[] }): void {
    checkEarlyHintLinks(hints.link);
    this.out(`HTTP/1.1 103 Early Hints\r\nLink: ${hints.link.join(', ')}\r\n\r\n`, 'latin1', undefined, false);
  }

  /** A body chunk (a chunk of the chunked coding on a chunked response); false when the caller should wait for `callback`. */
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean {
    if (!this.chunked) return this.out(chunk, undefined, callback, true);
    // An empty chunk would be the chunked coding's end: there is nothing to write.
    if (chunk.byteLength === 0) {
      process.nextTick(callback);
      return true;
    }
    const socket = this.active ? this.conn.socket : null;
    socket?.cork();
    this.out(chunkLine(chunk.byteLength), 'latin1', undefined, true);
    this.out(chunk, undefined, undefined, true);
    const ok = this.out('\r\n', 'latin1', callback, true);
    socket?.uncork();
    return ok;
  }

  /** The last of the response: `chunk` (when given and the response has a body), then the chunked coding's end with any trailers. */
  end(chunk?: Uint8Array | string, encoding?: BufferEncoding): void {
    if (this.ended) return;
    this.ended = true;
    const done = (this.onWritten ??= () => this.finish());
    const hasData = chunk !== undefined && !this.isHead && (typeof chunk === 'string' ? chunk.length > 0 : chunk.byteLength > 0);
    if (this.chunked) {
      const socket = this.active ? this.conn.socket : null;
      socket?.cork();
      if (hasData) {
        const n = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk!.byteLength;
        this.out(chunkLine(n), 'latin1', undefined, true);
        this.out(chunk!, encoding, undefined, true);
        this.out(`\r\n${lastChunk(this.trailerFields)}`, 'latin1', done, true);
      } else this.out(lastChunk(this.trailerFields), 'latin1', done, true);
      socket?.uncork();
    } else if (hasData) {
      this.out(chunk!, encoding, done, true);
    } else {
      this.out('', 'latin1', done, true);
    }
    // The socket took everything at once: finished now, not a tick later.
    if (this.active && this.conn.socket.writableLength === 0) this.finish();
  }

  once(_event: 'finish', listener: () => void): this {
    this.finishListener = listener;
    return this;
  }

  addTrailers(fields: ReadonlyArray<[ByteString, ByteString]>): void {
    this.trailerFields = fields;
  }

  /** Closes the connection: now if this response has the socket, else when it gets it. */
  destroy(): void {
    if (this.active) this.conn.socket.destroy();
    else this.destroyWhenActive = true;
  }

  // ---- Driven by the connection -------------------------------------------

  /** This response's turn on the socket: what it held goes out. */
  activate(): void {
    this.active = true;
    const socket = this.conn.socket;
    if (this.destroyWhenActive) {
      socket.destroy();
      return;
    }
    const held = this.held;
    if (held !== null) {
      this.held = null;
      socket.cork();
      for (const h of held) socket.write(h.data, h.encoding as BufferEncoding, h.callback);
      socket.uncork();
    }
    if (this.ended && socket.writableLength === 0) this.finish();
  }

  /** The socket closed with this response's output not all written: callbacks still waiting hear it. */
  abandon(): void {
    const held = this.held;
    this.held = null;
    if (held === null) return;
    const error = new Error('the connection closed before the response was written');
    for (const h of held) h.callback?.(error);
  }

  /**
   * Writes (or holds) one piece, the head first when it has not gone yet
   * (`withHead`): joined into one string when the piece is text, so a
   * small response is one write.
   */
  private out(data: string | Uint8Array, encoding: BufferEncoding | undefined, callback: ((error?: Error | null) => void) | undefined, withHead: boolean): boolean {
    const head = withHead ? this.head : null;
    if (head !== null) {
      this.head = null;
      if (typeof data === 'string' && encoding === 'latin1') {
        data = head + data;
        encoding = 'latin1';
      } else this.put(head, 'latin1', undefined);
    }
    return this.put(data, encoding, callback);
  }

  private put(data: string | Uint8Array, encoding: BufferEncoding | undefined, callback: ((error?: Error | null) => void) | undefined): boolean {
    if (this.active) return this.conn.socket.write(data, encoding as BufferEncoding, callback);
    (this.held ??= []).push({ data, encoding, callback });
    this.heldBytes += typeof data === 'string' ? data.length : data.byteLength;
    return this.heldBytes < HELD_HIGH_WATER;
  }

  private finish(): void {
    if (this.writableFinished) return;
    this.writableFinished = true;
    this.conn.responseFinished(this);
    const listener = this.finishListener;
    this.finishListener = null;
    listener?.();
  }
}
