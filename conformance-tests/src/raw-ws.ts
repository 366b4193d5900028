/**
 * The suite's raw WebSocket client (RFC 6455) on top of RawConnection: the
 * opening handshake, frame encoding with any masking, fragmentation, reserved
 * bits and opcode a check wants (including illegal ones), and strict frame
 * parsing, so that each frame is checked exactly as it travels.
 */
import { createHash, randomBytes } from 'node:crypto';
import { RawConnection, header, serializeRequest, type RawResponse } from './raw-http.js';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** One frame, as sent or received. */
export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** What to put in a frame; every field may be set to something illegal on purpose. */
export interface FrameSpec {
  opcode: number;
  payload?: string | Uint8Array;
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number. */
  rsv?: number;
  /** A masking key; a random one by default (clients must mask), `false` to send unmasked. */
  mask?: Uint8Array | false;
}

/** The Sec-WebSocket-Accept value for a key (RFC 6455 section 4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

/** Encodes one frame. Text payloads are UTF-8. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = spec.payload === undefined ? Buffer.alloc(0) : typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : Buffer.from(spec.payload);
  const mask = spec.mask === false ? null : spec.mask ?? randomBytes(4);
  const b0 = ((spec.fin ?? true) ? 0x80 : 0) | (((spec.rsv ?? 0) & 7) << 4) | (spec.opcode & 0xf);
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = b0;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  Buffer.from(mask).copy(head, 2 + lenBytes);
  const masked = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, masked]);
}

/** Parses one frame from the start of `buf`; null when incomplete. */
export function decodeFrame(buf: Buffer): { frame: Frame; size: number } | null {
  if (buf.length < 2) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  let len = b1 & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`frame length ${big} too large`);
    len = Number(big);
    off = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  let key: Buffer | null = null;
  if (masked) {
    if (buf.length < off + 4) return null;
    key = buf.subarray(off, off + 4);
    off += 4;
  }
  if (buf.length < off + len) return null;
  let payload = Buffer.from(buf.subarray(off, off + len));
  if (key) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i & 3]!;
  return { frame: { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, masked, payload }, size: off + len };
}

/** A complete message or a control frame, as the server sent it. */
export type WsEvent =
  | { kind: 'text'; data: string; raw: Buffer; frames: number }
  | { kind: 'binary'; data: Buffer; frames: number }
  | { kind: 'ping'; data: Buffer }
  | { kind: 'pong'; data: Buffer }
  | { kind: 'close'; code: number | null; reason: string; raw: Buffer }
  /** The TCP connection ended without a close frame. */
  | { kind: 'eof' };

/** Options of the opening handshake. */
export interface HandshakeOptions {
  subprotocols?: string[];
  headers?: Array<[string, string]>;
  /** Override or omit standard handshake headers to test refusals. */
  version?: string | null;
  key?: string | null;
  timeoutMs?: number;
}

/** The result of an opening handshake: the response, and a session when it was accepted (101). */
export interface HandshakeResult {
  response: RawResponse;
  key: string;
  ws: WsSession | null;
}

/** Performs the opening handshake on a fresh connection. */
export async function handshake(conn: RawConnection, target: string, opts: HandshakeOptions = {}): Promise<HandshakeResult> {
  const key = opts.key === undefined ? randomBytes(16).toString('base64') : opts.key ?? '';
  const headers: Array<[string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
  ];
  if (opts.key !== null) headers.push(['Sec-WebSocket-Key', key]);
  if (opts.version !== null) headers.push(['Sec-WebSocket-Version', opts.version ?? '13']);
  if (opts.subprotocols?.length) headers.push(['Sec-WebSocket-Protocol', opts.subprotocols.join(', ')]);
  headers.push(...(opts.headers ?? []));
  await conn.write(serializeRequest({ method: 'GET', target, headers }, `${conn.socket.remoteAddress}:${conn.socket.remotePort}`));
  const response = await conn.readResponse({ timeoutMs: opts.timeoutMs, method: 'GET', returnInterim: true });
  const ws = response.status === 101 ? new WsSession(conn) : null;
  return { response, key, ws };
}

/** Checks the 101 response's Upgrade, Connection and Sec-WebSocket-Accept; returns a problem or null. */
export function handshakeProblem(res: RawResponse, key: string): string | null {
  if (res.status !== 101) return `status ${res.status}, expected 101`;
  if ((header(res.headers, 'upgrade') ?? '').toLowerCase() !== 'websocket') return `Upgrade: ${header(res.headers, 'upgrade')}`;
  if (!(header(res.headers, 'connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) return `Connection: ${header(res.headers, 'connection')}`;
  if (header(res.headers, 'sec-websocket-accept') !== acceptKey(key)) return `Sec-WebSocket-Accept: ${header(res.headers, 'sec-websocket-accept')}, expected ${acceptKey(key)}`;
  return null;
}

/** An open WebSocket as seen from the client: send frames, read frames or whole messages. */
export class WsSession {
  /** The message being reassembled from fragments, if any. */
  private partial: { opcode: number; parts: Buffer[] } | null = null;

  constructor(readonly conn: RawConnection) {}

  /** Sends one frame built from `spec`. */
  sendFrame(spec: FrameSpec): Promise<void> {
    return this.conn.write(encodeFrame(spec));
  }

  /** Sends raw bytes (for deliberately broken frames). */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return this.conn.write(bytes);
  }

  sendText(text: string | Uint8Array): Promise<void> {
    return this.sendFrame({ opcode: OP.TEXT, payload: text });
  }

  sendBinary(data: Uint8Array): Promise<void> {
    return this.sendFrame({ opcode: OP.BINARY, payload: data });
  }

  /** Sends a close frame: no payload when code is null. */
  sendClose(code: number | null = 1000, reason: string | Uint8Array = ''): Promise<void> {
    return this.sendFrame({ opcode: OP.CLOSE, payload: closePayload(code, reason) });
  }

  /** Reads the next frame exactly as sent; `eof` when the connection ends. */
  async readFrame(timeoutMs?: number): Promise<Frame | null> {
    try {
      const r = await this.conn.waitFor((buf) => decodeFrame(buf), timeoutMs, 'a WebSocket frame');
      this.conn.consume(r.size);
      return r.frame;
    } catch (e) {
      if (this.conn.peerClosed && this.conn.buffered.length === 0) return null;
      throw e;
    }
  }

  /**
   * Reads the next message or control frame, reassembling fragments; answers
   * nothing by itself (checks decide what to do with pings).
   */
  async read(timeoutMs?: number): Promise<WsEvent> {
    for (;;) {
      const f = await this.readFrame(timeoutMs);
      if (!f) return { kind: 'eof' };
      if (f.opcode === OP.PING) return { kind: 'ping', data: f.payload };
      if (f.opcode === OP.PONG) return { kind: 'pong', data: f.payload };
      if (f.opcode === OP.CLOSE) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        return { kind: 'close', code, reason: f.payload.subarray(2).toString('utf8'), raw: f.payload };
      }
      // A message in fragments survives control frames read in between.
      const m = (this.partial ??= { opcode: f.opcode, parts: [] });
      m.parts.push(f.payload);
      if (f.fin) {
        this.partial = null;
        const data = Buffer.concat(m.parts);
        const frames = m.parts.length;
        return m.opcode === OP.TEXT ? { kind: 'text', data: data.toString('utf8'), raw: data, frames } : { kind: 'binary', data, frames };
      }
    }
  }

  /** Reads until a data message arrives, skipping pings/pongs. */
  async readMessage(timeoutMs?: number): Promise<WsEvent> {
    for (;;) {
      const e = await this.read(timeoutMs);
      if (e.kind !== 'ping' && e.kind !== 'pong') return e;
    }
  }

  /** Reads frames until the server's close frame or EOF; data messages before it are skipped. */
  async readUntilClose(timeoutMs?: number): Promise<WsEvent> {
    for (;;) {
      const e = await this.read(timeoutMs);
      if (e.kind === 'close' || e.kind === 'eof') return e;
    }
  }
}

/** The payload of a close frame. */
export function closePayload(code: number | null, reason: string | Uint8Array = ''): Buffer {
  if (code === null) return Buffer.alloc(0);
  const r = typeof reason === 'string' ? Buffer.from(reason, 'utf8') : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}
