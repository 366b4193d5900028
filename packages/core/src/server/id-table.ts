/**
 * A table of things in flight (requests, connections) that come and go at
 * request rate, each under an id the table hands out: an id names a cell of
 * an array (its low bits) and how many times that cell was used before (its
 * high bits), so a lookup is an array read, and a late message about an item
 * that ended never reaches the one that took its cell over.
 *
 * Why not a Map or a Set: V8 links an outgrown hash table of a Map or Set to
 * the table that replaced it, and the old table keeps its entries. One whose
 * entries come and go at request rate replaces its table every few dozen
 * requests; once one of those tables has lived long enough to be in the old
 * generation, the chain from it keeps every later table, and every request
 * they held, alive through the young-generation collections until the next
 * full one (docs/decisions.md, decision 3, has the measurement).
 */

/** Bits of an id that name the cell: at most about a million requests in flight. */
const CELL_BITS = 20;
const CELL_MASK = (1 << CELL_BITS) - 1;
/** Uses of a cell an id tells apart (1..USES); ids stay positive int32, since worker threads keep them in an Int32Array. */
const USES = (2 ** 31 - 1) >>> CELL_BITS;

/** In-flight items by an id the table assigns. */
export class IdTable<T> {
  private readonly items: Array<T | undefined> = [];
  /** Per cell, the use its current (or last) item is. */
  private readonly uses: number[] = [];
  /**
   * Cells free for reuse: the first `freeCount` entries. The array never
   * shrinks: popping and pushing at request rate would have V8 trim and
   * regrow its backing store, an allocation per request.
   */
  private readonly free: number[] = [];
  private freeCount = 0;
  private count = 0;

  /** Items in the table. */
  get size(): number {
    return this.count;
  }

  /** Adds the item `make` builds for its new id; returns the item. */
  add(make: (id: number) => T): T {
    const id = this.claim();
    const item = make(id);
    this.items[id & CELL_MASK] = item;
    this.count++;
    return item;
  }

  /** Adds an item that exists already; returns its new id. */
  insert(item: T): number {
    const id = this.claim();
    this.items[id & CELL_MASK] = item;
    this.count++;
    return id;
  }

  /** A free cell, marked as used once more: the id of its next item. */
  private claim(): number {
    let cell: number;
    if (this.freeCount > 0) cell = this.free[--this.freeCount]!;
    else {
      cell = this.items.length;
      if (cell > CELL_MASK) throw new RangeError(`more than ${CELL_MASK + 1} requests in flight`);
      this.items.push(undefined);
      this.uses.push(0);
    }
    const last = this.uses[cell]!;
    const use = last === USES ? 1 : last + 1;
    this.uses[cell] = use;
    return use * (CELL_MASK + 1) + cell;
  }

  /** The item with this id, or undefined when it is gone (or the id was never handed out). */
  get(id: number): T | undefined {
    const cell = id & CELL_MASK;
    return this.uses[cell] === id >>> CELL_BITS ? this.items[cell] : undefined;
  }

  /** Removes the item with this id, if it is still there. */
  delete(id: number): void {
    if (this.get(id) === undefined) return;
    const cell = id & CELL_MASK;
    this.items[cell] = undefined;
    this.free[this.freeCount++] = cell;
    this.count--;
  }

  /** The items in the table (a snapshot: adding or deleting while iterating is safe). */
  values(): T[] {
    const out: T[] = [];
    for (const item of this.items) if (item !== undefined) out.push(item);
    return out;
  }
}
