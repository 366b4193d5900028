/**
 * Cleartext HTTP/2 by prior knowledge (h2c) beside HTTP/1.x on one plain-TCP
 * port, as hypercorn serves it. Every connection goes to node:http first,
 * which reads and parses it in C++ from its first byte; llhttp stops at the
 * HTTP/2 preface and node:http reports it as a client error
 * (HPE_PAUSED_H2_UPGRADE) with the bytes of the read that held its end.
 * Such a connection is taken back from node:http and given to the http2
 * engine, the preface and what followed it first. Telling the two apart by
 * reading each connection's first bytes in JavaScript instead would cost
 * every HTTP/1.x connection node:http's own reading path.
 */
import type { Http2Server } from 'node:http2';
import { Socket } from 'node:net';

/** The first bytes of an HTTP/2 connection (RFC 9113 section 3.4). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What 'clientError' gives for a read llhttp stopped in (node documents both fields). */
interface ParseError extends NodeJS.ErrnoException {
  rawPacket?: unknown;
  bytesParsed?: unknown;
}

/** True when node:http stopped at the HTTP/2 preface. */
export function isHttp2Preface(error: NodeJS.ErrnoException): boolean {
  return error.code === 'HPE_PAUSED_H2_UPGRADE';
}

/** A socket as node:net makes it, before anyone listens: its listeners are node:net's own, which stay when node:http lets go. */
let fresh: Socket | null = null;

function isNetOwn(event: string | symbol, listener: unknown): boolean {
  fresh ??= new Socket();
  return fresh.listeners(event).includes(listener as (...args: unknown[]) => void);
}

/** node:http's parser of the connection, while node:http holds it (an undocumented field). */
function parserOf(socket: Socket): unknown {
  return (socket as Socket & { parser?: unknown }).parser;
}

/**
 * Moves a connection node:http found to open with the HTTP/2 preface to
 * `h2`. Call from 'clientError', only for a connection that has carried no
 * HTTP/1.x request. Returns false, leaving the connection to node:http's
 * 400, when the error does not carry the preface's end or node:http has no
 * parser on the socket. If node:http still holds the socket after letting
 * go (another Node.js version), the connection is closed and `onFailure`
 * told why.
 */
export function handOverToHttp2(error: ParseError, socket: Socket, h2: Http2Server, onFailure: (reason: string) => void): boolean {
  const packet = error.rawPacket;
  const parsed = error.bytesParsed;
  if (!Buffer.isBuffer(packet) || typeof parsed !== 'number' || parserOf(socket) == null) return false;
  // The preface ended at `parsed` in this read (it may have begun in an earlier one); the frames after it are the client's first.
  const n = HTTP2_PREFACE.length;
  if (parsed > n || !packet.subarray(0, parsed).equals(HTTP2_PREFACE.subarray(n - parsed))) return false;
  const after = packet.subarray(parsed);
  // After node:http's parser has returned from the read it is reporting.
  process.nextTick(() => {
    if (socket.destroyed) return;
    for (const event of socket.eventNames()) {
      for (const listener of socket.listeners(event)) {
        if (isNetOwn(event, listener)) continue;
        socket.removeListener(event, listener as (...args: unknown[]) => void);
        // node:http's 'close' listener frees its parser, which stops reading the socket for it.
        if (event === 'close') (listener as () => void).call(socket);
      }
    }
    if (parserOf(socket) != null) {
      onFailure('node:http kept its parser on the socket');
      socket.destroy();
      return;
    }
    socket.setTimeout(0);
    // Paused, so the bytes put back wait in the socket's buffer for the session, which reads them first.
    socket.pause();
    socket.unshift(after.length > 0 ? Buffer.concat([HTTP2_PREFACE, after]) : HTTP2_PREFACE);
    h2.emit('connection', socket);
  });
  return true;
}
