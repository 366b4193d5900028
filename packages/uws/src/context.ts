/**
 * What every part of one running server shares: the app, the resolved
 * options, the lifespan state, the logger, and the set of connections in
 * flight (for the concurrency limit and graceful shutdown). The HTTP handler
 * and the WebSocket behavior both take a ServerContext.
 */
import { IdTable, type AsgiApplication, type Extensions, type ScopeOptions } from '@tsgi/core';
import type { Logger } from './logger.js';
import type { ResolvedOptions } from './options.js';

/** Something in flight that graceful shutdown waits for: an HTTP request or a WebSocket. */
export interface TrackedConnection {
  /** Shutdown began: finish soon (a WebSocket sends close 1012; an HTTP request closes its connection after the response). */
  shutdown(): void;
  /** The graceful timeout passed: close now. Must not throw. */
  abort(): void;
  /** Set by the tracker while the connection is in it (0: not tracked). */
  trackingId: number;
}

/** The connections in flight; `drained()` resolves when none are left. An IdTable, not a Set: see why in id-table.ts of @tsgi/core. */
export class ConnectionTracker {
  private readonly live = new IdTable<TrackedConnection>();
  private waiters: Array<() => void> = [];
  /** True once shutdown began: new requests are refused (503, connection closed). */
  closing = false;

  /** Number of requests and WebSockets in flight (compared with limitConcurrency). */
  get size(): number {
    return this.live.size;
  }

  add(c: TrackedConnection): void {
    this.live.add((id) => {
      c.trackingId = id;
      return c;
    });
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

/** The shared state of one server (one event loop). */
export interface ServerContext {
  readonly app: AsgiApplication;
  readonly options: ResolvedOptions;
  /** What http scopes get: root_path, the lifespan state (copied per request) and the announced extensions. */
  readonly httpScope: ScopeOptions & { extensions: Extensions };
  /** The lifespan state: filled by the app during startup, shallow-copied into each scope. */
  readonly state: Record<string, unknown>;
  readonly logger: Logger;
  readonly connections: ConnectionTracker;
  /** `scope.server`: the bound address and port ([path, null] for a unix socket); set once listening. */
  server: [string, number | null] | null;
}
