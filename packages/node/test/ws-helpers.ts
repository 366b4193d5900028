/** WebSocket helpers of the @tsgi/node tests: a ws client, its next message, its close, and raw handshakes. */
import type { AsgiApplication, Receive, Send, WebSocketReceiveEventUnion } from '@tsgi/core';
import { WebSocket, type ClientOptions } from 'ws';

/** Opens a client and resolves once the handshake succeeded. */
export function connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

/** The next message the client receives. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

/** Resolves with the close code and reason the client saw. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve({ code: -1, reason: 'already closed' });
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

/** A raw opening handshake request. */
export function handshake(path = '/', extra = '', version = '13'): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: ${version}\r\n${extra}\r\n`;
}

/** A client frame (masked unless `mask` is false). */
export function frame(opcode: number, payload: Buffer, { fin = true, mask = true }: { fin?: boolean; mask?: boolean } = {}): Buffer {
  const key = Buffer.from([1, 2, 3, 4]);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | len]) : Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  if (!mask) return Buffer.concat([head, payload]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i % 4]!;
  return Buffer.concat([head, key, body]);
}
