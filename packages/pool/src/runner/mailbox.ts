/**
 * A letter: one JSON value, optionally followed by some body bytes, written
 * into a region of a SharedArrayBuffer by one thread and read by another,
 * with no structured clone and no message port on the way. The task queue
 * (task-queue.ts) and the result rings (result-ring.ts) are made of them.
 * Who may write a region when is up to those: a letter has no lock.
 */

/** Two int32 fields before the payload: the JSON's byte length and the body's. */
const HEADER_BYTES = 8;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One region holding one letter at a time, seen from either side. */
export class Mailbox {
  private readonly fields: Int32Array;
  private readonly bytes: Uint8Array;

  /** The region is `length` bytes of `buffer` from `offset` (a multiple of 4). */
  constructor(buffer: SharedArrayBuffer, offset: number, length: number) {
    this.fields = new Int32Array(buffer, offset, 2);
    this.bytes = new Uint8Array(buffer, offset + HEADER_BYTES, length - HEADER_BYTES);
  }

  /**
   * Writes `value` as JSON, followed by the bytes of `body` (concatenated).
   * Returns false when it does not fit (and then nothing is promised about
   * the region's content).
   */
  write(value: unknown, body: readonly Uint8Array[] = []): boolean {
    const json = JSON.stringify(value);
    const { read, written } = encoder.encodeInto(json, this.bytes);
    let at = written;
    let fits = read === json.length;
    for (const chunk of body) {
      if (!fits || at + chunk.byteLength > this.bytes.byteLength) {
        fits = false;
        break;
      }
      this.bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    if (!fits) return false;
    this.fields[0] = written;
    this.fields[1] = at - written;
    return true;
  }

  /** The JSON value written last. */
  readValue<T>(): T {
    return JSON.parse(decoder.decode(this.bytes.subarray(0, this.fields[0]))) as T;
  }

  /** A copy of the body bytes written last (the region is reused), or null when there are none. */
  readBody(): Uint8Array | null {
    const n = this.fields[1]!;
    if (n === 0) return null;
    const start = this.fields[0]!;
    return this.bytes.slice(start, start + n);
  }
}
