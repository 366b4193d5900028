/**
 * A Response body fed by an ASGI app's `send()` with backpressure: each
 * `write()` resolves only once the stream's reader has asked for more (or,
 * with a high-water mark above 0, while the queue is below it). Cancelling
 * the stream (the client went away) makes pending and later writes reject
 * with ClientDisconnected.
 */
import { ClientDisconnected } from '@tsgi/core';

/** The writable end of a pull-driven ReadableStream of bytes. */
export class ResponseBody {
  readonly stream: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private waiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  private cancelled: ClientDisconnected | null = null;
  private closed = false;

  /** `onCancel` runs once if the reader cancels the stream (the client is gone). */
  constructor(highWaterMark: number, onCancel: (reason: unknown) => void) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          const w = this.waiter;
          this.waiter = null;
          w?.resolve();
        },
        cancel: (reason) => {
          this.cancelled = new ClientDisconnected('the response body was cancelled by its reader');
          const w = this.waiter;
          this.waiter = null;
          w?.reject(this.cancelled);
          onCancel(reason);
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark }),
    );
  }

  /** Queues one chunk; resolves when the reader wants more. Rejects with ClientDisconnected once cancelled. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.cancelled !== null) throw this.cancelled;
    if (this.closed) throw new ClientDisconnected('the response body was already ended');
    this.controller.enqueue(chunk);
    if ((this.controller.desiredSize ?? 0) > 0) return;
    await new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Ends the body normally. */
  close(): void {
    if (this.closed || this.cancelled !== null) return;
    this.closed = true;
    this.controller.close();
  }

  /** Ends the body with an error: the host cuts the response (the client sees it truncated). */
  error(reason: unknown): void {
    if (this.closed || this.cancelled !== null) return;
    this.closed = true;
    this.controller.error(reason);
    // A write waiting for the reader will never be pulled now.
    const w = this.waiter;
    this.waiter = null;
    w?.reject(reason);
  }
}
