/**
 * The results of finished requests, on their way from the worker threads to
 * the main thread, in shared memory. Each worker slot has a ring of
 * RING_BYTES that it alone writes and the main thread alone reads: result
 * letters one after another, as many as fit (a hello world's result takes
 * about 150 bytes, so hundreds), a bigger one up to nearly the whole ring.
 *
 * A worker rings the shared doorbell after a result only when no ring is
 * outstanding, and the main thread, woken once (Atomics.waitAsync), collects
 * every result that is ready: under load one wake-up serves many requests.
 * That only works if a worker can run many requests ahead of the main
 * thread, so the ring holds results by size rather than in a few fixed
 * entries, which would stop a worker a few requests ahead and cost a thread
 * switch every few requests (docs/decisions.md, decision 3, has the figures).
 *
 * Ring positions are byte counters that only grow (wrapping as int32, only
 * their differences matter): `produced` (the worker's) and `consumed` (the
 * main thread's). A letter never wraps around the ring's end: when it does
 * not fit before the end, the worker marks the rest as skipped and starts
 * over at the ring's start.
 */
import { LetterBuffer, type LetterReader, type LetterWriter } from './mailbox.js';

/** Bytes of each slot's ring: also the largest result it takes (a bigger one goes on the slot's channel). */
export const RING_BYTES = 64 * 1024;

// Doorbell cells (shared by all slots).
const DOORBELL = 0; // the main thread waits on this cell
const RUNG = 1; // 1 while a ring is outstanding: the main thread will look at every slot
const CELLS = 2;

/** The shared memory of the result rings: hand the same object to every thread. */
export interface ResultMemory {
  doorbell: Int32Array;
  /** Per slot (index = slot): bytes the worker has put in its ring so far. */
  produced: Int32Array;
  /** Per slot: bytes the main thread has taken out of it so far. */
  consumed: Int32Array;
  /** Per slot: a worker waiting for room in its ring sleeps on this cell. */
  room: Int32Array;
  /**
   * Per slot: 1 while its worker is about to wait for room. The main thread
   * notifies only then: Atomics.notify takes a lock every thread's
   * Atomics.wait shares, and on a busy core each notify can cost a thread
   * switch, while a worker waits for room only when the main thread falls a
   * whole ring behind.
   */
  wanting: Int32Array;
  /** The rings, RING_BYTES per slot (index = slot). */
  rings: SharedArrayBuffer;
}

/** Allocates the result rings of `slots` worker slots (numbered from 1). */
export function allocateResults(slots: number): ResultMemory {
  const cells = () => new Int32Array(new SharedArrayBuffer(4 * (slots + 1)));
  return {
    doorbell: new Int32Array(new SharedArrayBuffer(4 * CELLS)),
    produced: cells(),
    consumed: cells(),
    room: cells(),
    wanting: cells(),
    rings: new SharedArrayBuffer((slots + 1) * RING_BYTES),
  };
}

/** A result as a ring carries it: the letter's fields, decoded, and the body bytes that followed it. */
export interface RingResult<T> {
  value: T;
  body: Uint8Array | null;
}

/** The writing side: one worker slot's ring. */
export class ResultWriter {
  private readonly ring: LetterBuffer;
  /** Bytes put so far (the worker is the only writer of `produced`). */
  private produced: number;

  constructor(
    private readonly memory: ResultMemory,
    private readonly slot: number,
  ) {
    this.ring = new LetterBuffer(memory.rings, slot * RING_BYTES, RING_BYTES);
    this.produced = Atomics.load(memory.produced, slot);
  }

  /**
   * Puts a result in the ring (sleeping while there is no room for it) and
   * rings the doorbell. Returns false when it is too big for the ring:
   * nothing was put.
   */
  put(letter: LetterWriter, body: readonly Uint8Array[], sliceMs: number): boolean {
    for (;;) {
      const used = (this.produced - Atomics.load(this.memory.consumed, this.slot)) | 0;
      const at = this.produced & (RING_BYTES - 1);
      // Up to the ring's end, or up to the oldest unread letter if that comes first.
      const contiguous = Math.min(RING_BYTES - at, RING_BYTES - used);
      let next = this.ring.write(at, at + contiguous, letter, body);
      if (next >= 0) {
        this.publish(next - at);
        return true;
      }
      // Does not fit before the ring's end: try again from its start, past what is still unread.
      if (at !== 0 && RING_BYTES - at < RING_BYTES - used) {
        const fromStart = RING_BYTES - used - (RING_BYTES - at);
        next = this.ring.write(0, fromStart, letter, body);
        if (next >= 0) {
          this.ring.writeSkip(at);
          this.publish(RING_BYTES - at + next);
          return true;
        }
      }
      if (used === 0) return false;
      this.waitForRoom(used, sliceMs);
    }
  }

  /** Makes `bytes` more of the ring readable and rings the doorbell, unless a ring is outstanding. */
  private publish(bytes: number): void {
    this.produced = (this.produced + bytes) | 0;
    Atomics.store(this.memory.produced, this.slot, this.produced);
    if (Atomics.exchange(this.memory.doorbell, RUNG, 1) === 0) {
      Atomics.add(this.memory.doorbell, DOORBELL, 1);
      Atomics.notify(this.memory.doorbell, DOORBELL);
    }
  }

  /** Sleeps until the main thread took something out of the ring (it had `used` bytes unread). */
  private waitForRoom(used: number, sliceMs: number): void {
    const room = this.memory.room;
    // Say we want room before looking again: the main thread takes letters out, then looks at `wanting`, so one of us sees the other.
    Atomics.store(this.memory.wanting, this.slot, 1);
    for (;;) {
      const seen = Atomics.load(room, this.slot);
      if (((this.produced - Atomics.load(this.memory.consumed, this.slot)) | 0) < used) break;
      Atomics.wait(room, this.slot, seen, sliceMs);
    }
    Atomics.store(this.memory.wanting, this.slot, 0);
  }
}

/** Atomics.waitAsync is ES2024; Node 20 has it. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(cells: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** The reading side, on the main thread: every slot's ring. */
export class ResultReader<T> {
  private readonly rings: LetterBuffer[] = [];
  private stopped = false;

  /** `decode` reads a letter's fields (before its bytes are reused); `onResult` gets each result. */
  constructor(
    private readonly memory: ResultMemory,
    private readonly slots: number,
    private readonly decode: (letter: LetterReader) => T,
    private readonly onResult: (slot: number, result: RingResult<T>) => void,
  ) {
    for (let slot = 0; slot <= slots; slot++) this.rings.push(new LetterBuffer(memory.rings, slot * RING_BYTES, RING_BYTES));
  }

  /** Starts waiting on the doorbell. */
  start(): void {
    this.wake();
  }

  /** Stops waiting on the doorbell. */
  stop(): void {
    this.stopped = true;
  }

  /** Hands over the results that are ready in the ring of `slot`, oldest first. */
  drain(slot: number): void {
    const ring = this.rings[slot]!;
    const produced = Atomics.load(this.memory.produced, slot);
    let consumed = Atomics.load(this.memory.consumed, slot);
    if (consumed === produced) return;
    while (consumed !== produced) {
      const at = consumed & (RING_BYTES - 1);
      if (ring.isSkip(at)) {
        consumed = (consumed + RING_BYTES - at) | 0;
        continue;
      }
      const result: RingResult<T> = { value: this.decode(ring.read(at)), body: ring.readBody(at) };
      consumed = (consumed + ring.end(at) - at) | 0;
      // Handed over only after the letter's bytes are released: onResult may run for a while (it writes the response).
      Atomics.store(this.memory.consumed, slot, consumed);
      this.onResult(slot, result);
    }
    if (Atomics.load(this.memory.wanting, slot) !== 0) {
      Atomics.add(this.memory.room, slot, 1);
      Atomics.notify(this.memory.room, slot);
    }
  }

  /** Forgets what is left in the ring of `slot` (its thread is gone; a fresh one starts at the ring's start). */
  reset(slot: number): void {
    Atomics.store(this.memory.produced, slot, 0);
    Atomics.store(this.memory.consumed, slot, 0);
    Atomics.store(this.memory.wanting, slot, 0);
  }

  private readonly wake = (): void => {
    while (!this.stopped) {
      const seen = Atomics.load(this.memory.doorbell, DOORBELL);
      // From here on a new result rings again, so none is missed by the scan below.
      Atomics.store(this.memory.doorbell, RUNG, 0);
      for (let slot = 1; slot <= this.slots; slot++) this.drain(slot);
      const wait = waitAsync(this.memory.doorbell, DOORBELL, seen);
      if (wait.async) {
        void wait.value.then(this.wake);
        return;
      }
    }
  };
}
