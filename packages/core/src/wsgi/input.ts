/**
 * `wsgi.input`: a blocking, file-like reader of the request body over a pull
 * source. Where the bytes come from is the host's business: a worker thread
 * blocks in `pull()` until the main thread hands over the next chunk, the
 * in-process test client pulls from memory. This module only does the
 * file semantics of PEP 3333: read, readline, readlines, iteration, and
 * never reading past CONTENT_LENGTH.
 */
import { concatBytes } from '../bytes.js';
import type { WsgiInput } from './types.js';

/** Where the body bytes come from: each call blocks until a chunk is there; null at the end of the body. */
export interface PullSource {
  /**
   * The next chunk. `want`, when given and > 0, is how many bytes the reader
   * needs to finish a read(size): a source that can wait for that many (or
   * the end) and hand them in one chunk spares the reader a copy. 0 or
   * undefined: whatever comes next.
   */
  pull(want?: number): Uint8Array | null;
}

const EMPTY = new Uint8Array(0);
const LF = 0x0a;

/** A pull source over chunks already in memory (tests, the inline mode, the test client). */
export function memorySource(chunks: Iterable<Uint8Array>): PullSource {
  const it = chunks[Symbol.iterator]();
  return {
    pull() {
      const r = it.next();
      return r.done ? null : r.value;
    },
  };
}

/**
 * Creates `wsgi.input` over `source`. With `contentLength` (the request's
 * CONTENT_LENGTH) it never pulls past that many bytes and drops any excess a
 * source hands over; without it (a chunked upload) it reads until the source
 * says the body ended.
 */
export function createWsgiInput(source: PullSource, contentLength?: number | null): WsgiInput {
  return new BodyReader(source, contentLength ?? null);
}

/** The reader behind createWsgiInput: one current chunk and an offset into it, nothing buffered beyond. */
class BodyReader implements WsgiInput {
  private chunk: Uint8Array = EMPTY;
  private offset = 0;
  private eof: boolean;
  /** Bytes still to pull from the source; null when the length is unknown. */
  private remaining: number | null;

  constructor(
    private readonly source: PullSource,
    contentLength: number | null,
  ) {
    this.remaining = contentLength;
    this.eof = contentLength === 0;
  }

  /** Up to `size` bytes; fewer only at the end of the body. All the rest when `size` is omitted or negative. */
  read(size?: number): Uint8Array {
    if (size === undefined || size === null || size < 0) return this.readAll();
    if (size === 0) return EMPTY;
    if (!this.fill(size)) return EMPTY;
    // Fast path: the current chunk holds enough; hand out a view, no copy.
    const avail = this.chunk.byteLength - this.offset;
    if (avail >= size) return this.take(size);
    const parts: Uint8Array[] = [this.take(avail)];
    let need = size - avail;
    while (need > 0 && this.fill(need)) {
      const part = this.take(Math.min(need, this.chunk.byteLength - this.offset));
      parts.push(part);
      need -= part.byteLength;
    }
    return concatBytes(parts, size - need);
  }

  /** One line including its LF, or at most `size` bytes of it; empty at the end of the body. */
  readline(size?: number): Uint8Array {
    const limit = size === undefined || size === null || size < 0 ? Infinity : size;
    if (limit === 0) return EMPTY;
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < limit && this.fill()) {
      const start = this.offset;
      const stop = Math.min(this.chunk.byteLength, start + (limit - total));
      const lf = this.chunk.indexOf(LF, start);
      const end = lf !== -1 && lf < stop ? lf + 1 : stop;
      const part = this.take(end - start);
      parts.push(part);
      total += part.byteLength;
      if (lf !== -1 && lf < stop) break;
    }
    return concatBytes(parts, total);
  }

  /** The remaining lines; once `hint` (> 0) bytes have been read, stops after the current line. */
  readlines(hint?: number): Uint8Array[] {
    const lines: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const line = this.readline();
      if (line.byteLength === 0) return lines;
      lines.push(line);
      total += line.byteLength;
      if (hint !== undefined && hint !== null && hint > 0 && total >= hint) return lines;
    }
  }

  /** Iterates the remaining lines, like a Python file. */
  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (;;) {
      const line = this.readline();
      if (line.byteLength === 0) return;
      yield line;
    }
  }

  private readAll(): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (this.fill()) {
      const part = this.take(this.chunk.byteLength - this.offset);
      parts.push(part);
      total += part.byteLength;
    }
    return concatBytes(parts, total);
  }

  /** Makes sure the current chunk has unread bytes (`want`: how many the caller needs); false at the end of the body. */
  private fill(want = 0): boolean {
    while (this.offset >= this.chunk.byteLength) {
      if (this.eof) return false;
      const next = this.source.pull(this.remaining === null ? want : Math.min(want, this.remaining));
      if (next === null) {
        this.eof = true;
        this.chunk = EMPTY;
        this.offset = 0;
        return false;
      }
      let chunk = next;
      if (this.remaining !== null) {
        // Never past CONTENT_LENGTH, whatever the source hands over.
        if (chunk.byteLength >= this.remaining) {
          chunk = chunk.subarray(0, this.remaining);
          this.eof = true;
        }
        this.remaining -= chunk.byteLength;
      }
      this.chunk = chunk;
      this.offset = 0;
    }
    return true;
  }

  /** The next `n` bytes of the current chunk (which holds at least n), as a view. */
  private take(n: number): Uint8Array {
    const part = this.chunk.subarray(this.offset, this.offset + n);
    this.offset += n;
    return part;
  }
}
