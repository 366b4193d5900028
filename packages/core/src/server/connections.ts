/**
 * The requests and WebSockets a server has in flight: counted for the
 * concurrency limit, told to finish when graceful shutdown begins, closed
 * when its timeout passes, and awaited until none is left.
 */
import { IdTable } from './id-table.js';

/** Something in flight that graceful shutdown waits for: an HTTP request or a WebSocket. */
export interface TrackedConnection {
  /** Shutdown began: finish soon (a WebSocket sends close 1012; an HTTP request closes its connection after the response). */
  shutdown(): void;
  /** The graceful timeout passed: close now. Must not throw. */
  abort(): void;
  /** Set by the tracker while the connection is in it (0: not tracked). */
  trackingId: number;
}

/** The connections in flight; `drained()` resolves when none are left. An IdTable, not a Set (id-table.ts says why). */
export class ConnectionTracker {
  private readonly live = new IdTable<TrackedConnection>();
  private waiters: Array<() => void> = [];
  /** True once shutdown began: each response closes its connection, and new WebSockets are refused. */
  closing = false;

  /** Number of requests and WebSockets in flight (compared with limitConcurrency). */
  get size(): number {
    return this.live.size;
  }

  add(c: TrackedConnection): void {
    c.trackingId = this.live.insert(c);
  }

  delete(c: TrackedConnection): void {
    if (c.trackingId === 0) return;
    this.live.delete(c.trackingId);
    c.trackingId = 0;
    if (this.live.size === 0 && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  /** Marks the server closing and tells every connection to finish. */
  beginShutdown(): void {
    this.closing = true;
    for (const c of this.live.values()) c.shutdown();
  }

  /** Resolves when nothing is in flight. */
  drained(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes everything still in flight. */
  abortAll(): void {
    for (const c of this.live.values()) c.abort();
  }
}
