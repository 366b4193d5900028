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
  const writeHead = (status: number, reason: string, headers: WsgiHeaders): void => {
    // node takes raw headers as one flat [name, value, name, value, ...] list and sends them as is.
    const flat: string[] = [];
    let connection = false;
    for (const [name, value] of headers) {
      flat.push(name, value);
      // Only the server's own answers (413 and the like) carry one; checks refuse it from apps.
      if (name.length === 10 && name.toLowerCase() === 'connection') connection = true;
    }
    // The server owns the connection headers and states Connection itself:
    // node then adds no Keep-Alive header, which on the wire could not be
    // told apart from a hop-by-hop header an app slipped through.
    if (!connection) flat.push('Connection', res.shouldKeepAlive ? 'keep-alive' : 'close');
    res.writeHead(status, reason, flat);
  };
  return {
    start: writeHead,
    // A whole small response: head and body leave in one write.
    respond(status: number, reason: string, headers: WsgiHeaders, body: readonly Uint8Array[]): void {
      if (res.destroyed) throw new ClientDisconnected();
      writeHead(status, reason, headers);
      if (body.length === 1) res.end(body[0]);
      else {
        for (const chunk of body) res.write(chunk);
        res.end();
      }
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
