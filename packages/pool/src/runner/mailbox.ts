/**
 * A letter: numbers and strings in a fixed order, optionally followed by
 * some body bytes, written into a region of a SharedArrayBuffer by one
 * thread and read by another, with no structured clone and no message port
 * on the way. The task queue (task-queue.ts) and the result rings
 * (result-ring.ts) are made of them; protocol.ts says what a task and a
 * result write. Who may write a region when is up to those: a letter has no
 * lock.
 *
 * Not JSON: a request's task and result cross once each per request, and
 * JSON.stringify plus JSON.parse (which also interns every key) cost more
 * than the rest of the hop on the main thread. A letter's strings travel as
 * one UTF-8 run, encoded and decoded in one call each, and cut apart by
 * their lengths; its numbers are float64 cells.
 *
 * Region layout: three float64 cells (how many numbers, the text's bytes,
 * the body's bytes), the numbers, then the text, then the body.
 */

const HEAD_CELLS = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Collects one letter's fields; reuse it for the next letter after reset(). */
export class LetterWriter {
  /** The numbers, a string's length among them before its text. */
  readonly numbers: number[] = [];
  /** The strings, one after another. */
  text = '';

  /** Starts a new letter. */
  reset(): this {
    this.numbers.length = 0;
    this.text = '';
    return this;
  }

  num(n: number): this {
    this.numbers.push(n);
    return this;
  }

  str(s: string): this {
    this.numbers.push(s.length);
    this.text += s;
    return this;
  }

  /** A string or null (length -1). */
  strOrNull(s: string | null): this {
    if (s === null) this.numbers.push(-1);
    else this.str(s);
    return this;
  }
}

/** Reads one letter's fields back, in the order they were written. */
export class LetterReader {
  private at = 0;
  private textAt = 0;

  constructor(
    private readonly numbers: Float64Array,
    private readonly text: string,
  ) {}

  num(): number {
    return this.numbers[this.at++]!;
  }

  str(): string {
    const n = this.numbers[this.at++]!;
    return this.text.slice(this.textAt, (this.textAt += n));
  }

  strOrNull(): string | null {
    const n = this.numbers[this.at]!;
    if (n < 0) {
      this.at++;
      return null;
    }
    return this.str();
  }
}

/** One region holding one letter at a time, seen from either side. */
export class Mailbox {
  private readonly cells: Float64Array;
  private readonly bytes: Uint8Array;

  /** The region is `length` bytes of `buffer` from `offset` (both multiples of 8). */
  constructor(buffer: SharedArrayBuffer, offset: number, length: number) {
    this.cells = new Float64Array(buffer, offset, length >> 3);
    this.bytes = new Uint8Array(buffer, offset, length);
  }

  /**
   * Writes `letter`, followed by the bytes of `body` (concatenated).
   * Returns false when it does not fit (and then nothing is promised about
   * the region's content).
   */
  write(letter: LetterWriter, body: readonly Uint8Array[] = []): boolean {
    const numbers = letter.numbers;
    const textStart = (HEAD_CELLS + numbers.length) * 8;
    if (textStart > this.bytes.byteLength) return false;
    for (let i = 0; i < numbers.length; i++) this.cells[HEAD_CELLS + i] = numbers[i]!;
    const { read, written } = encoder.encodeInto(letter.text, this.bytes.subarray(textStart));
    if (read !== letter.text.length) return false;
    let at = textStart + written;
    for (const chunk of body) {
      if (at + chunk.byteLength > this.bytes.byteLength) return false;
      this.bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    this.cells[0] = numbers.length;
    this.cells[1] = written;
    this.cells[2] = at - textStart - written;
    return true;
  }

  /** The letter written last, to read field by field. */
  read(): LetterReader {
    const count = this.cells[0]!;
    const textStart = (HEAD_CELLS + count) * 8;
    const text = decoder.decode(this.bytes.subarray(textStart, textStart + this.cells[1]!));
    return new LetterReader(this.cells.subarray(HEAD_CELLS, HEAD_CELLS + count), text);
  }

  /** A copy of the body bytes written last (the region is reused), or null when there are none. */
  readBody(): Uint8Array | null {
    const n = this.cells[2]!;
    if (n === 0) return null;
    const start = (HEAD_CELLS + this.cells[0]!) * 8 + this.cells[1]!;
    return this.bytes.slice(start, start + n);
  }
}
