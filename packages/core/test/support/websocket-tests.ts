/**
 * What the WebSocket tests of every tsgi server share (@tsgi/uws's and
 * @tsgi/node's): a `ws` client that keeps every message and its close from
 * the moment it connects, and apps that accept (or echo) every WebSocket.
 */
import type { AsgiApplication, Receive, Send, WebSocketReceiveEventUnion } from '@tsgi/core';
import { WebSocket, type ClientOptions } from 'ws';

/** One message the client received. */
export interface ClientMessage {
  data: Buffer;
  isBinary: boolean;
}

interface ClientRecord {
  queue: ClientMessage[];
  waiters: Array<(m: ClientMessage) => void>;
  close: { code: number; reason: string } | null;
}
const records = new WeakMap<WebSocket, ClientRecord>();

/**
 * Opens a client and resolves once the handshake succeeded; rejects with the
 * status, headers and body of a refused one. Messages that arrive in the same
 * read as the 101, and the close, are kept from the start.
 */
export function connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  const record: ClientRecord = { queue: [], waiters: [], close: null };
  records.set(ws, record);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const waiter = record.waiters.shift();
    if (waiter) waiter({ data, isBinary });
    else record.queue.push({ data, isBinary });
  });
  ws.once('close', (code: number, reason: Buffer) => (record.close = { code, reason: reason.toString() }));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
  });
}

function recordOf(ws: WebSocket): ClientRecord {
  const record = records.get(ws);
  if (!record) throw new Error('the client was not opened with connect()');
  return record;
}

/** The next message a client opened with connect() receives. */
export function nextMessage(ws: WebSocket): Promise<ClientMessage> {
  const record = recordOf(ws);
  const queued = record.queue.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((resolve) => record.waiters.push(resolve));
}

/** The close code and reason the client saw (at once when it has already closed). */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  const record = recordOf(ws);
  if (record.close !== null) return Promise.resolve(record.close);
  return new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

/** An app that accepts every WebSocket, then hands receive/send to the test. */
export function accepting(onOpen: (receive: Receive<WebSocketReceiveEventUnion>, send: Send) => Promise<void>): AsgiApplication {
  return async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    await receive();
    await send({ type: 'websocket.accept' });
    await onOpen(receive as Receive<WebSocketReceiveEventUnion>, send);
  };
}

/** An app that echoes every message, and records what it receives. */
export function echo(events: WebSocketReceiveEventUnion[] = []): AsgiApplication {
  return accepting(async (receive, send) => {
    for (;;) {
      const e = await receive();
      events.push(e);
      if (e.type === 'websocket.disconnect') return;
      if (e.type === 'websocket.receive') await send({ type: 'websocket.send', text: e.text ?? null, bytes: e.bytes ?? null });
    }
  });
}
