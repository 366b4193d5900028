/**
 * The request side of an ASGI http connection, seen from an app that hands
 * the body to someone else (a fetch handler, a sync app on a worker thread):
 * `receive()` is called only when that consumer reads (so the server's
 * socket stays paused while nobody reads), and once the body is done an
 * `http.disconnect` is watched for in the background so the consumer can be
 * told the client left. One `receive()` at a time, always.
 */
import { ClientDisconnected, type Receive } from '@tsgi/core';

/** The request body as chunks pulled from receive(), and an AbortSignal fired when the client leaves. */
export class InboundBody implements AsyncIterable<Uint8Array> {
  private readonly controller = new AbortController();
  private complete = false;
  private watching = false;
  private reading: Promise<unknown> | null = null;

  /**
   * `responseSent` tells whether the whole response body is already out (its
   * Content-Length reached): a server may then report http.disconnect before
   * the app's final event, and that is not the client leaving.
   */
  constructor(
    private readonly receive: Receive,
    private readonly responseSent: () => boolean = () => false,
  ) {}

  /** Aborted (reason: ClientDisconnected) on http.disconnect, or when abort() is called. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Marks the client gone from elsewhere (e.g. send() raised ClientDisconnected). */
  abort(reason: unknown = new ClientDisconnected()): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** The next non-empty chunk, or null at the end; rejects with ClientDisconnected if the client left. */
  read(): Promise<Uint8Array | null> {
    const p = this.readOnce();
    this.reading = p;
    return p;
  }

  private async readOnce(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.complete) return null;
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      const event = await this.receive();
      if (event.type === 'http.request') {
        if (!event.more_body) {
          this.complete = true;
          // Nothing more will be read: from now on receive() only reports the disconnect.
          this.watch();
        }
        if (event.body.byteLength > 0) return event.body;
      } else if (event.type === 'http.disconnect') {
        this.watching = true; // already seen: nothing left to watch for
        const reason = new ClientDisconnected('the client disconnected before the request body was complete');
        this.abort(reason);
        throw reason;
      }
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /** The body as a pull-based ReadableStream (highWaterMark 0: nothing is read ahead). */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.read();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        // The consumer gave up on the body: the rest is drained while watching for the disconnect.
        cancel: () => this.watch(),
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * Watches for http.disconnect in the background, once the consumer will
   * read no more (body complete, cancelled, or absent). Any body events still
   * due are drained. While the consumer may still read, receive() is its
   * own; a disconnect then shows as a failing read or send().
   */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    void (async () => {
      try {
        if (this.reading !== null) await this.reading.catch(() => {});
        for (;;) {
          const event = await this.receive();
          if (event.type === 'http.disconnect') {
            if (!this.responseSent()) this.abort();
            return;
          }
          // After the final body event only a disconnect may come: a server that says otherwise is not watched.
          if (this.complete) return;
          if (event.type === 'http.request' && !event.more_body) this.complete = true;
        }
      } catch {
        // The server ended the request: nothing more to watch.
      }
    })();
  }
}

/** Counts response body bytes against the Content-Length the response announced. */
export class SentLength {
  private expected: number | null = null;
  private sent = 0;

  /** Records the response headers (any name case). */
  start(headers: Iterable<readonly [string, string]>): void {
    for (const [name, value] of headers) {
      if (name.length === 14 && name.toLowerCase() === 'content-length') this.expected = Number(value);
    }
  }

  /** Records body bytes sent. */
  body(n: number): void {
    this.sent += n;
  }

  /** True once the announced Content-Length has been sent in full. */
  get complete(): boolean {
    return this.expected !== null && this.sent >= this.expected;
  }
}

/** True when the request has a body to read: a Content-Length above 0 or a Transfer-Encoding (RFC 9112 6.1). */
export function hasRequestBody(headers: ReadonlyArray<readonly [string, string]>): boolean {
  for (const [name, value] of headers) {
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length') return value.trim() !== '0';
  }
  return false;
}
