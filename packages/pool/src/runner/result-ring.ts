/**
 * The results of finished requests, on their way from the worker threads to
 * the main thread, in shared memory. Each worker slot has a small ring of
 * result entries it alone writes; the main thread alone reads them. A
 * worker rings the shared doorbell after a result only when no ring is
 * outstanding, and the main thread, woken once (Atomics.waitAsync), collects
 * every result that is ready: under load one wake-up serves many requests.
 */
import { Mailbox, type LetterReader, type LetterWriter } from './mailbox.js';

/** Result entries per slot: a worker may finish this many requests before the main thread collects them. */
export const RESULTS_PER_SLOT = 4;
/** Bytes per result entry: the result and a small body (a bigger result goes on the slot's channel). */
export const RESULT_BYTES = 16 * 1024;

const EMPTY = 0;
const FULL = 1;

// Doorbell cells (shared by all slots).
const DOORBELL = 0; // the main thread waits on this cell
const RUNG = 1; // 1 while a ring is outstanding: the main thread will look at every slot
const ROOM = 2; // workers waiting for room in their ring wait on their slot's cell of `room`

/** The shared memory of the result rings: hand the same object to every thread. */
export interface ResultMemory {
  doorbell: Int32Array;
  /** Per slot (index = slot), RESULTS_PER_SLOT state cells. */
  states: Int32Array;
  /** Per slot: a worker waiting for room in its ring sleeps on this cell. */
  room: Int32Array;
  entries: SharedArrayBuffer;
}

/** Allocates the result rings of `slots` worker slots (numbered from 1). */
export function allocateResults(slots: number): ResultMemory {
  return {
    doorbell: new Int32Array(new SharedArrayBuffer(4 * ROOM)),
    states: new Int32Array(new SharedArrayBuffer(4 * (slots + 1) * RESULTS_PER_SLOT)),
    room: new Int32Array(new SharedArrayBuffer(4 * (slots + 1))),
    entries: new SharedArrayBuffer((slots + 1) * RESULTS_PER_SLOT * RESULT_BYTES),
  };
}

/** A result as a ring carries it: the letter's fields, decoded, and the body bytes that followed it. */
export interface RingResult<T> {
  value: T;
  body: Uint8Array | null;
}

/** The writing side: one worker slot's ring. */
export class ResultWriter {
  private readonly boxes: Mailbox[] = [];
  private next = 0;

  constructor(
    private readonly memory: ResultMemory,
    private readonly slot: number,
  ) {
    for (let i = 0; i < RESULTS_PER_SLOT; i++) {
      this.boxes.push(new Mailbox(memory.entries, (slot * RESULTS_PER_SLOT + i) * RESULT_BYTES, RESULT_BYTES));
    }
  }

  /**
   * Puts a result in the ring (sleeping while the ring is full) and rings the
   * doorbell. Returns false when it does not fit an entry: nothing was put.
   */
  put(letter: LetterWriter, body: readonly Uint8Array[], sliceMs: number): boolean {
    const cell = this.slot * RESULTS_PER_SLOT + this.next;
    for (;;) {
      const seen = Atomics.load(this.memory.room, this.slot);
      if (Atomics.load(this.memory.states, cell) === EMPTY) break;
      Atomics.wait(this.memory.room, this.slot, seen, sliceMs);
    }
    if (!this.boxes[this.next]!.write(letter, body)) return false;
    Atomics.store(this.memory.states, cell, FULL);
    this.next = (this.next + 1) % RESULTS_PER_SLOT;
    if (Atomics.exchange(this.memory.doorbell, RUNG, 1) === 0) {
      Atomics.add(this.memory.doorbell, DOORBELL, 1);
      Atomics.notify(this.memory.doorbell, DOORBELL);
    }
    return true;
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
  private readonly boxes: Mailbox[] = [];
  /** Per slot, the next entry to read. */
  private readonly next: number[];
  private stopped = false;

  /** `decode` reads a letter's fields (before its entry is reused); `onResult` gets each result. */
  constructor(
    private readonly memory: ResultMemory,
    private readonly slots: number,
    private readonly decode: (letter: LetterReader) => T,
    private readonly onResult: (slot: number, result: RingResult<T>) => void,
  ) {
    for (let i = 0; i < (slots + 1) * RESULTS_PER_SLOT; i++) this.boxes.push(new Mailbox(memory.entries, i * RESULT_BYTES, RESULT_BYTES));
    this.next = new Array<number>(slots + 1).fill(0);
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
    let freed = false;
    for (;;) {
      const cell = slot * RESULTS_PER_SLOT + this.next[slot]!;
      if (Atomics.load(this.memory.states, cell) !== FULL) break;
      const box = this.boxes[cell]!;
      const result: RingResult<T> = { value: this.decode(box.read()), body: box.readBody() };
      Atomics.store(this.memory.states, cell, EMPTY);
      this.next[slot] = (this.next[slot]! + 1) % RESULTS_PER_SLOT;
      freed = true;
      this.onResult(slot, result);
    }
    if (freed) {
      Atomics.add(this.memory.room, slot, 1);
      Atomics.notify(this.memory.room, slot);
    }
  }

  /** Forgets what is left in the ring of `slot` (its thread is gone; a fresh one starts at the ring's start). */
  reset(slot: number): void {
    for (let i = 0; i < RESULTS_PER_SLOT; i++) Atomics.store(this.memory.states, slot * RESULTS_PER_SLOT + i, EMPTY);
    this.next[slot] = 0;
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
