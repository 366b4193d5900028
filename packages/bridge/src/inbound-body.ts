/**
 * The request side of an ASGI http connection, seen from an app that hands
 * the body to someone else (a fetch handler, a sync app on a worker thread):
 * `receive()` is called only when that consumer reads (so the server's
 * socket stays paused while nobody reads), and once the body is done an
 * `http.disconnect` is watched for in the background so the consumer can be
 * told the client left. One `receive()` at a time, always.
 */
import { ClientDisconnected, type Receive } from '@tsgi/core';
import type { ClientSignal } from '@tsgi/pool';

/**
 * The request body as chunks pulled from receive(), and the signal of the
 * client leaving: an AbortSignal on request (for fetch), and the object
 * itself as the sync runner's ClientSignal.
 */
export class InboundBody implements AsyncIterable<Uint8Array>, ClientSignal {
  // Created only when someone asks for the signal: an AbortSignal costs more than the rest of a small request here.
  private controller: AbortController | null = null;
  private onAbort: (() => void) | null = null;
  private gone = false;
  private goneReason: unknown = undefined;
  private complete = false;
  private watching = false;
  private reading: Promise<unknown> | null = null;

  /**
   * `responseDone` tells whether the response is complete (see
   * ResponseProgress): http.disconnect then means the exchange is over, not
   * that the client left, and the signal is not fired.
   */
  constructor(
    private readonly receive: Receive,
    private readonly responseDone: () => boolean = () => false,
  ) {}

  /** Aborted (reason: ClientDisconnected) on http.disconnect, or when abort() is called. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.gone) this.controller.abort(this.goneReason);
    }
    return this.controller.signal;
  }

  /** True once the client is known to be gone. */
  get aborted(): boolean {
    return this.gone;
  }

  /** ClientSignal: `listener` is called once when the client is known to be gone. */
  addEventListener(_type: 'abort', listener: () => void): void {
    this.onAbort = listener;
  }

  /** Why the client is gone (a ClientDisconnected), once it is. */
  get reason(): unknown {
    return this.goneReason;
  }

  /** Marks the client gone from elsewhere (e.g. send() raised ClientDisconnected). */
  abort(reason?: unknown): void {
    if (this.gone) return;
    this.gone = true;
    this.goneReason = reason ?? new ClientDisconnected();
    this.controller?.abort(this.goneReason);
    this.onAbort?.();
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
      if (this.gone) throw this.goneReason;
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
            if (!this.responseDone()) this.abort();
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

/**
 * How far the response has gone: complete once the app's final body event is
 * on its way, or once the announced Content-Length has been sent (a server
 * may report http.disconnect as soon as those bytes are out, before the
 * app's final event).
 */
export class ResponseProgress {
  private expected: number | null = null;
  private sent = 0;
  private finished = false;

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

  /** The final body event is about to be sent. */
  finish(): void {
    this.finished = true;
  }

  /** True once the response is complete from the app's side. */
  get done(): boolean {
    return this.finished || (this.expected !== null && this.sent >= this.expected);
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
