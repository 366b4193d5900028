/**
 * The raw client's framing, checked against scripted servers that write
 * exact bytes: if the client misreads the wire, every check built on it lies.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FramingError,
  OP,
  RawConnection,
  TimeoutError,
  acceptKey,
  chunkedEncode,
  closePayload,
  decodeFrame,
  encodeFrame,
  handshake,
  handshakeProblem,
  serializeRequest,
} from '../src/index.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server that answers each connection with `script` (after the first bytes arrive) and records what it got. */
async function scripted(script: (sock: net.Socket, received: () => Buffer) => void): Promise<{ conn: RawConnection }> {
  const srv = net.createServer((sock) => {
    let got = Buffer.alloc(0);
    let started = false;
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (!started) {
        started = true;
        script(sock, () => got);
      }
    });
    sock.on('error', () => undefined);
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const conn = await RawConnection.open('127.0.0.1', (srv.address() as net.AddressInfo).port, 2000);
  return { conn };
}

describe('request serialisation', () => {
  it('writes the request line, Host first, headers as given and Content-Length for a body', () => {
    const b = serializeRequest({ method: 'POST', target: '/x?y=1', headers: [['X-A', 'b']], body: 'hi' }, 'h:1').toString('latin1');
    expect(b).toBe('POST /x?y=1 HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\nContent-Length: 2\r\n\r\nhi');
  });

  it('sends latin-1 header bytes one char per byte', () => {
    const b = serializeRequest({ target: '/', headers: [['X', 'caf\u00e9']], noHost: true });
    expect([...b.subarray(b.indexOf('caf') + 3, b.indexOf('caf') + 4)]).toEqual([0xe9]);
  });

  it('chunk-encodes at the given sizes and ends with the last-chunk', () => {
    expect(chunkedEncode(Buffer.from('abcdefg'), [2, 4]).toString()).toBe('2\r\nab\r\n4\r\ncdef\r\n1\r\ng\r\n0\r\n\r\n');
    expect(chunkedEncode(Buffer.alloc(0)).toString()).toBe('0\r\n\r\n');
  });
});

describe('response parsing', () => {
  it('reads a Content-Length body exactly and leaves the next response in the buffer', async () => {
    const { conn } = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Dup: a\r\nX-Dup: b\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\n'));
    await conn.write('GET / HTTP/1.1\r\n\r\n');
    const r = await conn.readResponse();
    expect([r.status, r.reason, r.framing, r.body.toString()]).toEqual([200, 'OK', 'content-length', 'abc']);
    expect(r.headers.filter(([k]) => k === 'X-Dup').map(([, v]) => v)).toEqual(['a', 'b']);
    const next = await conn.readResponse();
    expect([next.status, next.body.length]).toEqual([204, 0]);
    conn.destroy();
  });

  it('decodes chunked bodies, records chunk sizes, ignores extensions and reads trailers', async () => {
    const { conn } = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n'));
    await conn.write('GET / HTTP/1.1\r\n\r\n');
    const r = await conn.readResponse();
    expect([r.framing, r.body.toString(), r.chunkSizes, r.trailers]).toEqual(['chunked', 'abc0123456789', [3, 10], [['X-T', '1']]]);
    conn.destroy();
  });

  it('reads a body without length until the connection closes', async () => {
    const { conn } = await scripted((s) => s.end('HTTP/1.0 200 OK\r\n\r\nuntil close'));
    await conn.write('GET / HTTP/1.0\r\n\r\n');
    const r = await conn.readResponse();
    expect([r.httpVersion, r.framing, r.body.toString()]).toEqual(['HTTP/1.0', 'close', 'until close']);
  });

  it('reads no body for HEAD even with a Content-Length', async () => {
    const { conn } = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n'));
    await conn.write('HEAD / HTTP/1.1\r\n\r\n');
    const r = await conn.readResponse({ method: 'HEAD' });
    expect([r.status, r.body.length, conn.buffered.length]).toEqual([200, 0, 0]);
    conn.destroy();
  });

  it('collects 1xx interim responses before the final one', async () => {
    const { conn } = await scripted((s) => s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    await conn.write('GET / HTTP/1.1\r\n\r\n');
    const r = await conn.readResponse();
    expect([r.status, r.interim.map((i) => i.status)]).toEqual([200, [100, 103]]);
    conn.destroy();
  });

  it('fails on a truncated Content-Length body and on a truncated chunked body', async () => {
    const a = await scripted((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'));
    await a.conn.write('GET / HTTP/1.1\r\n\r\n');
    await expect(a.conn.readResponse()).rejects.toBeInstanceOf(FramingError);
    const b = await scripted((s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc'));
    await b.conn.write('GET / HTTP/1.1\r\n\r\n');
    await expect(b.conn.readResponse()).rejects.toBeInstanceOf(FramingError);
  });

  it('rejects a malformed status line and conflicting Content-Length values', async () => {
    const a = await scripted((s) => s.write('HTTP/1.1 OK\r\n\r\n'));
    await a.conn.write('GET / HTTP/1.1\r\n\r\n');
    await expect(a.conn.readResponse()).rejects.toThrow(/malformed status line/);
    const b = await scripted((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'));
    await b.conn.write('GET / HTTP/1.1\r\n\r\n');
    await expect(b.conn.readResponse()).rejects.toThrow(/conflicting Content-Length/);
    a.conn.destroy();
    b.conn.destroy();
  });

  it('times out instead of hanging when the server says nothing', async () => {
    const { conn } = await scripted(() => undefined);
    await conn.write('GET / HTTP/1.1\r\n\r\n');
    await expect(conn.readResponse({ timeoutMs: 150 })).rejects.toBeInstanceOf(TimeoutError);
    conn.destroy();
  });

  it('sends exactly the bytes it is given (pipelining, pauses)', async () => {
    let received: () => Buffer = () => Buffer.alloc(0);
    const { conn } = await scripted((_s, got) => {
      received = got;
    });
    await conn.write('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(received().toString()).toBe('GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
    conn.destroy();
  });
});

describe('WebSocket frames', () => {
  it('computes Sec-WebSocket-Accept as RFC 6455 section 1.3 shows', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('encodes the RFC 6455 section 5.7 examples', () => {
    expect(encodeFrame({ opcode: OP.TEXT, payload: 'Hello', mask: false }).toString('hex')).toBe('810548656c6c6f');
    expect(encodeFrame({ opcode: OP.TEXT, payload: 'Hello', mask: Buffer.from([0x37, 0xfa, 0x21, 0x3d]) }).toString('hex')).toBe('818537fa213d7f9f4d5158');
    expect(encodeFrame({ opcode: OP.TEXT, payload: 'Hel', fin: false, mask: false }).toString('hex')).toBe('010348656c');
    expect(encodeFrame({ opcode: OP.CONT, payload: 'lo', mask: false }).toString('hex')).toBe('80026c6f');
  });

  it.each([0, 125, 126, 127, 65535, 65536])('round-trips a masked %i-byte payload through the length encodings', (n) => {
    const payload = Buffer.alloc(n, 7);
    const bytes = encodeFrame({ opcode: OP.BINARY, payload });
    const lenField = bytes[1]! & 0x7f;
    expect(lenField).toBe(n < 126 ? n : n < 65536 ? 126 : 127);
    const d = decodeFrame(bytes)!;
    expect([d.size, d.frame.masked, d.frame.opcode, d.frame.payload.equals(payload)]).toEqual([bytes.length, true, OP.BINARY, true]);
  });

  it('keeps deliberately illegal bits: RSV, reserved opcodes, no FIN', () => {
    const d = decodeFrame(encodeFrame({ opcode: 0xb, rsv: 5, fin: false, payload: 'x' }))!;
    expect([d.frame.rsv, d.frame.opcode, d.frame.fin]).toEqual([5, 0xb, false]);
  });

  it('returns null for an incomplete frame', () => {
    const bytes = encodeFrame({ opcode: OP.TEXT, payload: 'abcdef' });
    for (let i = 0; i < bytes.length; i++) expect(decodeFrame(bytes.subarray(0, i))).toBeNull();
  });

  it('builds close payloads with code and UTF-8 reason', () => {
    expect(closePayload(1000, 'ok').toString('hex')).toBe('03e86f6b');
    expect(closePayload(null).length).toBe(0);
  });

  it('performs a handshake, then reassembles fragments and reports control frames', async () => {
    const { conn } = await scripted((s, got) => {
      const key = /Sec-WebSocket-Key: (.*)\r\n/.exec(got().toString())![1]!;
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
      s.write(Buffer.concat([
        encodeFrame({ opcode: OP.TEXT, payload: 'frag', fin: false, mask: false }),
        encodeFrame({ opcode: OP.PING, payload: 'p', mask: false }),
        encodeFrame({ opcode: OP.CONT, payload: 'ment', mask: false }),
        encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1001, 'bye'), mask: false }),
      ]));
      s.end();
    });
    const r = await handshake(conn, '/ws', { subprotocols: ['a', 'b'] });
    expect(handshakeProblem(r.response, r.key)).toBeNull();
    const ws = r.ws!;
    expect(await ws.read()).toMatchObject({ kind: 'ping' });
    expect(await ws.read()).toMatchObject({ kind: 'text', data: 'fragment', frames: 2 });
    expect(await ws.read()).toMatchObject({ kind: 'close', code: 1001, reason: 'bye' });
    expect(await ws.read()).toEqual({ kind: 'eof' });
  });

  it('reports a wrong Sec-WebSocket-Accept', async () => {
    const { conn } = await scripted((s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n'));
    const r = await handshake(conn, '/ws');
    expect(handshakeProblem(r.response, r.key)).toMatch(/Sec-WebSocket-Accept/);
    conn.destroy();
  });
});
