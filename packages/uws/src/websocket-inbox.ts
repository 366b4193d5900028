/**
 * The receive side of one WebSocket connection, independent of the
 * transport: the events the client sent that the app has not received yet.
 *
 * uWebSockets.js v20.30 cannot pause reading from a WebSocket (its
 * WebSocket has no pause()/resume(), unlike HttpResponse), so an app that
 * stops calling receive() cannot slow the client down. The inbox is bounded
 * instead: past `maxMessages` queued messages or `maxBytes` queued bytes,
 * push() refuses and the transport closes the connection (1008). One message
 * is always accepted into an empty inbox, so any message up to wsMaxSize gets
 * through to an app that keeps reading.
 */
import type { WebSocketDisconnectEvent, WebSocketReceiveEventUnion } from '@tsgi/core';

/** Bounds of the inbox. */
export interface InboxLimits {
  /** Most messages queued for the app. */
  maxMessages: number;
  /** Most message bytes queued for the app (text counted as UTF-16 code units x 2, an upper bound of its memory). */
  maxBytes: number;
}

type Waiter = (event: WebSocketReceiveEventUnion) => void;

/** A bounded FIFO of receive events with at most a few pending receive() calls. */
export class WebSocketInbox {
  private items: WebSocketReceiveEventUnion[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  private waiters: Waiter[] = [];
  private end: WebSocketDisconnectEvent | null = null;

  constructor(private readonly limits: InboxLimits) {}

  /** Number of events queued and not yet received. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes of the queued messages. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** True once the disconnect event was pushed. */
  get ended(): boolean {
    return this.end !== null;
  }

  /**
   * Hands an event to a waiting receive() or queues it. Returns false, and
   * queues nothing, when the inbox is full: the caller must close the connection.
   */
  push(event: WebSocketReceiveEventUnion, size = 0): boolean {
    if (this.end !== null) return true; // nothing arrives after the end; drop silently
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(event);
      return true;
    }
    const queued = this.length;
    if (queued > 0 && (queued >= this.limits.maxMessages || this.bytes + size > this.limits.maxBytes)) return false;
    this.items.push(event);
    this.sizes.push(size);
    this.bytes += size;
    return true;
  }

  /** Ends the stream: queued messages are still delivered, then `event` to every later receive(). */
  close(event: WebSocketDisconnectEvent): void {
    if (this.end !== null) return;
    this.end = event;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(event);
  }

  /** The next event: a queued one, else the disconnect once ended, else waits. */
  receive(): Promise<WebSocketReceiveEventUnion> {
    if (this.head < this.items.length) {
      const event = this.items[this.head]!;
      this.bytes -= this.sizes[this.head]!;
      this.items[this.head] = undefined as never;
      this.head++;
      if (this.head === this.items.length) {
        this.items = [];
        this.sizes = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.sizes = this.sizes.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve(event);
    }
    if (this.end !== null) return Promise.resolve(this.end);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
