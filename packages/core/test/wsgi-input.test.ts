import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createWsgiInput, memorySource, type PullSource } from '@tsgi/core';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A source that records how many chunks were pulled, to prove nothing is read ahead or past the end. */
function counting(chunks: string[]): PullSource & { pulls: number } {
  const inner = memorySource(chunks.map(enc));
  const src = {
    pulls: 0,
    pull() {
      src.pulls++;
      return inner.pull();
    },
  };
  return src;
}

describe('wsgi.input', () => {
  it('read(size) returns exactly size bytes across chunk boundaries, fewer only at the end', () => {
    const input = createWsgiInput(memorySource(['ab', 'cde', 'f'].map(enc)), 6);
    expect(dec(input.read(4))).toBe('abcd');
    expect(dec(input.read(4))).toBe('ef');
    expect(input.read(4).byteLength).toBe(0);
    expect(input.read().byteLength).toBe(0);
  });

  it('read() with no size, or a negative size, returns the whole rest', () => {
    expect(dec(createWsgiInput(memorySource(['ab', 'cd'].map(enc)), 4).read())).toBe('abcd');
    const input = createWsgiInput(memorySource(['ab', 'cd'].map(enc)), null);
    expect(dec(input.read(1))).toBe('a');
    expect(dec(input.read(-1))).toBe('bcd');
    expect(input.read(0).byteLength).toBe(0);
  });

  it('never reads past CONTENT_LENGTH, and never pulls once it is reached', () => {
    const src = counting(['hello', ' world', 'EXTRA']);
    const input = createWsgiInput(src, 8);
    expect(dec(input.read())).toBe('hello wo');
    expect(src.pulls).toBe(2);
    expect(input.read(10).byteLength).toBe(0);
    expect(input.readline().byteLength).toBe(0);
    expect(src.pulls).toBe(2);
  });

  it('with CONTENT_LENGTH 0 never touches the source', () => {
    const src = counting(['nope']);
    const input = createWsgiInput(src, 0);
    expect(input.read().byteLength).toBe(0);
    expect(src.pulls).toBe(0);
  });

  it('reads a chunked upload (no CONTENT_LENGTH) until the source ends', () => {
    const src = counting(['a', 'b', 'c']);
    const input = createWsgiInput(src);
    expect(dec(input.read())).toBe('abc');
    expect(src.pulls).toBe(4);
    expect(input.read().byteLength).toBe(0);
    expect(src.pulls).toBe(4);
  });

  it('readline() returns lines with their LF, joining chunks; readline(size) caps the length', () => {
    const input = createWsgiInput(memorySource(['one\ntw', 'o\nthree'].map(enc)), null);
    expect(dec(input.readline())).toBe('one\n');
    expect(dec(input.readline(2))).toBe('tw');
    expect(dec(input.readline())).toBe('o\n');
    expect(dec(input.readline())).toBe('three');
    expect(input.readline().byteLength).toBe(0);
  });

  it('readlines() returns all lines; readlines(hint) stops once hint bytes were read', () => {
    const lines = (hint?: number) => createWsgiInput(memorySource([enc('a\nbb\nccc\n')]), 9).readlines(hint).map(dec);
    expect(lines()).toEqual(['a\n', 'bb\n', 'ccc\n']);
    expect(lines(3)).toEqual(['a\n', 'bb\n']);
    expect(lines(1)).toEqual(['a\n']);
    expect(lines(0)).toEqual(['a\n', 'bb\n', 'ccc\n']);
  });

  it('iterates lines like a Python file', () => {
    const input = createWsgiInput(memorySource(['x\ny', '\nz'].map(enc)), null);
    expect([...input].map(dec)).toEqual(['x\n', 'y\n', 'z']);
  });

  it('any mix of read sizes reassembles the body exactly (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 8 }),
        fc.array(fc.oneof(fc.integer({ min: 1, max: 25 }), fc.constant(-1), fc.constant(0)), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        (chunks, sizes, withLength) => {
          const body = Buffer.concat(chunks);
          const input = createWsgiInput(memorySource(chunks), withLength ? body.byteLength : null);
          const got: Uint8Array[] = [];
          for (let i = 0; i < 200; i++) {
            const size = sizes[i % sizes.length]!;
            const part = i % 3 === 2 ? input.readline(size) : input.read(size);
            if (size > 0) expect(part.byteLength).toBeLessThanOrEqual(size);
            got.push(part);
          }
          got.push(input.read());
          expect(Buffer.concat(got).equals(body)).toBe(true);
        },
      ),
    );
  });

  it('propagates an error the source throws (e.g. the client went away)', () => {
    const input = createWsgiInput({ pull: () => { throw new Error('gone'); } }, 10);
    expect(() => input.read(1)).toThrow('gone');
  });
});
