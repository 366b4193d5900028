/**
 * What the tests of every tsgi server on sockets share (@tsgi/node's and
 * @tsgi/uws's): a recording logger, a server per test started through the
 * transport's serve() and closed in afterEach, a raw HTTP/1.x client for
 * byte-exact checks, and a few small promises. Each transport's
 * test/helpers.ts binds serverStarter() to its own serve().
 */
import { connect, type Socket } from 'node:net';
import type { AsgiApplication, ServerHandle } from '@tsgi/core';
import type { Logger } from '@tsgi/core/server';

export interface LogRecord {
  level: 'debug' | 'info' | 'warning' | 'error' | 'access';
  message: string;
  error?: unknown;
}

export type RecordingLogger = Logger & { records: LogRecord[]; errors(): LogRecord[]; text(): string };

/** A logger that keeps every record for assertions. */
export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = [];
  return {
    records,
    errors: () => records.filter((r) => r.level === 'error'),
    text: () => records.map((r) => `${r.level}: ${r.message}`).join('\n'),
    debug: (message) => records.push({ level: 'debug', message }),
    info: (message) => records.push({ level: 'info', message }),
    warning: (message) => records.push({ level: 'warning', message }),
    error: (message, error) => records.push({ level: 'error', message, error }),
    access: (message) => records.push({ level: 'access', message }),
  };
}

/** A server start() started. */
export interface Started {
  handle: ServerHandle;
  port: number;
  url: string;
  log: RecordingLogger;
}

/** The options every transport's serve() takes that start() sets. */
interface StartOptions {
  port?: number;
  logger?: Logger;
  lifespan?: 'auto' | 'on' | 'off';
}

/**
 * start() and closeAll() for one transport's serve(): start() serves `app`
 * on an ephemeral port of 127.0.0.1 with a recording logger and lifespan off
 * unless `options` say otherwise; closeAll() (in afterEach) closes every
 * server it started, with a bound, so a test that left a request hanging
 * still ends.
 */
export function serverStarter<O extends StartOptions>(serve: (app: AsgiApplication, options: O) => Promise<ServerHandle>): {
  start(app: AsgiApplication, options?: O): Promise<Started>;
  closeAll(): Promise<void>;
} {
  const running = new Set<ServerHandle>();
  return {
    async start(app, options) {
      const log = recordingLogger();
      const handle = await serve(app, { port: 0, logger: log, lifespan: 'off', ...options } as O);
      running.add(handle);
      const port = 'port' in handle.address ? handle.address.port : 0;
      return { handle, port, url: handle.url, log };
    },
    async closeAll() {
      const all = [...running];
      running.clear();
      await Promise.all(all.map((h) => Promise.race([h.close(), delay(3000)])));
    },
  };
}

/** A parsed HTTP/1.x response. */
export interface RawResponse {
  httpVersion: string;
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  /** Header lookup (lower-case name, first value). */
  header(name: string): string | undefined;
  body: Buffer;
  /** Trailer fields of a chunked body. */
  trailers: Array<[string, string]>;
  /** The head as received, latin-1. */
  head: string;
  /** The bytes of the head as received. */
  headBytes: Buffer;
  /** How the body was framed. */
  framing: 'length' | 'chunked' | 'close' | 'none';
}

/**
 * A raw HTTP/1.x client on one connection: write bytes, read responses one
 * by one (Content-Length, chunked with trailers, or close-delimited, 1xx
 * interim responses included), see the connection close.
 */
export class RawClient {
  readonly socket: Socket;
  // Received bytes not yet consumed, kept as a list: concatenating on every
  // data event would make a 64 MiB body cost gigabytes of copying.
  private parts: Buffer[] = [];
  private length = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  readonly ready: Promise<void>;

  constructor(port: number | string, host = '127.0.0.1') {
    this.socket = typeof port === 'string' ? connect(port) : connect(port, host);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (d: Buffer) => {
      this.parts.push(d);
      this.length += d.length;
      this.wake?.();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    this.socket.on('error', () => {});
  }

  /** Writes a latin-1 string (each char one byte) or bytes. */
  write(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves when the server closed the connection. */
  async waitClosed(): Promise<void> {
    while (!this.closed) await this.next();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes received and not yet read as a response. */
  get pending(): Buffer {
    return this.buf;
  }

  /** Reads one response (an interim 1xx is a response of its own); `headRequest` for a response to HEAD. */
  async response(opts: { headRequest?: boolean } = {}): Promise<RawResponse> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) === -1) {
      if (this.closed) throw new Error(`connection closed before a response head; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      await this.next();
    }
    const headBytes = Buffer.from(this.buf.subarray(0, end));
    const head = headBytes.toString('latin1');
    this.consume(end + 4);
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/(1\.[01]) (\d{3}) ?(.*)$/.exec(statusLine!);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers = lines.map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
    });
    const header = (n: string) => headers.find((h) => h[0] === n)?.[1];
    const status = Number(m[2]);
    let body = Buffer.alloc(0);
    const trailers: Array<[string, string]> = [];
    let framing: RawResponse['framing'];
    if (opts.headRequest || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      framing = 'none';
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      framing = 'chunked';
      const parts: Buffer[] = [];
      for (;;) {
        let le: number;
        while ((le = this.buf.indexOf('\r\n')) === -1) await this.needMore();
        const size = parseInt(this.buf.subarray(0, le).toString('latin1'), 16);
        if (size === 0) {
          this.consume(le + 2);
          // Trailer fields up to the empty line.
          for (;;) {
            while ((le = this.buf.indexOf('\r\n')) === -1) await this.needMore();
            const line = this.buf.subarray(0, le).toString('latin1');
            this.consume(le + 2);
            if (line === '') break;
            const i = line.indexOf(':');
            trailers.push([line.slice(0, i).toLowerCase(), line.slice(i + 1).trim()]);
          }
          break;
        }
        await this.atLeast(le + 2 + size + 2);
        parts.push(Buffer.from(this.buf.subarray(le + 2, le + 2 + size)));
        this.consume(le + 2 + size + 2);
      }
      body = Buffer.concat(parts);
    } else if (header('content-length') !== undefined) {
      framing = 'length';
      const n = Number(header('content-length'));
      await this.atLeast(n);
      body = Buffer.from(this.buf.subarray(0, n));
      this.consume(n);
    } else {
      framing = 'close';
      await this.waitClosed();
      body = Buffer.from(this.buf);
      this.consume(body.length);
    }
    return { httpVersion: m[1]!, status, reason: m[3]!, headers, header, body, trailers, head, headBytes, framing };
  }

  /** Reads responses until a final (non-1xx) one; returns all of them, the final last. */
  async final(opts: { headRequest?: boolean } = {}): Promise<RawResponse[]> {
    const all: RawResponse[] = [];
    for (;;) {
      const r = await this.response(opts);
      all.push(r);
      if (r.status >= 200) return all;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /** The unconsumed bytes as one buffer. */
  private get buf(): Buffer {
    if (this.parts.length !== 1) this.parts = [this.parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(this.parts, this.length)];
    return this.parts[0]!;
  }

  /** Drops the first `n` unconsumed bytes. */
  private consume(n: number): void {
    const b = this.buf.subarray(n);
    this.parts = [b];
    this.length = b.length;
  }

  /** Waits until at least `n` bytes are unconsumed. */
  private async atLeast(n: number): Promise<void> {
    while (this.length < n) await this.needMore();
  }

  private async needMore(): Promise<void> {
    if (this.closed) throw new Error('connection closed in the middle of a response');
    await this.next();
  }

  /** Waits for more bytes or the close; `ms` bounds the wait. */
  next(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        this.wake = undefined;
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(() => this.wake?.(), ms);
    });
  }
}

/** One request on a fresh connection; returns the final response. */
export async function rawRequest(port: number | string, request: string | Uint8Array, opts: { headRequest?: boolean } = {}): Promise<RawResponse> {
  const c = new RawClient(port);
  try {
    await c.ready;
    c.write(request);
    const all = await c.final(opts);
    return all.at(-1)!;
  } finally {
    c.close();
  }
}

/** Resolves after `ms`; only for bounding waits, never as a synchronization point. */
export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A promise with its resolve at hand. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Polls `cond` every few ms until it holds (or fails the test after `ms`). */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** An app answering 200 with a text body. */
export function textApp(body: string, status = 200): AsgiApplication {
  return async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: Buffer.from(body) });
  };
}

/** Reads the whole request body of an http app. */
export async function readBody(receive: () => Promise<{ type: string; body?: Uint8Array; more_body?: boolean }>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const e = await receive();
    if (e.type !== 'http.request') return Buffer.concat(parts);
    parts.push(Buffer.from(e.body!));
    if (!e.more_body) return Buffer.concat(parts);
  }
}
