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
 *
 * A transport that can pause its socket (ws on node:http) passes an
 * InboxFlow instead: push() then never refuses; past the bounds the inbox
 * asks the transport to stop reading, and to read again once the app has
 * taken the queue down to half of both bounds.
 */
import type { WebSocketDisconnectEvent, WebSocketReceiveEventUnion } from '../asgi/types.js';

/** Bounds of the inbox. */
export interface InboxLimits {
  /** Most messages queued for the app. */
  maxMessages: number;
  /** Most message bytes queued for the app (text counted as UTF-16 code units x 2, an upper bound of its memory). */
  maxBytes: number;
}

/** Flow control of a transport that can stop reading its socket. */
export interface InboxFlow {
  /** The inbox is at its bounds: stop reading (messages already parsed may still arrive). */
  pause(): void;
  /** The app took the queue down to half of its bounds: read again. */
  resume(): void;
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
  private paused_ = false;

  /** With `flow`, the bounds pause the transport instead of refusing messages. */
  constructor(
    private readonly limits: InboxLimits,
    private readonly flow?: InboxFlow,
  ) {}

  /** True while the transport was told to stop reading (only with an InboxFlow). */
  get paused(): boolean {
    return this.paused_;
  }

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
   * queues nothing, when the inbox is full: the caller must close the
   * connection. With an InboxFlow it always queues (and pauses the transport
   * once the queue reaches its bounds).
   */
  push(event: WebSocketReceiveEventUnion, size = 0): boolean {
    if (this.end !== null) return true; // nothing arrives after the end; drop silently
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(event);
      return true;
    }
    const queued = this.length;
    const flow = this.flow;
    if (flow === undefined && queued > 0 && (queued >= this.limits.maxMessages || this.bytes + size > this.limits.maxBytes)) return false;
    this.items.push(event);
    this.sizes.push(size);
    this.bytes += size;
    if (flow !== undefined && !this.paused_ && (queued + 1 >= this.limits.maxMessages || this.bytes >= this.limits.maxBytes)) {
      this.paused_ = true;
      flow.pause();
    }
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
      if (this.paused_ && this.end === null && this.length * 2 <= this.limits.maxMessages && this.bytes * 2 <= this.limits.maxBytes) {
        this.paused_ = false;
        this.flow!.resume();
      }
      return Promise.resolve(event);
    }
    if (this.end !== null) return Promise.resolve(this.end);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
