/**
 * The runner's ResponseSink over a node:http ServerResponse: headers go out
 * as the app spelled them (order, case and duplicates kept), a body write
 * settles once node handed it to the socket (that wait is what blocks the
 * worker thread of a slow client), and abort() cuts the connection.
 *
 * The same object is the request's ClientSignal: it hears the response
 * close, so it also tells the runner when the client left before the
 * response was complete. And it is what graceful shutdown tracks for the
 * request. One object with one 'close' listener per request, instead of a
 * set of closures and an AbortController.
 */
import type { ServerResponse } from 'node:http';
import { ClientDisconnected, type WsgiHeaders } from '@tsgi/core';
import type { TrackedConnection } from '@tsgi/core/server';
import type { ClientSignal, ResponseSink } from '../runner/types.js';

/** A pending body write: the runner writes one chunk at a time. */
interface PendingWrite {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** The sink writing to one ServerResponse, the signal of its client leaving, and its request in the server's ConnectionTracker. */
export class NodeResponseSink implements ResponseSink, ClientSignal, TrackedConnection {
  // body() settles when node has handed the chunk to the socket: the runner may reuse its bytes then.
  readonly releasesChunks = true;
  /** The client left before the response was complete. */
  aborted = false;
  trackingId = 0;
  private onAbort: (() => void) | null = null;
  // At most one write is pending, and a close must settle it (node does not always call back writes on a dead socket).
  private pending: PendingWrite | null = null;
  private readonly written = (error?: Error | null): void => {
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    if (error) p.reject(new ClientDisconnected());
    else p.resolve();
  };

  constructor(
    private readonly res: ServerResponse,
    /** The server's own headers (server, --header), flat, written before the app's. */
    private readonly defaults: readonly string[] = [],
  ) {
    res.once('close', () => this.closed());
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.onAbort = listener;
  }

  start(status: number, reason: string, headers: WsgiHeaders): void {
    this.writeHead(status, reason, headers);
  }

  /** A whole small response: head and body leave in one write. */
  respond(status: number, reason: string, headers: WsgiHeaders, body: readonly Uint8Array[]): void {
    const res = this.res;
    if (res.destroyed) throw new ClientDisconnected();
    this.writeHead(status, reason, headers);
    if (body.length === 1) res.end(body[0]);
    else {
      for (const chunk of body) res.write(chunk);
      res.end();
    }
  }

  body(chunk: Uint8Array): Promise<void> {
    if (this.res.destroyed) throw new ClientDisconnected();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.res.write(chunk, this.written);
    });
  }

  end(): void {
    this.res.end();
  }

  /** Cuts the connection: the runner gave up on the response, or graceful shutdown ran out of time. */
  abort(): void {
    this.res.destroy();
  }

  /** Shutdown began: the connection closes after this response (if its head is not out yet, it says so). */
  shutdown(): void {
    this.res.shouldKeepAlive = false;
  }

  private writeHead(status: number, reason: string, headers: WsgiHeaders): void {
    // node takes raw headers as one flat [name, value, name, value, ...] list and sends them as is.
    const flat: string[] = this.defaults.length === 0 ? [] : this.defaults.slice();
    let connection = false;
    for (const [name, value] of headers) {
      flat.push(name, value);
      // Only the server's own answers (413 and the like) carry one; checks refuse it from apps.
      if (name.length === 10 && name.toLowerCase() === 'connection') connection = true;
    }
    // The server owns the connection headers and states Connection itself:
    // node then adds no Keep-Alive header, which on the wire could not be
    // told apart from a hop-by-hop header an app slipped through.
    if (!connection) flat.push('Connection', this.res.shouldKeepAlive ? 'keep-alive' : 'close');
    this.res.writeHead(status, reason, flat);
  }

  private closed(): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(new ClientDisconnected());
    if (this.res.writableFinished) return;
    this.aborted = true;
    this.onAbort?.();
  }
}
