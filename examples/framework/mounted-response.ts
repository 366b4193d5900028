/**
 * Runs a mounted ASGI app (such as the sync views behind wsgiToAsgi) and
 * hands back its answer as a Response whose body streams: the mounted app's
 * `send()` of a body chunk resolves only when the framework has written that
 * chunk on, so backpressure reaches the worker thread. This is what lets
 * middleware see (and change the headers of) responses of mounted apps too.
 */
import { ClientDisconnected, type AsgiApplication, type HttpScope, type Receive, type SendEvent } from '@tsgi/core';
import { Response } from './response.js';

/** Calls `app` for one HTTP request; resolves at its `http.response.start` with a Response streaming the rest. */
export function callMounted(app: AsgiApplication, scope: HttpScope, receive: Receive): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const body = new BodyStream();
    let started = false;
    const send = async (event: SendEvent): Promise<void> => {
      if (event.type === 'http.response.start') {
        if (started) throw new Error('mounted app sent http.response.start twice');
        started = true;
        resolve(new Response(body, { status: event.status, headers: [...(event.headers ?? [])].map(([n, v]) => [n, v] as [string, string]) }));
        return;
      }
      if (event.type === 'http.response.body') {
        if (!started) throw new Error('mounted app sent http.response.body before http.response.start');
        return body.push(event.body ?? new Uint8Array(0), event.more_body ?? false);
      }
      throw new Error(`the framework does not forward ${event.type} from mounted apps`);
    };
    app(scope, receive, send).then(
      () => {
        if (!started) reject(new Error('mounted app returned without starting a response'));
        else body.end();
      },
      (error: unknown) => {
        if (!started) reject(error);
        else body.fail(error);
      },
    );
  });
}

/** A one-chunk-at-a-time hand-off: push() resolves when the reader has taken the chunk. */
class BodyStream implements AsyncIterable<Uint8Array> {
  #queue: Array<{ chunk: Uint8Array; taken: () => void }> = [];
  #done = false;
  #error: { error: unknown } | null = null;
  #wake: (() => void) | null = null;
  /** Set when the reader stopped early (the client left): the app's further sends fail as a disconnect. */
  #abandoned = false;

  push(chunk: Uint8Array, more: boolean): Promise<void> {
    if (this.#abandoned) return Promise.reject(new ClientDisconnected());
    if (!more) this.#done = true;
    if (chunk.byteLength === 0) {
      this.#notify();
      return Promise.resolve();
    }
    return new Promise<void>((taken) => {
      this.#queue.push({ chunk, taken });
      this.#notify();
    });
  }

  end(): void {
    this.#done = true;
    this.#notify();
  }

  fail(error: unknown): void {
    this.#error = { error };
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    let current: { chunk: Uint8Array; taken: () => void } | undefined;
    try {
      for (;;) {
        current = this.#queue.shift();
        if (current !== undefined) {
          yield current.chunk;
          // Taken only once the consumer asks for more: that is, once the chunk has been sent on.
          current.taken();
          current = undefined;
          continue;
        }
        if (this.#error !== null) throw this.#error.error;
        if (this.#done) return;
        await new Promise<void>((wake) => (this.#wake = wake));
      }
    } finally {
      // The reader stopped early (the client left): release the producer, whose next send fails as a disconnect.
      this.#abandoned = true;
      current?.taken();
      for (const pending of this.#queue.splice(0)) pending.taken();
    }
  }
}
