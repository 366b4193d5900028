/**
 * A minimal WebSocket client for the docs tests (text frames only, no
 * fragmentation): enough to check an upgrade through nginx over TLS from a
 * chosen source address, which neither fetch nor Node 20's globals can do.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';

export interface TinyWebSocket {
  /** The next text message from the server. */
  receive(): Promise<string>;
  send(text: string): void;
  close(): void;
}

/** Opens a wss:// connection to `host:port/path` from `localAddress`; rejects if the server does not switch protocols. */
export async function openWss(opts: { host: string; port: number; path: string; localAddress: string }): Promise<TinyWebSocket> {
  const tcp = tcpConnect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
  const socket: TLSSocket = connect({ socket: tcp, rejectUnauthorized: false, servername: 'example.com' });
  await once(socket, 'secureConnect');
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${opts.path} HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buffer = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = once(socket, 'close');
  const more = () => Promise.race([new Promise<void>((r) => waiters.push(r)), closed.then(() => { throw new Error('connection closed'); })]);

  let end: number;
  while ((end = buffer.indexOf('\r\n\r\n')) === -1) await more();
  const head = buffer.subarray(0, end).toString('latin1');
  buffer = buffer.subarray(end + 4);
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`no upgrade: ${head.split('\r\n')[0]}`);

  return {
    async receive() {
      for (;;) {
        if (buffer.length >= 2) {
          const opcode = buffer[0]! & 0x0f;
          let len = buffer[1]! & 0x7f;
          let offset = 2;
          if (len === 126) {
            if (buffer.length < 4) { await more(); continue; }
            len = buffer.readUInt16BE(2);
            offset = 4;
          }
          if (len === 127) throw new Error('frame too large for this test client');
          if (buffer.length >= offset + len) {
            const payload = buffer.subarray(offset, offset + len);
            buffer = buffer.subarray(offset + len);
            if (opcode === 0x1) return payload.toString('utf8');
            if (opcode === 0x8) throw new Error(`closed by the server (${len >= 2 ? payload.readUInt16BE(0) : 'no code'})`);
            continue; // ping or pong: not needed here
          }
        }
        await more();
      }
    },
    send(text: string) {
      const payload = Buffer.from(text, 'utf8');
      if (payload.length > 125) throw new Error('message too long for this test client');
      const mask = randomBytes(4);
      const frame = Buffer.alloc(6 + payload.length);
      frame[0] = 0x81;
      frame[1] = 0x80 | payload.length;
      mask.copy(frame, 2);
      for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i % 4]!;
      socket.write(frame);
    },
    close() {
      socket.destroy();
    },
  };
}
