/**
 * The soak's load client: raw HTTP/1.1 and WebSocket over node:net, in
 * process, so that every single request is checked (status, framing and the
 * exact body bytes) and counted, which wrk cannot do without a Lua response
 * hook that costs more than this client. Requests are numbered; the number
 * decides the kind (a fixed mix, see SOAK_MIX) and the expected body.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { streamParts } from './soak-count.js';

/** The kinds of request in the mix. */
export type SoakKind = 'get' | 'echo-small' | 'echo-64k' | 'stream' | 'fresh';

/** Share of each kind, in requests per 100 (request id modulo 100 picks it). */
export const SOAK_MIX: Readonly<Record<SoakKind, number>> = { get: 66, 'echo-small': 20, stream: 10, 'echo-64k': 2, fresh: 2 };

const KIND_BY_SLOT: SoakKind[] = [];
for (const kind of ['fresh', 'echo-64k', 'stream', 'echo-small', 'get'] as const) for (let k = 0; k < SOAK_MIX[kind]; k++) KIND_BY_SLOT.push(kind);

/** The kind of request number `id`. */
export function kindOf(id: number): SoakKind {
  return KIND_BY_SLOT[id % 100]!;
}

const BIG = Buffer.alloc(64 * 1024);
for (let i = 0; i < BIG.length; i++) BIG[i] = 0x61 + (i % 26);

/** The request bytes of number `id` and the body its answer must carry. */
function requestOf(id: number, host: string): { bytes: Buffer; expect: Buffer; chunked: boolean; fresh: boolean } {
  const kind = kindOf(id);
  if (kind === 'get' || kind === 'fresh') {
    const close = kind === 'fresh' ? 'Connection: close\r\n' : '';
    return { bytes: Buffer.from(`GET /soak/${kind}/${id} HTTP/1.1\r\nHost: ${host}\r\n${close}\r\n`, 'latin1'), expect: Buffer.from(`${kind} ${id}`), chunked: false, fresh: kind === 'fresh' };
  }
  if (kind === 'stream') {
    return { bytes: Buffer.from(`GET /soak/stream/${id} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 'latin1'), expect: Buffer.from(streamParts(String(id)).join('')), chunked: true, fresh: false };
  }
  let body: Buffer;
  if (kind === 'echo-64k') {
    // The id at the front, so an answer given to the wrong request shows.
    body = Buffer.from(BIG);
    body.write(`${id}:`, 0, 'latin1');
  } else body = Buffer.from(`small body of request ${id} `.padEnd(200, '.'), 'latin1');
  const head = Buffer.from(`POST /soak/echo/${id} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1');
  return { bytes: Buffer.concat([head, body]), expect: body, chunked: false, fresh: false };
}

/** One parsed HTTP response. */
interface Response {
  status: number;
  /** Header block, lower-cased, for framing checks. */
  head: string;
  chunked: boolean;
  body: Buffer;
}

const CRLF2 = Buffer.from('\r\n\r\n');

/** A client connection that sends one request at a time and parses the answer incrementally. */
class HttpConnection {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Response) => void; reject: (e: Error) => void } | null = null;
  private closedError: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket, timeoutMs: number) {
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer for ${timeoutMs} ms`)));
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.parse();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (e) => this.fail(e));
    socket.on('end', () => this.fail(new Error('closed by the server before a complete answer')));
    socket.on('close', () => this.fail(new Error('connection closed before a complete answer')));
  }

  /** Connects to 127.0.0.1:`port`. */
  static open(port: number, timeoutMs: number): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new HttpConnection(socket, timeoutMs));
      });
    });
  }

  private fail(e: Error): void {
    this.closedError ??= e;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(e);
  }

  /** Sends one request and resolves with its whole answer. */
  exchange(bytes: Buffer): Promise<Response> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  private parse(): void {
    if (!this.waiting) {
      if (this.buf.length > 0) this.socket.destroy(new Error(`bytes nobody asked for: ${JSON.stringify(this.buf.subarray(0, 80).toString('latin1'))}`));
      return;
    }
    const headEnd = this.buf.indexOf(CRLF2);
    if (headEnd < 0) return;
    const head = this.buf.subarray(0, headEnd).toString('latin1').toLowerCase();
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    const chunked = /\r\ntransfer-encoding: *chunked/.test(head);
    let at = headEnd + 4;
    let body: Buffer;
    if (chunked) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = this.buf.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(this.buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) return void this.socket.destroy(new Error('bad chunk size'));
        if (size === 0) {
          // No trailers are expected: the last chunk is followed by an empty line.
          if (this.buf.length < lineEnd + 4) return;
          at = lineEnd + 4;
          break;
        }
        if (this.buf.length < lineEnd + 2 + size + 2) return;
        parts.push(this.buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (length) {
      const end = at + Number(length[1]);
      if (this.buf.length < end) return;
      body = this.buf.subarray(at, end);
      at = end;
    } else return void this.socket.destroy(new Error(`answer without a length: ${head.split('\r\n')[0]}`));
    const rest = this.buf.subarray(at);
    this.buf = rest.length === 0 ? Buffer.alloc(0) : Buffer.from(rest);
    const w = this.waiting;
    this.waiting = null;
    w.resolve({ status, head, chunked, body });
    if (this.buf.length > 0) this.parse();
  }

  /** Closes from the client side. */
  end(): void {
    this.socket.end();
  }
}

/** Counts of a client run. */
export interface ClientStats {
  /** HTTP requests written. */
  sent: number;
  /** Answered with 200 and the expected body. */
  ok: number;
  byKind: Record<SoakKind, { sent: number; ok: number }>;
  /** Failures by "kind: what", and the first few in full. */
  errors: Record<string, number>;
  errorExamples: string[];
  wsSessions: number;
  wsSessionsOk: number;
  wsMessages: number;
  wsMessagesOk: number;
  /** Connections opened (keep-alive ones plus one per fresh request). */
  connections: number;
}

/** A fresh, zeroed stats record. */
export function emptyStats(): ClientStats {
  const byKind = {} as Record<SoakKind, { sent: number; ok: number }>;
  for (const k of Object.keys(SOAK_MIX) as SoakKind[]) byKind[k] = { sent: 0, ok: 0 };
  return { sent: 0, ok: 0, byKind, errors: {}, errorExamples: [], wsSessions: 0, wsSessionsOk: 0, wsMessages: 0, wsMessagesOk: 0, connections: 0 };
}

function recordError(stats: ClientStats, key: string, detail: string): void {
  stats.errors[key] = (stats.errors[key] ?? 0) + 1;
  if (stats.errorExamples.length < 10) stats.errorExamples.push(`${key}: ${detail}`);
}

/** What is wrong with an answer, or null when it is the expected one. */
function checkAnswer(r: Response, expect: Buffer, chunked: boolean): string | null {
  if (r.status !== 200) return `status ${r.status}`;
  if (chunked && !r.chunked) return 'streamed answer not chunked';
  if (!r.body.equals(expect)) return `body mismatch (${r.body.length} bytes, expected ${expect.length}): ${JSON.stringify(r.body.subarray(0, 40).toString('latin1'))}`;
  return null;
}

/** Options of one client run. */
export interface ClientRun {
  port: number;
  /** Request ids [from, to) are sent. */
  from: number;
  to: number;
  connections: number;
  /** WebSocket echo sessions spread over the run (0 for servers without WebSocket). */
  wsSessions: number;
  wsMessagesPerSession: number;
  /** A request unanswered for this long is an error. */
  timeoutMs: number;
  /** Called with the number of requests answered so far (for progress). */
  onProgress?: (done: number) => void;
}

/** Drives requests [from, to) over `connections` keep-alive lanes plus the WebSocket sessions; resolves when all are done and closed. */
export async function runClient(run: ClientRun, stats: ClientStats): Promise<void> {
  const host = `127.0.0.1:${run.port}`;
  let next = run.from;
  let done = 0;
  const total = run.to - run.from;
  const lane = async () => {
    let conn: HttpConnection | null = null;
    for (;;) {
      const id = next++;
      if (id >= run.to) break;
      const req = requestOf(id, host);
      const kind = kindOf(id);
      stats.sent++;
      stats.byKind[kind].sent++;
      let used: HttpConnection | null = null;
      try {
        if (req.fresh) {
          used = await HttpConnection.open(run.port, run.timeoutMs);
        } else {
          if (!conn) {
            conn = await HttpConnection.open(run.port, run.timeoutMs);
            stats.connections++;
          }
          used = conn;
        }
        if (req.fresh) stats.connections++;
        const r = await used.exchange(req.bytes);
        const wrong = checkAnswer(r, req.expect, req.chunked);
        if (wrong) recordError(stats, `${kind}: ${wrong.split(' (')[0]}`, `request ${id}: ${wrong}`);
        else if (req.fresh) {
          // Connection: close must be honored: the server closes once the answer is out.
          const closed = await Promise.race([used.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
          if (!closed) recordError(stats, 'fresh: connection kept open after Connection: close', `request ${id}`);
          else ok(kind);
        } else ok(kind);
      } catch (e) {
        recordError(stats, `${kind}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, `request ${id}: ${(e as Error).message}`);
        if (used === conn) conn = null;
        used?.socket.destroy();
      } finally {
        if (req.fresh) used?.socket.destroy();
      }
      done++;
      if ((done & 1023) === 0) run.onProgress?.(done);
    }
    if (conn) {
      conn.end();
      await conn.closed;
    }
  };
  const ok = (kind: SoakKind) => {
    stats.ok++;
    stats.byKind[kind].ok++;
  };
  const ws = async () => {
    for (let s = 0; s < run.wsSessions; s++) {
      // Session s starts once its share of the HTTP requests is done, so the sessions spread over the run.
      while (done < (total * s) / run.wsSessions && next < run.to) await new Promise((r) => setTimeout(r, 20));
      stats.wsSessions++;
      try {
        await wsSession(run.port, run.wsMessagesPerSession, run.timeoutMs, stats);
        stats.wsSessionsOk++;
      } catch (e) {
        recordError(stats, `websocket: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, (e as Error).message);
      }
    }
  };
  await Promise.all([...Array.from({ length: run.connections }, lane), ws()]);
  run.onProgress?.(done);
}

/** One parsed WebSocket frame from the server. */
interface WsFrame {
  opcode: number;
  payload: Buffer;
}

function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + ext + 4 + len);
  out[0] = 0x80 | opcode;
  out[1] = 0x80 | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (ext === 2) out.writeUInt16BE(len, 2);
  if (ext === 8) out.writeBigUInt64BE(BigInt(len), 2);
  mask.copy(out, 2 + ext);
  for (let i = 0; i < len; i++) out[2 + ext + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** One echo session: handshake, `messages` text and binary messages each echoed exactly, then a 1000 close both ways. */
async function wsSession(port: number, messages: number, timeoutMs: number, stats: ClientStats): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`websocket: no frame for ${timeoutMs} ms`)));
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  let ended = false;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  socket.on('error', (e) => {
    failure ??= e;
    wake?.();
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      wake?.();
      resolve();
    }),
  );
  const more = () =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      if (ended) return reject(new Error('websocket: connection closed early'));
      wake = () => {
        wake = null;
        resolve();
      };
    });
  try {
    const key = randomBytes(16).toString('base64');
    socket.write(`GET /soak/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let headEnd: number;
    while ((headEnd = buf.indexOf(CRLF2)) < 0) await more();
    const head = buf.subarray(0, headEnd).toString('latin1');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    if (!head.startsWith('HTTP/1.1 101') || !head.toLowerCase().includes(`sec-websocket-accept: ${accept.toLowerCase()}`)) throw new Error(`websocket: handshake refused: ${head.split('\r\n')[0]}`);
    buf = buf.subarray(headEnd + 4);
    const nextFrame = async (): Promise<WsFrame> => {
      for (;;) {
        if (buf.length >= 2) {
          const b1 = buf[1]! & 0x7f;
          const ext = b1 === 126 ? 2 : b1 === 127 ? 8 : 0;
          if (buf.length >= 2 + ext) {
            const len = ext === 2 ? buf.readUInt16BE(2) : ext === 8 ? Number(buf.readBigUInt64BE(2)) : b1;
            if (buf.length >= 2 + ext + len) {
              const frame = { opcode: buf[0]! & 0x0f, payload: Buffer.from(buf.subarray(2 + ext, 2 + ext + len)) };
              buf = buf.subarray(2 + ext + len);
              // Pings (the server's keepalive) are answered and skipped.
              if (frame.opcode === 0x9) {
                socket.write(encodeFrame(0xa, frame.payload));
                continue;
              }
              return frame;
            }
          }
        }
        await more();
      }
    };
    for (let m = 0; m < messages; m++) {
      const text = m % 2 === 0;
      const payload = text ? Buffer.from(`message ${m} ${'é'.repeat(m * 7)}`, 'utf8') : randomBytes(1 + ((m * 997) % 4096));
      socket.write(encodeFrame(text ? 0x1 : 0x2, payload));
      stats.wsMessages++;
      const f = await nextFrame();
      if (f.opcode !== (text ? 0x1 : 0x2) || !f.payload.equals(payload)) throw new Error(`websocket: echo ${m} differs (opcode ${f.opcode}, ${f.payload.length} bytes)`);
      stats.wsMessagesOk++;
    }
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    socket.write(encodeFrame(0x8, code));
    const f = await nextFrame();
    if (f.opcode !== 0x8 || f.payload.length < 2 || f.payload.readUInt16BE(0) !== 1000) throw new Error(`websocket: expected a 1000 close, got opcode ${f.opcode}`);
    socket.end();
    await closed;
  } finally {
    socket.destroy();
  }
}
