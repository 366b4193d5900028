/**
 * One HTTP/2 stream of node:http2's core API, seen through the calls an
 * HttpExchange makes of node:http's request and response. node:http2's
 * compatibility API offers the same calls, but builds a request and a
 * response object with a dozen listeners on the stream for each request;
 * this object is one, with two listeners ('error' and 'close'), and asks
 * node for a trailer callback only when trailers will be sent.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { ByteString } from '@tsgi/core';
import { checkEarlyHintLinks } from './early-hints.js';
import type { RequestSource, ResponseSink } from './http-exchange.js';

const noop = (): void => {};

/** respond()'s options, with `sendDate`, which node:http2 reads but its typings leave out. */
type RespondOptions = NonNullable<Parameters<ServerHttp2Stream['respond']>[1]> & { sendDate?: boolean };

/** The request and response sides of one stream. */
export class Http2StreamIO implements RequestSource, ResponseSink {
  /** HTTP/2 streams are never pipelined behind others: nothing waits for a socket. */
  readonly socket: Socket | null = null;
  private trailerFields: OutgoingHttpHeaders | null = null;

  constructor(
    readonly stream: ServerHttp2Stream,
    /** Add a Date header to each response head (node:http2's sendDate). */
    private readonly sendDate: boolean,
  ) {
    // A stream reset or broken by the peer emits 'error': its 'close' (listened for by the exchange) is what counts.
    stream.on('error', noop);
  }

  // ---- The request side ---------------------------------------------------

  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'data' | 'end', listener: (chunk: Buffer) => void): this {
    this.stream.on(event, listener);
    return this;
  }
  pause(): void {
    this.stream.pause();
  }
  resume(): void {
    this.stream.resume();
  }
  /** The request body was read to its end. */
  get complete(): boolean {
    return this.stream.readableEnded;
  }

  // ---- The response side --------------------------------------------------

  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  get writableFinished(): boolean {
    return this.stream.writableFinished;
  }

  /**
   * The response head as one HEADERS frame: the flat [name, value, ...] list
   * becomes node:http2's object of fields (a repeated name as an array, its
   * values in order). HTTP/2 has no reason phrase. `trailers`: a trailer
   * block will end the response (addTrailers gives it).
   */
  writeHead(status: number, _reason: string, fields: string[], trailers = false): void {
    const headers: OutgoingHttpHeaders = { ':status': status };
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      const had = headers[name];
      if (had === undefined) headers[name] = value;
      else if (Array.isArray(had)) had.push(value);
      else headers[name] = [had as string, value];
    }
    const stream = this.stream;
    if (trailers) stream.once('wantTrailers', () => stream.sendTrailers(this.trailerFields ?? {}));
    // No options object unless one is needed: respond() copies whatever it is given.
    if (trailers) stream.respond(headers, { waitForTrailers: true, sendDate: this.sendDate } as RespondOptions);
    else if (this.sendDate) stream.respond(headers);
    else stream.respond(headers, { sendDate: false } as RespondOptions);
  }

  /** `100 Continue`: an informational HEADERS frame. */
  writeContinue(): void {
    if (!this.stream.headersSent) this.stream.additionalHeaders({ ':status': 100 });
  }

  /** `103 Early Hints` with one `link` field; a link that is not `<uri>; param=value...` is refused, as node:http refuses it. */
  writeEarlyHints(hints: { link: string[] }): void {
    checkEarlyHintLinks(hints.link);
    this.stream.additionalHeaders({ ':status': 103, link: hints.link.join(', ') });
  }

  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean {
    return this.stream.write(chunk, callback);
  }

  end(chunk?: Uint8Array | string, encoding?: BufferEncoding): void {
    // respond() already ended a stream whose response has no body (HEAD, 204, 304).
    if (this.stream.writableEnded) return;
    if (chunk === undefined) this.stream.end();
    else if (encoding === undefined) this.stream.end(chunk);
    else this.stream.end(chunk, encoding);
  }

  once(event: 'finish', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  /** The trailer block (repeated names joined, as RFC 9110 section 5.3 allows), sent when node asks after the last DATA frame. */
  addTrailers(fields: ReadonlyArray<[ByteString, ByteString]>): void {
    const trailers: OutgoingHttpHeaders = (this.trailerFields ??= {});
    for (const [name, value] of fields) trailers[name] = name in trailers ? `${trailers[name] as string}, ${value}` : value;
  }

  /** Resets the stream: only this request is lost, the connection's other streams go on. */
  destroy(): void {
    this.stream.destroy();
  }
}
