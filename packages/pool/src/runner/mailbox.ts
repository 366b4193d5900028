/**
 * A letter: numbers and strings in a fixed order, optionally followed by
 * some body bytes, written into a region of a SharedArrayBuffer by one
 * thread and read by another, with no structured clone and no message port
 * on the way. The task queue (task-queue.ts) and the result rings
 * (result-ring.ts) carry them; protocol.ts says what a task and a result
 * write. Who may write where and when is up to those: a letter has no lock.
 *
 * Not JSON: a request's task and result cross once each per request, and
 * JSON.stringify plus JSON.parse (which also interns every key) cost more
 * than the rest of the hop on the main thread. A letter's strings travel as
 * one UTF-8 run, encoded and decoded in one call each, and cut apart by
 * their lengths; its numbers are float64 cells.
 *
 * A letter's layout: three float64 cells (how many numbers, the text's
 * bytes, the body's bytes), the numbers, then the text, then the body.
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

/**
 * A region of shared memory that letters are written into and read from at
 * byte offsets the caller chooses (multiples of 8): a fixed entry of the
 * task queue, or the next free place in a result ring.
 */
export class LetterBuffer {
  private readonly cells: Float64Array;
  private readonly bytes: Uint8Array;

  /** The region is `length` bytes of `buffer` from `offset` (both multiples of 8). */
  constructor(buffer: SharedArrayBuffer, offset: number, length: number) {
    this.cells = new Float64Array(buffer, offset, length >> 3);
    this.bytes = new Uint8Array(buffer, offset, length);
  }

  /**
   * Writes `letter`, followed by the bytes of `body` (concatenated), at `at`,
   * using no byte at or past `end`. Returns where the next letter may start
   * (a multiple of 8), or -1 when it does not fit (and then nothing is
   * promised about the bytes in between).
   */
  write(at: number, end: number, letter: LetterWriter, body: readonly Uint8Array[] = []): number {
    const numbers = letter.numbers;
    const first = at >> 3;
    const textStart = at + (HEAD_CELLS + numbers.length) * 8;
    if (textStart > end) return -1;
    for (let i = 0; i < numbers.length; i++) this.cells[first + HEAD_CELLS + i] = numbers[i]!;
    const { read, written } = encoder.encodeInto(letter.text, this.bytes.subarray(textStart, end));
    if (read !== letter.text.length) return -1;
    let next = textStart + written;
    for (const chunk of body) {
      if (next + chunk.byteLength > end) return -1;
      this.bytes.set(chunk, next);
      next += chunk.byteLength;
    }
    this.cells[first] = numbers.length;
    this.cells[first + 1] = written;
    this.cells[first + 2] = next - textStart - written;
    return (next + 7) & ~7;
  }

  /** Marks `at` as holding no letter (a result ring's "go back to the start"); needs 8 bytes. */
  writeSkip(at: number): void {
    this.cells[at >> 3] = -1;
  }

  /** True when `at` was marked by writeSkip. */
  isSkip(at: number): boolean {
    return this.cells[at >> 3] === -1;
  }

  /** Where the letter at `at` ends, rounded up to the next multiple of 8 (where the next one may start). */
  end(at: number): number {
    const first = at >> 3;
    return (this.textStart(at) + this.cells[first + 1]! + this.cells[first + 2]! + 7) & ~7;
  }

  /** The letter at `at`, to read field by field. */
  read(at: number): LetterReader {
    const first = at >> 3;
    const textStart = this.textStart(at);
    const text = decoder.decode(this.bytes.subarray(textStart, textStart + this.cells[first + 1]!));
    return new LetterReader(this.cells.subarray(first + HEAD_CELLS, first + HEAD_CELLS + this.cells[first]!), text);
  }

  /** A copy of the body bytes of the letter at `at` (the region is reused), or null when it has none. */
  readBody(at: number): Uint8Array | null {
    const first = at >> 3;
    const n = this.cells[first + 2]!;
    if (n === 0) return null;
    const start = this.textStart(at) + this.cells[first + 1]!;
    return this.bytes.slice(start, start + n);
  }

  /** Where the text of the letter at `at` starts: after its head cells and its numbers. */
  private textStart(at: number): number {
    return at + (HEAD_CELLS + this.cells[at >> 3]!) * 8;
  }
}
