/**
 * WebSocket echo load: N connections, each sending one binary message and
 * sending the next as soon as its echo is back; prints `{"messages", "seconds"}`.
 * The frame is built once and echoes are parsed by their headers only, so the
 * generator spends as little of its core as it can (the ws package costs
 * several times more per message and would measure itself).
 *
 *   node ws-echo.js <ws-url> <connections> <seconds> [payload-bytes]
 */
import { connect, type Socket } from 'node:net';

const [url = '', connArg = '50', secArg = '5', payloadArg = '32'] = process.argv.slice(2);
const target = new URL(url);
const connections = Number(connArg);
const seconds = Number(secArg);
const payloadSize = Number(payloadArg);
if (payloadSize > 125) throw new RangeError('payload-bytes must be at most 125 (one-byte frame length)');

// A masked binary frame (clients must mask); the echo comes back unmasked: 2 + payload bytes.
const MASK = [0x37, 0xfa, 0x21, 0x3d];
const FRAME = Buffer.alloc(6 + payloadSize);
FRAME[0] = 0x82;
FRAME[1] = 0x80 | payloadSize;
for (let i = 0; i < 4; i++) FRAME[2 + i] = MASK[i]!;
for (let i = 0; i < payloadSize; i++) FRAME[6 + i] = 0x61 ^ MASK[i % 4]!;

let messages = 0;
let running = true;

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    let head = '';
    const onHandshake = (d: Buffer): void => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHandshake);
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
      if (head.length > end + 4) return reject(new Error('unexpected bytes after the handshake'));
      resolve(socket);
    };
    socket.on('data', onHandshake);
    socket.once('error', reject);
    socket.write(
      `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

function drive(socket: Socket): void {
  let carry: Buffer | null = null; // an incomplete frame from the previous chunk
  socket.on('data', (d: Buffer) => {
    const data: Buffer = carry ? Buffer.concat([carry, d]) : d;
    let at = 0;
    for (;;) {
      if (data.byteLength - at < 2) break;
      const opcode = data[at]! & 0x0f;
      let length = data[at + 1]! & 0x7f;
      let headerSize = 2;
      if (length === 126) {
        if (data.byteLength - at < 4) break;
        length = data.readUInt16BE(at + 2);
        headerSize = 4;
      } else if (length === 127) {
        if (data.byteLength - at < 10) break;
        length = Number(data.readBigUInt64BE(at + 2));
        headerSize = 10;
      }
      if (data.byteLength - at < headerSize + length) break;
      at += headerSize + length;
      // Only data frames are echoes; a ping (the server's keep-alive) is not answered within a round this short.
      if ((opcode === 1 || opcode === 2) && running) {
        messages++;
        socket.write(FRAME);
      }
    }
    carry = at < data.byteLength ? data.subarray(at) : null;
  });
  socket.write(FRAME);
}

const sockets = await Promise.all(Array.from({ length: connections }, open));
const start = performance.now();
for (const s of sockets) drive(s);
setTimeout(() => {
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  process.stdout.write(JSON.stringify({ messages, seconds: elapsed }) + '\n');
  for (const s of sockets) s.destroy();
}, seconds * 1000);
