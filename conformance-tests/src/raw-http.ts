/**
 * The suite's raw HTTP/1.1 client, on node:net. It writes exactly the bytes a
 * check gives it and parses responses strictly (RFC 9112 framing), keeping the
 * header bytes as they travelled, so that nothing a lenient client library
 * would smooth over (framing, header case, chunk boundaries) is hidden.
 */
import * as net from 'node:net';

/** One response as it came off the wire. */
export interface RawResponse {
  /** e.g. `HTTP/1.1`. */
  httpVersion: string;
  status: number;
  reason: string;
  /** Header fields in order, name and value exactly as sent (latin-1 byte strings, value trimmed of OWS). */
  headers: Array<[string, string]>;
  /** The status line and header block as sent, without the final empty line. */
  rawHead: string;
  /** The body after transfer decoding. */
  body: Buffer;
  /** How the body was framed. */
  framing: 'none' | 'content-length' | 'chunked' | 'close';
  /** With chunked framing: the size of each chunk as framed (the final 0 excluded). */
  chunkSizes: number[];
  /** With chunked framing: trailer fields. */
  trailers: Array<[string, string]>;
  /** Interim (1xx) responses received before this one. */
  interim: RawResponse[];
}

/** Read options: how long to wait and what the request method was (HEAD responses have no body). */
export interface ReadOptions {
  method?: string;
  timeoutMs?: number;
  /** Return 1xx responses instead of collecting them in `interim` (101 is always returned). */
  returnInterim?: boolean;
}

/** Raised when the peer does not answer in time; the check reports it as a failure. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Raised when the bytes received do not parse as HTTP/1.1. */
export class FramingError extends Error {
  override name = 'FramingError';
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/** A raw TCP connection with a byte buffer that checks read from at their own pace. */
export class RawConnection {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private error: Error | null = null;
  private waiter: (() => void) | null = null;
  /** Resolves when the socket is fully closed. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket, readonly defaultTimeoutMs: number) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (e) => {
      this.error = e;
      this.ended = true;
      this.wake();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      this.wake();
      resolve();
    }));
  }

  /** Opens a connection to host:port. */
  static open(host: string, port: number, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TimeoutError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new RawConnection(socket, timeoutMs));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** True once the peer has closed (or reset) its side. */
  get peerClosed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): Buffer {
    return this.buf;
  }

  /** Writes bytes; strings are sent as latin-1 (one byte per char). */
  write(data: string | Uint8Array): Promise<void> {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) return reject(new Error('socket already closed'));
      this.socket.write(b, (e) => (e ? reject(e) : resolve()));
    });
  }

  /** Half-closes our side (sends FIN) while still reading. */
  endWrite(): void {
    this.socket.end();
  }

  /** Closes the socket abruptly. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Resets the connection (RST) instead of a clean FIN. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** Waits until `pred` finds what it needs in the buffer (returns non-null), the peer closes, or the time runs out. */
  async waitFor<T>(pred: (buf: Buffer, ended: boolean) => T | null, timeoutMs = this.defaultTimeoutMs, what = 'data'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = pred(this.buf, this.ended);
      if (r !== null) return r;
      if (this.ended) {
        throw new FramingError(`connection closed while waiting for ${what}${this.error ? ` (${this.error.message})` : ''}; buffered ${this.buf.length} bytes: ${preview(this.buf)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}; buffered ${this.buf.length} bytes: ${preview(this.buf)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Drops the first n buffered bytes (after a parser has used them). */
  consume(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  /** Consumes exactly n bytes. */
  async readExactly(n: number, timeoutMs?: number): Promise<Buffer> {
    await this.waitFor((b) => (b.length >= n ? true : null), timeoutMs, `${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Consumes everything until the peer closes. */
  async readToEnd(timeoutMs?: number): Promise<Buffer> {
    await this.waitFor((_b, ended) => (ended ? true : null), timeoutMs, 'the connection to close').catch((e) => {
      if (!(e instanceof FramingError)) throw e;
    });
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  /** Consumes one CRLF-terminated line (without the CRLF). */
  async readLine(timeoutMs?: number, limit = 65536): Promise<string> {
    const idx = await this.waitFor((b) => {
      const i = b.indexOf(CRLF);
      if (i >= 0) return i;
      if (b.length > limit) throw new FramingError(`line longer than ${limit} bytes`);
      return null;
    }, timeoutMs, 'a CRLF-terminated line');
    const line = this.buf.subarray(0, idx).toString('latin1');
    this.buf = this.buf.subarray(idx + 2);
    return line;
  }

  /**
   * Resolves true when the peer closes the connection within the time, false
   * otherwise; data that arrives meanwhile stays buffered.
   */
  async waitClosed(timeoutMs = this.defaultTimeoutMs): Promise<boolean> {
    try {
      await this.waitFor((_b, ended) => (ended ? true : null), timeoutMs, 'close');
      return true;
    } catch (e) {
      if (e instanceof FramingError) return true;
      return false;
    }
  }

  /** Reads one complete response (status line, headers, body per RFC 9112 section 6.3). */
  async readResponse(opts: ReadOptions = {}): Promise<RawResponse> {
    const timeoutMs = opts.timeoutMs ?? this.defaultTimeoutMs;
    const interim: RawResponse[] = [];
    for (;;) {
      const head = await this.readHead(timeoutMs);
      if (head.status >= 100 && head.status < 200 && head.status !== 101 && !opts.returnInterim) {
        interim.push(head);
        continue;
      }
      head.interim = interim;
      await this.readBody(head, opts.method ?? 'GET', timeoutMs);
      return head;
    }
  }

  /** Reads a status line and header block. */
  async readHead(timeoutMs = this.defaultTimeoutMs): Promise<RawResponse> {
    const end = await this.waitFor((b) => {
      const i = b.indexOf(HEAD_END);
      if (i >= 0) return i;
      if (b.length > 1 << 20) throw new FramingError('response head larger than 1 MiB');
      return null;
    }, timeoutMs, 'a response head');
    const rawHead = this.buf.subarray(0, end).toString('latin1');
    this.buf = this.buf.subarray(end + 4);
    const lines = rawHead.split('\r\n');
    const statusLine = lines.shift()!;
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new FramingError(`malformed status line ${JSON.stringify(statusLine)}`);
    const headers: Array<[string, string]> = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new FramingError(`malformed header line ${JSON.stringify(line)}`);
      headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')]);
    }
    return {
      httpVersion: m[1]!,
      status: Number(m[2]),
      reason: m[3] ?? '',
      headers,
      rawHead,
      body: Buffer.alloc(0),
      framing: 'none',
      chunkSizes: [],
      trailers: [],
      interim: [],
    };
  }

  private async readBody(res: RawResponse, method: string, timeoutMs: number): Promise<void> {
    if (method.toUpperCase() === 'HEAD' || res.status < 200 || res.status === 204 || res.status === 304) return;
    const te = headerValues(res.headers, 'transfer-encoding');
    const cl = headerValues(res.headers, 'content-length');
    if (te.length > 0) {
      const codings = te.join(',').split(',').map((s) => s.trim().toLowerCase());
      if (codings[codings.length - 1] !== 'chunked') {
        res.framing = 'close';
        res.body = await this.readToEnd(timeoutMs);
        return;
      }
      res.framing = 'chunked';
      const parts: Buffer[] = [];
      for (;;) {
        const line = await this.readLine(timeoutMs);
        const sizeText = line.split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new FramingError(`malformed chunk size line ${JSON.stringify(line)}`);
        const size = parseInt(sizeText, 16);
        if (size === 0) break;
        parts.push(Buffer.from(await this.readExactly(size, timeoutMs)));
        res.chunkSizes.push(size);
        const crlf = await this.readExactly(2, timeoutMs);
        if (!crlf.equals(CRLF)) throw new FramingError(`chunk of ${size} bytes not followed by CRLF`);
      }
      for (;;) {
        const line = await this.readLine(timeoutMs);
        if (line === '') break;
        const colon = line.indexOf(':');
        if (colon <= 0) throw new FramingError(`malformed trailer line ${JSON.stringify(line)}`);
        res.trailers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
      }
      res.body = Buffer.concat(parts);
      return;
    }
    if (cl.length > 0) {
      const distinct = new Set(cl.join(',').split(',').map((s) => s.trim()));
      if (distinct.size !== 1) throw new FramingError(`conflicting Content-Length values ${JSON.stringify(cl)}`);
      const text = [...distinct][0]!;
      if (!/^\d+$/.test(text)) throw new FramingError(`malformed Content-Length ${JSON.stringify(text)}`);
      res.framing = 'content-length';
      res.body = Buffer.from(await this.readExactly(Number(text), timeoutMs));
      return;
    }
    res.framing = 'close';
    res.body = await this.readToEnd(timeoutMs);
  }
}

/** All values of a header (case-insensitive name), in order. */
export function headerValues(headers: Array<[string, string]>, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of headers) if (k.toLowerCase() === lower) out.push(v);
  return out;
}

/** The single value of a header, or null when absent; several values are joined with ", ". */
export function header(headers: Array<[string, string]>, name: string): string | null {
  const v = headerValues(headers, name);
  return v.length === 0 ? null : v.join(', ');
}

/** What a check asks for: the request line, header fields and body, each sent exactly as given. */
export interface RawRequest {
  method?: string;
  target: string;
  /** Defaults to HTTP/1.1. */
  version?: string;
  /** Sent in order, exactly; a Host header is added first unless `noHost` or one is given. */
  headers?: Array<[string, string]>;
  body?: string | Uint8Array;
  /** Send the body with chunked transfer coding in these chunk sizes (or one chunk when true). */
  chunked?: boolean | number[];
  noHost?: boolean;
}

/** Serialises a request to bytes exactly as described, adding Content-Length for a non-chunked body when absent. */
export function serializeRequest(req: RawRequest, hostHeader = 'localhost'): Buffer {
  const method = req.method ?? 'GET';
  const headers = [...(req.headers ?? [])];
  const has = (n: string) => headers.some(([k]) => k.toLowerCase() === n);
  if (!req.noHost && !has('host')) headers.unshift(['Host', hostHeader]);
  const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body, 'latin1') : Buffer.from(req.body);
  let bodyBytes: Buffer = Buffer.alloc(0);
  if (req.chunked) {
    if (!has('transfer-encoding')) headers.push(['Transfer-Encoding', 'chunked']);
    bodyBytes = chunkedEncode(body ?? Buffer.alloc(0), req.chunked === true ? undefined : req.chunked);
  } else if (body !== undefined) {
    if (!has('content-length')) headers.push(['Content-Length', String(body.length)]);
    bodyBytes = body;
  }
  const head = `${method} ${req.target} ${req.version ?? 'HTTP/1.1'}\r\n` + headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]);
}

/** Chunked transfer coding of `body` cut at the given sizes (the rest in one chunk), with the last-chunk. */
export function chunkedEncode(body: Uint8Array, sizes?: number[]): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  const cut = sizes ? [...sizes] : [body.length];
  while (off < body.length) {
    const n = Math.min(cut.shift() ?? body.length - off, body.length - off);
    if (n <= 0) continue;
    parts.push(Buffer.from(`${n.toString(16)}\r\n`, 'latin1'), Buffer.from(body.subarray(off, off + n)), CRLF);
    off += n;
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}

function preview(b: Buffer): string {
  const s = b.subarray(0, 120).toString('latin1');
  return JSON.stringify(s) + (b.length > 120 ? '...' : '');
}
