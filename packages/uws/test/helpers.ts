/** Shared helpers for the @tsgi/uws tests: a recording logger, a server per test, and a raw HTTP/1.1 client. */
import { connect, type Socket } from 'node:net';
import type { AsgiApplication, ServerHandle } from '@tsgi/core';
import type { Logger } from '@tsgi/core/server';
import { serve, type ServeOptions } from '@tsgi/uws';

export interface LogRecord {
  level: 'debug' | 'info' | 'warning' | 'error' | 'access';
  message: string;
  error?: unknown;
}

/** A logger that keeps every record for assertions. */
export function recordingLogger(): Logger & { records: LogRecord[]; errors(): LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    errors: () => records.filter((r) => r.level === 'error'),
    debug: (message) => records.push({ level: 'debug', message }),
    info: (message) => records.push({ level: 'info', message }),
    warning: (message) => records.push({ level: 'warning', message }),
    error: (message, error) => records.push({ level: 'error', message, error }),
    access: (message) => records.push({ level: 'access', message }),
  };
}

export interface Started {
  handle: ServerHandle;
  port: number;
  url: string;
  log: ReturnType<typeof recordingLogger>;
}

const running = new Set<ServerHandle>();

/** Starts a server on an ephemeral port; closeAll() in afterEach stops it. */
export async function start(app: AsgiApplication, options: ServeOptions = {}): Promise<Started> {
  const log = recordingLogger();
  const handle = await serve(app, { port: 0, logger: log, lifespan: 'off', ...options });
  running.add(handle);
  const port = 'port' in handle.address ? handle.address.port : 0;
  return { handle, port, url: handle.url, log };
}

/** Closes every server started by start(). */
export async function closeAll(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((h) => h.close()));
}

/** A parsed HTTP/1.1 response. */
export interface RawResponse {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  /** Header lookup (lower-case name, first value). */
  header(name: string): string | undefined;
  body: Buffer;
  /** Raw head text as received. */
  head: string;
}

/**
 * A raw HTTP/1.1 client on one connection: write bytes, read responses one
 * by one (Content-Length, chunked or close-delimited), see the connection close.
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

  constructor(port: number, host = '127.0.0.1') {
    this.socket = connect(port, host);
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

  /** Reads one response; `head: true` for a response to HEAD (no body whatever the headers say). */
  async response(opts: { headRequest?: boolean } = {}): Promise<RawResponse> {
    let end: number;
    while ((end = this.buf.indexOf('\r\n\r\n')) === -1) {
      if (this.closed) throw new Error(`connection closed before a response head; got ${JSON.stringify(this.buf.toString('latin1'))}`);
      await this.next();
    }
    const head = this.buf.subarray(0, end).toString('latin1');
    this.consume(end + 4);
    const [statusLine, ...lines] = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine!);
    if (m === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers = lines.map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as [string, string];
    });
    const header = (n: string) => headers.find((h) => h[0] === n)?.[1];
    const status = Number(m[1]);
    let body: Buffer;
    if (opts.headRequest || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        let le: number;
        while ((le = this.buf.indexOf('\r\n')) === -1) await this.needMore();
        const size = parseInt(this.buf.subarray(0, le).toString('latin1'), 16);
        await this.atLeast(le + 2 + size + 2);
        parts.push(Buffer.from(this.buf.subarray(le + 2, le + 2 + size)));
        this.consume(le + 2 + size + 2);
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (header('content-length') !== undefined) {
      const n = Number(header('content-length'));
      await this.atLeast(n);
      body = Buffer.from(this.buf.subarray(0, n));
      this.consume(n);
    } else {
      await this.waitClosed();
      body = this.buf;
      this.consume(body.length);
    }
    return { status, reason: m[2]!, headers, header, body, head };
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
    if (this.closed) throw new Error('connection closed in the middle of a response body');
    await this.next();
  }

  private next(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
    });
  }
}

/** One request on a fresh connection; returns the response. */
export async function rawRequest(port: number, request: string | Uint8Array, opts: { headRequest?: boolean } = {}): Promise<RawResponse> {
  const c = new RawClient(port);
  try {
    await c.ready;
    c.write(request);
    return await c.response(opts);
  } finally {
    c.close();
  }
}

/** Resolves after `ms`; only for bounding waits, never as a synchronization point. */
export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An app answering 200 with `body` (text). */
export function textApp(body: string, status = 200): AsgiApplication {
  return async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: Buffer.from(body) });
  };
}
