/**
 * docs/websocket.md cannot drift from @tsgi/uws or @tsgi/node: the page has no
 * code block to run, so its handshake table is replayed row by row against
 * `tsgi serve --server uws` and `--server node`
 * (a raw client, so the status line and headers are seen as sent), with the
 * close codes it gives for an app that returns or raises, the 426 for other
 * protocol versions, and its word on which tuning knobs are public.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';
import { pageProblems, readPage } from './docs-page-checks.js';

const PAGE = 'docs/websocket.md';
const text = readPage(PAGE);

interface Handshake {
  status: number;
  headers: Map<string, string>;
  body: string;
  socket: Socket;
  /** Frames read after the 101, in order. */
  frames: Array<{ opcode: number; payload: Buffer }>;
  /** Resolves when one more frame (or the end of the connection) arrived. */
  more(): Promise<void>;
  closed: boolean;
}

/** Sends an upgrade request for `path` and reads the answer; after a 101, collects the server's frames. */
async function upgrade(url: string, path: string, extra: Record<string, string> = {}): Promise<Handshake> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  const headers = { 'sec-websocket-version': '13', ...extra };
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
      '\r\n',
  );
  let buffer = Buffer.alloc(0);
  let wake: () => void = () => {};
  const hs: Handshake = { status: 0, headers: new Map(), body: '', socket, frames: [], closed: false, more: () => new Promise<void>((r) => (wake = r)) };
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    if (hs.status === 101) parseFrames();
    wake();
  });
  socket.on('close', () => {
    hs.closed = true;
    wake();
  });
  const parseFrames = () => {
    for (;;) {
      if (buffer.length < 2) return;
      const len = buffer[1]! & 0x7f; // the server's frames here are short
      if (len > 125) throw new Error('frame too long for this test client');
      if (buffer.length < 2 + len) return;
      hs.frames.push({ opcode: buffer[0]! & 0x0f, payload: buffer.subarray(2, 2 + len) });
      buffer = buffer.subarray(2 + len);
    }
  };
  while (buffer.indexOf('\r\n\r\n') === -1 && !hs.closed) await hs.more();
  const end = buffer.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  hs.status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)![1]);
  for (const line of lines) hs.headers.set(line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim());
  buffer = buffer.subarray(end + 4);
  if (hs.status === 101) parseFrames();
  else {
    const length = Number(hs.headers.get('content-length') ?? 0);
    while (buffer.length < length && !hs.closed) await hs.more();
    hs.body = buffer.subarray(0, length).toString('utf8');
  }
  return hs;
}

/** Sends one masked text frame, as a client must. */
function sendText(socket: Socket, message: string): void {
  const payload = Buffer.from(message);
  const mask = randomBytes(4);
  socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]));
}

/** Waits for the server's Close frame and returns its code and reason. */
async function closeFrame(hs: Handshake): Promise<{ code: number; reason: string }> {
  for (;;) {
    const close = hs.frames.find((f) => f.opcode === 0x8);
    if (close) return { code: close.payload.readUInt16BE(0), reason: close.payload.subarray(2).toString('utf8') };
    if (hs.closed) throw new Error('connection closed without a Close frame');
    await hs.more();
  }
}

describe(PAGE, () => {
  it('has only checked samples, links and paths that exist', () => {
    expect(pageProblems(PAGE)).toEqual([]);
  });

  it('says rightly that the tuning knobs are not public', () => {
    expect(text).toContain('@tsgi/uws does not export it and `serve()` passes none');
    // If @tsgi/uws starts exporting it (or serve() takes the knobs), the page must say how to use them.
    expect(readFileSync(join(repoRoot, 'packages/uws/src/index.ts'), 'utf8')).not.toMatch(/createWebSocketBehavior|WebSocketTuning/);
  });

  describe.each(['uws', 'node'])('on tsgi serve --server %s', (kind) => {
    let server: TsgiProcess;
    const open: Socket[] = [];
    const ws = async (path: string, extra?: Record<string, string>) => {
      const hs = await upgrade(server.url, path, extra);
      open.push(hs.socket);
      return hs;
    };
    beforeAll(async () => {
      server = await startTsgi(['serve', 'examples/test/fixtures/scope-report.ts:app', '--host', '127.0.0.1', '--port', '0', '--server', kind]);
    });
    afterAll(async () => {
      open.forEach((s) => s.destroy());
      if (server) expect(await server.stop()).toBe(0); // undefined if it failed to start: that error is reported already
    });

    it('answers each row of the handshake table as the page says', async () => {
      const start = text.indexOf('| the app sends, after `websocket.connect` | the client gets |');
      const rows = text.slice(start).split('\n').slice(2).filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('|')));
      // Which path of the fixture app does what each row's first cell says.
      const paths: Record<string, string> = {
        '`websocket.accept`': '/accept',
        '`websocket.close`': '/close',
        '`websocket.http.response.start` + `.body`': '/deny',
        'nothing (returns)': '/return',
        raises: '/raise',
      };
      const cells = rows.map((r) => r.slice(1, -1).split('|').map((c) => c.trim()));
      expect(cells.map(([sends]) => sends)).toEqual(Object.keys(paths));
      for (const [sends, gets] of cells) {
        const hs = await ws(paths[sends!]!, { 'sec-websocket-protocol': 'chat, superchat' });
        const status = /`(\d{3}) /.exec(gets!)?.[1];
        if (status === undefined) {
          expect(gets).toContain('that HTTP response');
          expect([hs.status, hs.headers.get('content-length'), hs.body]).toEqual([401, '8', 'no entry']); // the fixture's denial, collected
          continue;
        }
        expect(hs.status, `${sends} -> ${gets}`).toBe(Number(status));
        if (hs.status === 101) {
          expect(hs.headers.get('sec-websocket-protocol')).toBe('chat'); // the one the app picked from scope.subprotocols
          expect(hs.headers.get('x-accepted')).toBe('yes');
        }
        if (hs.status === 500) expect(hs.body).not.toContain('raised'); // nothing of the error is sent
      }
      await expect.poll(() => server.stderr()).toContain('raised during the handshake'); // logged
    });

    it('announces the websocket.http.response extension in the scope', async () => {
      const hs = await ws('/accept');
      while (hs.frames.length === 0) await hs.more();
      expect(JSON.parse(hs.frames[0]!.payload.toString('utf8'))).toEqual({ extensions: ['websocket.http.response'] });
    });

    it('closes with 1000 when the app returns, 1011 when it raises, and the app\'s own code and reason', async () => {
      expect(text).toContain('An app that returns while the socket is open closes it with 1000; an app that raises closes it with\n  1011 and the reason `Internal Server Error`');
      const cases: Array<[string, { code: number; reason: string }]> = [
        ['return', { code: 1000, reason: '' }],
        ['raise', { code: 1011, reason: 'Internal Server Error' }], // nothing of the error itself
        ['close', { code: 4000, reason: 'bye' }],
      ];
      for (const [message, expected] of cases) {
        const hs = await ws('/accept');
        sendText(hs.socket, message);
        expect(await closeFrame(hs), message).toEqual(expected);
      }
    });

    it('answers 426 with Sec-WebSocket-Version: 13 to any other version', async () => {
      expect(text).toContain('answers `426 Upgrade Required` with `Sec-WebSocket-Version: 13` for anything but 13');
      const hs = await ws('/accept', { 'sec-websocket-version': '8' });
      expect(hs.status).toBe(426);
      expect(hs.headers.get('sec-websocket-version')).toBe('13');
    });
  });
});
