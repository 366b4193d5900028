/**
 * The queue of requests waiting for a worker thread, in shared memory: the
 * main thread appends tasks, and any idle worker takes the oldest one
 * itself. Under load a worker goes from one request to the next without a
 * round trip through the main thread (and without the two thread switches
 * such a round trip costs); an idle worker sleeps until a task comes.
 *
 * A ring of ENTRIES fixed-size entries, each with a state cell: the main
 * thread writes an entry only when it is EMPTY; a worker claims the oldest
 * task by advancing `head` (compare-and-swap), reads it and empties the
 * entry. Counters wrap around as int32; only their differences matter.
 *
 * Appending does not wake anyone by itself: the main thread decides how
 * many workers to wake (wake-policy.ts). A wake-up goes to the
 * lowest-numbered sleeping worker, not the one asleep the longest: when the
 * main thread is what limits the rate, a few threads do all the work and
 * stay warm in the CPU caches, instead of every request landing on a cold
 * thread (docs/decisions.md, decision 3).
 */
import { LetterBuffer, LetterWriter } from './mailbox.js';
import { readTask, writeTask, type Task } from './protocol.js';

/** Entries in the ring; more waiting requests stay in a list on the main thread until there is room. */
export const ENTRIES = 64;
/** Bytes per entry: a request head (node:http allows 16 KiB) fits with room to spare. */
export const ENTRY_BYTES = 64 * 1024;

// Control cells.
const TAIL = 0; // tasks appended (main thread)
const HEAD = 1; // tasks claimed (workers)
const CELLS = 2;

const EMPTY = 0;
const FULL = 1;
const NO_BODY: readonly Uint8Array[] = [];

/** The shared memory of a task queue: hand the same object to every thread. */
export interface TaskQueueMemory {
  control: Int32Array;
  /** One state cell per entry. */
  states: Int32Array;
  entries: SharedArrayBuffer;
  /** One bit per worker slot: set while that worker sleeps, waiting for a task. */
  sleeping: Int32Array;
  /** One cell per worker slot (index = slot) that its worker sleeps on (shared with other wake-ups of that worker). */
  wake: Int32Array;
}

/** Allocates the shared memory of a task queue for `slots` workers (numbered from 1) sleeping on the cells of `wake`. */
export function allocateTaskQueue(slots: number, wake: Int32Array): TaskQueueMemory {
  return {
    control: new Int32Array(new SharedArrayBuffer(4 * CELLS)),
    states: new Int32Array(new SharedArrayBuffer(4 * ENTRIES)),
    entries: new SharedArrayBuffer(ENTRIES * ENTRY_BYTES),
    sleeping: new Int32Array(new SharedArrayBuffer(4 * ((slots >> 5) + 1))),
    wake,
  };
}

/** One thread's view of the task queue. */
export class TaskQueue {
  private readonly control: Int32Array;
  private readonly states: Int32Array;
  private readonly sleeping: Int32Array;
  private readonly wake: Int32Array;
  /** The entries, ENTRY_BYTES each. */
  private readonly entries: LetterBuffer;
  private readonly letter = new LetterWriter();

  constructor(memory: TaskQueueMemory) {
    this.control = memory.control;
    this.states = memory.states;
    this.sleeping = memory.sleeping;
    this.wake = memory.wake;
    this.entries = new LetterBuffer(memory.entries, 0, ENTRIES * ENTRY_BYTES);
  }

  // ---- main thread ----

  /** Tasks appended and not claimed yet. */
  get waiting(): number {
    return (Atomics.load(this.control, TAIL) - Atomics.load(this.control, HEAD)) | 0;
  }

  /** Tasks claimed by workers so far (a counter that wraps): unchanged between two looks means no worker took one. */
  get taken(): number {
    return Atomics.load(this.control, HEAD);
  }

  /** Workers sleeping for want of a task. */
  get sleepers(): number {
    let n = 0;
    for (let word = 0; word < this.sleeping.length; word++) {
      for (let bits = Atomics.load(this.sleeping, word); bits !== 0; bits &= bits - 1) n++;
    }
    return n;
  }

  /**
   * Appends a task (waking no one). Returns 'full' when the ring has no room
   * (keep it and try again after a worker took one), 'too-big' when it does
   * not fit an entry.
   */
  push(task: Task): 'ok' | 'full' | 'too-big' {
    const tail = Atomics.load(this.control, TAIL);
    const at = tail & (ENTRIES - 1);
    if (Atomics.load(this.states, at) !== EMPTY) return 'full';
    const body = task.kind === 'call' && task.args !== null ? [task.args] : NO_BODY;
    if (this.entries.write(at * ENTRY_BYTES, (at + 1) * ENTRY_BYTES, writeTask(this.letter, task), body) < 0) return 'too-big';
    Atomics.store(this.states, at, FULL);
    Atomics.store(this.control, TAIL, (tail + 1) | 0);
    return 'ok';
  }

  /** Wakes up to `count` sleeping workers, lowest-numbered first; clearing a bit before notifying makes sure two wake-ups reach two workers. */
  wakeSleepers(count: number): void {
    for (let word = 0; word < this.sleeping.length && count > 0; word++) {
      for (;;) {
        const bits = Atomics.load(this.sleeping, word);
        if (bits === 0) break;
        const low = bits & -bits;
        if (Atomics.compareExchange(this.sleeping, word, bits, bits & ~low) !== bits) continue;
        const slot = word * 32 + 31 - Math.clz32(low);
        Atomics.add(this.wake, slot, 1);
        Atomics.notify(this.wake, slot);
        if (--count === 0) return;
      }
    }
  }

  // ---- worker threads ----

  /** Claims the oldest task, or returns null when there is none. */
  take(): Task | null {
    for (;;) {
      const head = Atomics.load(this.control, HEAD);
      if (head === Atomics.load(this.control, TAIL)) return null;
      // Another worker may claim it first: then try the next one.
      if (Atomics.compareExchange(this.control, HEAD, head, (head + 1) | 0) !== head) continue;
      const at = head & (ENTRIES - 1);
      const task = readTask(this.entries.read(at * ENTRY_BYTES), () => this.entries.readBody(at * ENTRY_BYTES));
      Atomics.store(this.states, at, EMPTY);
      return task;
    }
  }

  /** Sleeps until a task may be there (or `timeoutMs` passed); the caller then tries take() again. */
  sleep(slot: number, timeoutMs: number): void {
    const word = slot >> 5;
    const bit = 1 << (slot & 31);
    const seen = Atomics.load(this.wake, slot);
    Atomics.or(this.sleeping, word, bit);
    // A task appended before our bit was set found no one to wake: look once more.
    if (Atomics.load(this.control, HEAD) === Atomics.load(this.control, TAIL)) Atomics.wait(this.wake, slot, seen, timeoutMs);
    Atomics.and(this.sleeping, word, ~bit);
  }
}
