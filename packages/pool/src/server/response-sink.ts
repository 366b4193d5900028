/**
 * The runner's ResponseSink over a node:http ServerResponse: headers go out
 * as the app spelled them (order, case and duplicates kept), body writes wait
 * for 'drain' when the socket buffer is full (that wait is what blocks the
 * worker thread of a slow client), and abort() cuts the connection.
 */
import type { ServerResponse } from 'node:http';
import { ClientDisconnected, type WsgiHeaders } from '@tsgi/core';
import type { ResponseSink } from '../runner/types.js';

/** A sink writing to `res`. */
export function responseSink(res: ServerResponse): ResponseSink {
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
    body(chunk: Uint8Array): void | Promise<void> {
      if (res.destroyed) throw new ClientDisconnected();
      if (res.write(chunk)) return;
      return drained(res);
    },
    end(): void {
      res.end();
    },
    abort(): void {
      res.destroy();
    },
  };
}

/** Resolves on 'drain'; rejects with ClientDisconnected if the connection closes first. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new ClientDisconnected());
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
