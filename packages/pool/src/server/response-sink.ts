/**
 * The runner's ResponseSink over a node:http ServerResponse: headers go out
 * as the app spelled them (order, case and duplicates kept), a body write
 * settles once node handed it to the socket (that wait is what blocks the
 * worker thread of a slow client), and abort() cuts the connection.
 */
import type { ServerResponse } from 'node:http';
import { ClientDisconnected, type WsgiHeaders } from '@tsgi/core';
import type { ResponseSink } from '../runner/types.js';

/** A sink writing to `res`. */
export function responseSink(res: ServerResponse): ResponseSink {
  // The runner writes one chunk at a time: at most one write is pending, and a
  // close must settle it (node does not always call back writes on a dead socket).
  let pending: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  res.once('close', () => {
    const p = pending;
    pending = null;
    p?.reject(new ClientDisconnected());
  });
  const written = (error?: Error | null) => {
    const p = pending;
    pending = null;
    if (p === null) return;
    if (error) p.reject(new ClientDisconnected());
    else p.resolve();
  };
  return {
    start(status: number, reason: string, headers: WsgiHeaders): void {
      // node takes raw headers as one flat [name, value, name, value, ...] list and sends them as is.
      const flat: string[] = new Array(headers.length * 2);
      for (let i = 0; i < headers.length; i++) {
        flat[2 * i] = headers[i]![0];
        flat[2 * i + 1] = headers[i]![1];
      }
      res.writeHead(status, reason, flat);
    },
    // body() settles when node has handed the chunk to the socket: the runner may reuse its bytes then.
    releasesChunks: true,
    body(chunk: Uint8Array): Promise<void> {
      if (res.destroyed) throw new ClientDisconnected();
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        res.write(chunk, written);
      });
    },
    end(): void {
      res.end();
    },
    abort(): void {
      res.destroy();
    },
  };
}
