/**
 * The in-process "wire" between a test and an app: small async hand-off
 * primitives. A `Mailbox` buffers messages (WebSocket frames, lifespan
 * events); a `Rendezvous` hands response chunks over one at a time, so an
 * app's send() waits until the test has taken the chunk, as it would wait on
 * a slow client's socket.
 */

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** Creates a Deferred; its promise never reports an unhandled rejection on its own. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** An unbounded FIFO of messages; `take()` waits for the next one, or fails once the mailbox is closed with an error. */
export class Mailbox<T> {
  private readonly items: T[] = [];
  private readonly takers: Array<Deferred<T>> = [];
  private failure: { error: unknown } | null = null;

  /** Delivers a message to the oldest waiting taker, or queues it. */
  put(item: T): void {
    const taker = this.takers.shift();
    if (taker !== undefined) taker.resolve(item);
    else this.items.push(item);
  }

  /** The next message; queued messages are still delivered after `fail()`, then the error. */
  take(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);
    if (this.failure !== null) return Promise.reject(this.failure.error);
    const d = deferred<T>();
    this.takers.push(d);
    return d.promise;
  }

  /** Messages queued and not yet taken. */
  get size(): number {
    return this.items.length;
  }

  /** Makes every waiting and later `take()` (once the queue is drained) reject with `error`. */
  fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = { error };
    for (const t of this.takers.splice(0)) t.reject(error);
  }
}

interface Offer<T> {
  item: T;
  taken: Deferred<void>;
}

/**
 * A hand-off with no buffer: `put()` resolves when a consumer has taken the
 * item. `end()`/`fail()` finish the stream for the consumer; `cancel()` is
 * the consumer going away, which rejects pending and later puts.
 */
export class Rendezvous<T> {
  private readonly offers: Array<Offer<T>> = [];
  private readonly takers: Array<Deferred<IteratorResult<T, undefined>>> = [];
  private finished: { error?: unknown; failed: boolean } | null = null;
  private cancelled: { error: unknown } | null = null;

  /** Offers an item; resolves once it is taken, rejects if the consumer cancels first. */
  put(item: T): Promise<void> {
    if (this.cancelled !== null) return Promise.reject(this.cancelled.error);
    const taken = deferred<void>();
    const taker = this.takers.shift();
    if (taker !== undefined) {
      taken.resolve();
      taker.resolve({ done: false, value: item });
    } else {
      this.offers.push({ item, taken });
    }
    return taken.promise;
  }

  /** The next item, or done once the producer ended (after every offered item), or the producer's error. */
  take(): Promise<IteratorResult<T, undefined>> {
    const offer = this.offers.shift();
    if (offer !== undefined) {
      offer.taken.resolve();
      return Promise.resolve({ done: false, value: offer.item });
    }
    if (this.finished !== null) {
      return this.finished.failed ? Promise.reject(this.finished.error) : Promise.resolve({ done: true, value: undefined });
    }
    const taker = deferred<IteratorResult<T, undefined>>();
    this.takers.push(taker);
    return taker.promise;
  }

  /** The producer is done: takers get `done` once the offered items are gone. */
  end(): void {
    this.finish({ failed: false });
  }

  /** The producer failed: takers get `error` once the offered items are gone. */
  fail(error: unknown): void {
    this.finish({ failed: true, error });
  }

  /** The consumer left: pending and later puts reject with `error`. */
  cancel(error: unknown): void {
    if (this.cancelled !== null) return;
    this.cancelled = { error };
    for (const o of this.offers.splice(0)) o.taken.reject(error);
  }

  /** True once `cancel()` was called. */
  get isCancelled(): boolean {
    return this.cancelled !== null;
  }

  private finish(state: { error?: unknown; failed: boolean }): void {
    if (this.finished !== null) return;
    this.finished = state;
    // Waiting takers exist only while no offer is queued: they all get the end now.
    for (const taker of this.takers.splice(0)) {
      if (state.failed) taker.reject(state.error);
      else taker.resolve({ done: true, value: undefined });
    }
  }
}
