/**
 * The WebSocket opening handshake as `ws` would judge it, checked before the
 * app runs (asgi.websocket.handshake.1): the shared rules of the server
 * layer (version, method, key), then what ws checks beyond them. ws validates only inside
 * handleUpgrade(), which this server calls once the app has accepted, too
 * late to refuse without the app having seen the connection. The same
 * parsers ws uses (its exported `subprotocol`, `extension` and
 * `PerMessageDeflate`) decide, so a handshake passed here is one ws completes.
 * Answers given on the raw socket (an upgrade request is handed over
 * without a response object) are written here too.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import * as wsModule from 'ws';
import type { ByteString } from '@tsgi/core';
import { handshakeRefusal, type HandshakeRefusal } from '@tsgi/core/server';

// What ws's ES module exports beyond its typings (its CommonJS entry hangs them on the WebSocket class instead).
interface WsParsers {
  subprotocol: { parse(header: string): Set<string> };
  extension: { parse(header: string): Record<string, Array<Record<string, unknown>>> };
  PerMessageDeflate: (new (options: Record<string, unknown>) => { accept(offers: unknown): unknown }) & { extensionName: string };
}
const parsers = wsModule as unknown as WsParsers;

/** What ws would refuse in this handshake, or null when ws will complete it. */
export function handshakeFault(req: IncomingMessage, perMessageDeflate: boolean, maxPayload: number): HandshakeRefusal | null {
  const h = req.headers;
  // ws also takes version 8; the shared rules want 13 only (RFC 6455 section 4.4).
  const refusal = handshakeRefusal(req.method ?? '', h['sec-websocket-version'], h['sec-websocket-key']);
  if (refusal !== null) return refusal;
  if (req.httpVersion !== '1.1') return bad(`HTTP/${req.httpVersion} (RFC 6455 section 4.1: a handshake is HTTP/1.1 or later)`);
  if ((h.upgrade ?? '').toLowerCase() !== 'websocket') return bad(`Upgrade ${JSON.stringify(h.upgrade)} (RFC 6455 section 4.1: "websocket")`);
  const protocols = h['sec-websocket-protocol'];
  if (protocols !== undefined) {
    try {
      parsers.subprotocol.parse(protocols);
    } catch (e) {
      return bad(`Sec-WebSocket-Protocol ${JSON.stringify(protocols.slice(0, 80))} (RFC 6455 section 4.1: distinct tokens): ${(e as Error).message}`);
    }
  }
  const extensions = h['sec-websocket-extensions'];
  if (perMessageDeflate && extensions !== undefined) {
    try {
      const offers = parsers.extension.parse(extensions);
      const name = parsers.PerMessageDeflate.extensionName;
      if (offers[name] !== undefined) new parsers.PerMessageDeflate({ isServer: true, maxPayload }).accept(offers[name]);
    } catch (e) {
      return bad(`Sec-WebSocket-Extensions ${JSON.stringify(extensions.slice(0, 80))} (RFC 7692): ${(e as Error).message}`);
    }
  }
  return null;
}

function bad(reason: string): HandshakeRefusal {
  return { status: 400, reason, headers: [] };
}

/**
 * Writes a complete HTTP/1.1 response on a socket node:http has handed
 * over, then closes it: the status line (standard reason), `headers` as
 * latin-1 bytes, Content-Length and `connection: close`, and `body`.
 */
export function writeRawResponse(socket: Socket, status: number, headers: ReadonlyArray<readonly [ByteString, ByteString]>, body: Uint8Array): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const [name, value] of headers) {
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`;
  socket.end(body.byteLength === 0 ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]));
  // Once the answer is out, the connection goes (the client has nothing more to say on it).
  socket.once('finish', () => socket.destroy());
}

/** One of the server's own plain-text answers on a handed-over socket. */
export function writeRawText(socket: Socket, status: number, extra: Array<[string, string]> = []): void {
  const text = STATUS_CODES[status] ?? 'Error';
  writeRawResponse(socket, status, [['content-type', 'text/plain; charset=utf-8'], ...extra], Buffer.from(text, 'latin1'));
}
