/**
 * Request-body flow control: chunks the transport
 * reads are queued for `receive()`; when more than `highWater` bytes wait
 * unread, the transport is told to pause reading, and to resume once the app
 * has drained the queue below `lowWater`. So a 1 GiB upload to an app that
 * reads slowly holds at most about `highWater` bytes (plus the socket's own
 * buffer) in memory.
 */
import type { HttpReceiveEvent } from '../asgi/types.js';

/** What the queue asks of the transport. */
export interface ReadControl {
  pause(): void;
  resume(): void;
}

const EMPTY = new Uint8Array(0);

const DISCONNECT: HttpReceiveEvent = Object.freeze({ type: 'http.disconnect' }) as HttpReceiveEvent;

/** The request body of one exchange, as `http.request` events for `receive()`. */
export class RequestBodyQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private queued = 0;
  private paused_ = false;
  private ended: boolean;
  /** The final http.request (more_body: false) was handed out. */
  private finalDelivered = false;
  private gone = false;
  private waiter: ((e: HttpReceiveEvent) => void) | undefined;
  /** The response is complete: receive() answers http.disconnect from now on. */
  private responseDone = false;

  constructor(
    private readonly control: ReadControl,
    hasBody: boolean,
    private readonly highWater = 1024 * 1024,
    private readonly lowWater = highWater >> 2,
  ) {
    this.ended = !hasBody;
  }

  /** A chunk arrived from the client (the transport has already copied it). */
  push(chunk: Uint8Array, last: boolean): void {
    if (this.gone || this.responseDone) return;
    if (last) this.ended = true;
    const w = this.waiter;
    if (w !== undefined && this.queued === 0) {
      this.waiter = undefined;
      if (last) this.finalDelivered = true;
      w({ type: 'http.request', body: chunk, more_body: !last });
      return;
    }
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.queued += chunk.byteLength;
    }
    if (!this.paused_ && this.queued > this.highWater) {
      this.paused_ = true;
      this.control.pause();
    }
    if (w !== undefined) {
      this.waiter = undefined;
      w(this.take());
    }
  }

  /** The client went away: pending and later receive() calls get http.disconnect. */
  disconnect(): void {
    if (this.gone) return;
    this.gone = true;
    this.chunks = [];
    this.head = 0;
    this.queued = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(DISCONNECT);
  }

  /**
   * The response is complete: the rest of the body is dropped and every
   * receive() returns http.disconnect, as uvicorn does. The transport must
   * resume a paused socket before ending the response.
   */
  responseComplete(): void {
    this.responseDone = true;
    this.chunks = [];
    this.head = 0;
    this.queued = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(DISCONNECT);
  }

  /** True while the transport is told to stop reading. */
  get paused(): boolean {
    return this.paused_;
  }

  /** True when the client went away. */
  get disconnected(): boolean {
    return this.gone;
  }

  /** Bytes queued but not yet received by the app. */
  get buffered(): number {
    return this.queued;
  }

  /** The next event for the app's `receive()`. */
  receive(): Promise<HttpReceiveEvent> {
    if (this.gone || this.responseDone) return Promise.resolve(DISCONNECT);
    if (this.head < this.chunks.length || (this.ended && !this.finalDelivered)) return Promise.resolve(this.take());
    if (this.waiter !== undefined) {
      return Promise.reject(new TypeError('receive() called again before the previous receive() resolved'));
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private take(): HttpReceiveEvent {
    if (this.head >= this.chunks.length) {
      // Nothing queued: only the end of the body is left to tell.
      this.finalDelivered = true;
      return { type: 'http.request', body: EMPTY, more_body: false };
    }
    const chunk = this.chunks[this.head]!;
    this.chunks[this.head++] = EMPTY;
    this.queued -= chunk.byteLength;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    }
    const more = !(this.ended && this.head === 0 && this.chunks.length === 0);
    if (!more) this.finalDelivered = true;
    if (this.paused_ && this.queued <= this.lowWater) {
      this.paused_ = false;
      this.control.resume();
    }
    return { type: 'http.request', body: chunk, more_body: more };
  }
}
