import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LetterWriter } from '../src/runner/mailbox.js';
import { allocateResults, ResultReader, ResultWriter, RING_BYTES, type RingResult } from '../src/runner/result-ring.js';

interface Got {
  slot: number;
  n: number;
  text: string;
  body: number[] | null;
}

/** One writer per slot and the reader, all on this thread (nothing here waits for room). */
function rings(slots: number) {
  const memory = allocateResults(slots);
  const got: Got[] = [];
  const reader = new ResultReader(
    memory,
    slots,
    (r) => ({ n: r.num(), text: r.str() }),
    (slot, result: RingResult<{ n: number; text: string }>) => got.push({ slot, ...result.value, body: result.body === null ? null : [...result.body] }),
  );
  const writers = Array.from({ length: slots + 1 }, (_, slot) => new ResultWriter(memory, slot));
  const w = new LetterWriter();
  const put = (slot: number, n: number, text: string, body: number[] = []) =>
    writers[slot]!.put(w.reset().num(n).str(text), body.length === 0 ? [] : [new Uint8Array(body)], 10);
  return { memory, reader, put, got };
}

describe('result rings: results from worker slots to the main thread', () => {
  it('hands over each slot\'s results in order, with their bodies, and rings the doorbell once until drained', () => {
    const { memory, reader, put, got } = rings(2);
    expect(put(1, 1, 'a', [1, 2])).toBe(true);
    const rings1 = Atomics.load(memory.doorbell, 0);
    expect(put(2, 2, 'b')).toBe(true);
    expect(put(1, 3, 'c')).toBe(true);
    // A ring is outstanding: the later results did not ring again.
    expect(Atomics.load(memory.doorbell, 0)).toBe(rings1);
    reader.drain(1);
    reader.drain(2);
    expect(got).toEqual([
      { slot: 1, n: 1, text: 'a', body: [1, 2] },
      { slot: 1, n: 3, text: 'c', body: null },
      { slot: 2, n: 2, text: 'b', body: null },
    ]);
  });

  it('holds hundreds of small results before the main thread must take any', () => {
    const { reader, put, got } = rings(1);
    for (let i = 0; i < 300; i++) expect(put(1, i, 'Content-Type text/plain 200 OK')).toBe(true);
    reader.drain(1);
    expect(got.map((g) => g.n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('refuses a result bigger than the ring (it goes on the channel instead), and takes one of half the ring', () => {
    const { reader, put, got } = rings(1);
    expect(put(1, 1, 'big', new Array(RING_BYTES).fill(7))).toBe(false);
    expect(put(1, 2, 'half', new Array(RING_BYTES / 2).fill(7))).toBe(true);
    reader.drain(1);
    expect(got.map((g) => [g.n, g.body?.length])).toEqual([[2, RING_BYTES / 2]]);
  });

  it('keeps every result intact across many laps of the ring, whatever their sizes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.boolean()), { minLength: 1, maxLength: 60 }), (steps) => {
        const { memory, reader, put, got } = rings(1);
        const want: number[] = [];
        steps.forEach(([size, drainAfter], i) => {
          // Nothing here may wait for room: with at most half the ring unread, the free part before or after the ring's end holds it.
          const unread = Atomics.load(memory.produced, 1) - Atomics.load(memory.consumed, 1);
          if (unread + size + 512 > RING_BYTES / 2) reader.drain(1);
          expect(put(1, i, 'x'.repeat(size % 97), new Array(size).fill(i & 255))).toBe(true);
          want.push(i);
          if (drainAfter) reader.drain(1);
        });
        reader.drain(1);
        expect(got.map((g) => g.n)).toEqual(want);
        for (const g of got) {
          const size = steps[g.n]![0];
          expect(g.text).toBe('x'.repeat(size % 97));
          expect(g.body === null ? 0 : g.body.length).toBe(size);
          if (g.body !== null) expect(g.body.every((b) => b === (g.n & 255))).toBe(true);
        }
      }),
    );
  });
});
