/** WebSocket helpers of the @tsgi/node tests: the shared WebSocket test kit, and raw handshakes and frames. */
export * from '../../core/test/support/websocket-tests.js';

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
