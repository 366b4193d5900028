/**
 * One request in flight on the worker-thread runner, seen from the main
 * thread: it answers the worker's pulls from the request body, forwards
 * response data to the sink in order and pays the credit back, keeps the
 * request's no-progress deadline, and settles the request exactly once,
 * however it ends (complete, cut, timed out, worker lost, client gone).
 */
import { ClientDisconnected, isClientDisconnected, type CallResult } from '@tsgi/core';
import { formatError, type Logger } from '@tsgi/core/server';
import { answerFor, type Answer } from './answer.js';
import type { AwaitMessage } from './calls.js';
import type { DownMessage, RequestTask, TaskResult, UpMessage } from './protocol.js';
import { RequestBodyError, type RequestBody, type ResponseSink } from './types.js';

/** What an Exchange needs from its runner. */
export interface ExchangeHost {
  readonly log: Logger;
  /** The no-progress timeout in ms; 0: none. */
  readonly timeout: number;
  /** The credit window (bytes a worker may have in flight). */
  readonly window: number;
  /** The response ring of a worker slot. */
  ring(slot: number): SharedArrayBuffer;
  /** The request-body buffer of a worker slot. */
  input(slot: number): Uint8Array;
  /** Posts to the worker in `slot` and wakes it. */
  post(slot: number, message: DownMessage): void;
  /** The slot whose thread runs request `id`, or 0 when no thread has taken it (yet). */
  slotOf(id: number): number;
  /** Ends the thread running this request (or drops it from the queue); a fresh thread takes over the slot. */
  terminate(exchange: Exchange): void;
  /** Runs the async function the worker waits on (asyncToSync); `gone` aborts it when the client leaves. */
  runAsync(slot: number, message: AwaitMessage, gone: AbortSignal | null): void;
  /** The worker stopped waiting for asyncToSync call `call`. */
  cancelAsync(call: number, why: string): void;
  /** The request settled: stop tracking it. */
  forget(id: number): void;
}

/** One request in flight on the worker-thread runner. */
export class Exchange {
  readonly done: Promise<CallResult>;
  /** The task, until it goes into the shared task queue (null after that, or when it was cut while waiting). */
  task: RequestTask | null = null;
  /** The worker slot running this request, once it heard from it; 0 before. */
  private slot = 0;
  private resolveDone!: (result: CallResult) => void;
  /** Sink calls run one after another on this chain. */
  private chain: Promise<unknown> = Promise.resolve();
  private received = 0;
  private result: TaskResult | null = null;
  private finished = false;
  /** The runner answered on its own (timeout, crash, body error): the worker's output no longer goes to the sink. */
  private answered = false;
  private started = false;
  private ended = false;
  /** Some sink call was queued: the response is no longer one the sink can take whole (see maybeFinish). */
  private touched = false;
  private disconnected = false;
  private iterator: AsyncIterator<Uint8Array> | null = null;
  /** The part of the last body piece a pull did not take. */
  private leftover: Uint8Array | null = null;
  private bodyEnded = false;
  /** When the app's time runs out (performance.now() ms); 0 while the clock is paused. */
  private deadline = 0;
  /** The last sweep that found no thread running this request (0: none did); its run began after that. */
  private untakenAt = 0;
  /** A sweep found a thread running it (once a message came from one, `slot` says so instead). */
  private seenTaken = false;
  /** The worker waits on us (a pull, or out of credit): the app is not the one holding things up. */
  private pulling = false;
  private outstanding = 0;
  private bytesToClient = 0;
  private status = 0;
  /** Aborted when the client goes away: the signal of this request's asyncToSync calls (made on the first one). */
  private gone: AbortController | null = null;

  constructor(
    private readonly runner: ExchangeHost,
    readonly id: number,
    private readonly body: RequestBody,
    private readonly sink: ResponseSink,
    readonly tag: string,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  // ---- the request timeout: time the app spends without making progress ----

  armTimer(): void {
    const ms = this.runner.timeout;
    if (ms <= 0 || this.finished) return;
    this.deadline = performance.now() + ms;
  }

  private pauseTimer(): void {
    this.deadline = 0;
  }

  /** Called by the runner's sweep. */
  checkDeadline(now: number): void {
    if (!this.seenTaken && this.slot === 0) {
      if (this.runner.slotOf(this.id) === 0) this.untakenAt = now;
      else {
        // Taken since the last sweep: the app's time began after that sweep, whatever the deadline armed while it waited says.
        this.seenTaken = true;
        if (this.untakenAt !== 0 && this.deadline !== 0) this.deadline = Math.max(this.deadline, this.untakenAt + this.runner.timeout);
      }
    }
    if (this.deadline !== 0 && now >= this.deadline) this.onTimeout();
  }

  private onTimeout(): void {
    this.deadline = 0;
    if (this.finished) return;
    // Still queued, or waiting for a fresh thread to boot: not the app's time yet (the queue limit bounds that).
    if (this.slot === 0 && this.runner.slotOf(this.id) === 0) {
      this.armTimer();
      return;
    }
    this.runner.log.error(
      `${this.tag}: [wsgi.server.timeout.1] no progress for ${this.runner.timeout} ms; its worker thread is terminated and replaced`,
    );
    this.runner.terminate(this);
    this.answer(answerFor(504), 'error');
  }

  // ---- from the worker ----

  onMessage(slot: number, message: UpMessage): void {
    this.slot = slot;
    this.received++;
    if (this.disconnected && message.t !== 'done' && message.t !== 'log') this.runner.post(slot, { t: 'disconnect', id: this.id });
    switch (message.t) {
      case 'pull':
        this.pulling = true;
        this.pauseTimer();
        void this.feedBody(message.want);
        break;
      case 'res':
        this.outstanding += message.bytes;
        // Out of credit, the worker waits for the client: that time is not the app's.
        if (this.outstanding >= this.runner.window) this.pauseTimer();
        else this.armTimer();
        this.forward(message.head, message.chunks, message.bytes, message.ring);
        break;
      case 'drain':
        // The app is done; the worker waits for the client to take the rest.
        this.pauseTimer();
        break;
      case 'log':
        this.logAppText(message.text);
        break;
      case 'done':
        this.result = message.result;
        break;
      case 'await':
        // Waiting on the event loop is the app's time, as a blocking database call is.
        this.gone ??= new AbortController();
        if (this.disconnected) this.gone.abort(new ClientDisconnected());
        this.runner.runAsync(slot, message, this.gone.signal);
        break;
      case 'cancel':
        this.runner.cancelAsync(message.call, `${this.tag}: its worker stopped waiting for it`);
        break;
      default:
        break;
    }
    this.maybeFinish();
  }

  /** The worker in `slot` finished the request (and put its result in the slot's result ring). */
  onResult(result: TaskResult, slot: number): void {
    this.slot = slot;
    this.result = result;
    this.maybeFinish();
  }

  /** The thread running this request died under it (an error the app could not catch, or it ended). */
  onThreadLost(error: unknown): void {
    if (this.finished || this.answered) return;
    this.runner.log.error(`${this.tag}: [wsgi.server.error.4] the worker thread running this request failed; it is replaced: ${formatError(error)}`);
    this.answer(answerFor(500), 'error');
  }

  // ---- the request body ----

  /**
   * Answers a pull: copies exactly `want` bytes (fewer only at the end of the
   * body) into the slot's input buffer, or with `want` 0 the next piece as it
   * comes. Nothing is read from the client before the app asks for it.
   */
  private async feedBody(want: number): Promise<void> {
    if (this.finished || this.answered) return;
    const buffer = this.runner.input(this.slot);
    const cap = want > 0 ? want : buffer.byteLength;
    let n = 0;
    try {
      while (n < cap && this.body !== null) {
        let piece = this.leftover;
        if (piece === null) {
          if (this.bodyEnded || (want === 0 && n > 0)) break;
          this.iterator ??= this.body[Symbol.asyncIterator]();
          const next = await this.iterator.next();
          if (next.done) {
            this.bodyEnded = true;
            break;
          }
          piece = next.value;
          // An empty piece is no answer (the worker would read it as the end of the body).
          if (piece.byteLength === 0) continue;
        }
        const take = Math.min(piece.byteLength, cap - n);
        buffer.set(take === piece.byteLength ? piece : piece.subarray(0, take), n);
        n += take;
        this.leftover = take < piece.byteLength ? piece.subarray(take) : null;
        if (want === 0) break;
      }
    } catch (error) {
      this.bodyFailed(error);
      return;
    }
    if (this.finished || this.answered) return;
    this.pulling = false;
    this.armTimer();
    this.runner.post(this.slot, { t: 'chunk', id: this.id, n: n === 0 ? null : n });
  }

  private bodyFailed(error: unknown): void {
    if (error instanceof RequestBodyError) {
      this.runner.log.info(`${this.tag}: ${error.message}; answered ${error.status}`);
      this.tellWorkerToStop();
      this.answer(answerFor(error.status, [['Connection', 'close']], error.reason), 'error');
      return;
    }
    // The client went away (or its body broke) mid-upload: the app's read raises ClientDisconnected.
    this.clientGone();
  }

  // ---- to the sink ----

  private forward(head: TaskResult['head'], chunks: Uint8Array[], bytes: number, region: [number, number] | null = null): void {
    if (this.answered) return;
    if (head !== null) {
      this.started = true;
      this.status = head.status;
      this.enqueue(() => this.sink.start(head.status, head.reason, head.headers));
    }
    for (const chunk of chunks) {
      this.bytesToClient += chunk.byteLength;
      this.enqueue(() => this.sink.body(chunk));
    }
    if (region !== null) {
      const view = new Uint8Array(this.runner.ring(this.slot), region[0], region[1]);
      this.bytesToClient += view.byteLength;
      // A sink that may keep a chunk after body() settled gets its own copy: the ring region is reused.
      this.enqueue(() => this.sink.body(this.sink.releasesChunks === true ? view : view.slice()));
    }
    if (bytes > 0) {
      // Pay the credit back once the sink took these bytes: that is the response backpressure.
      this.enqueue(() => {
        this.outstanding -= bytes;
        if (this.finished || this.disconnected) return;
        if (!this.pulling) this.armTimer();
        this.runner.post(this.slot, { t: 'credit', id: this.id, bytes });
      });
    }
  }

  /** Queues a sink call; once the client is gone only `final` steps (end, abort) still run. */
  private enqueue(step: () => unknown, final = false): void {
    this.touched = true;
    this.chain = this.chain.then(() => {
      if (this.disconnected && !final) return;
      return step();
    });
    this.chain.catch((error: unknown) => {
      // The sink failed (socket gone): the client left.
      if (!isClientDisconnected(error)) this.runner.log.info(`${this.tag}: response sink failed: ${formatError(error)}`);
      this.clientGone();
    });
    this.chain = this.chain.catch(() => {});
  }

  private maybeFinish(): void {
    const result = this.result;
    if (result === null || this.finished || this.received < result.posted) return;
    this.finished = true;
    this.pauseTimer();
    if (result.log !== '') this.logAppText(result.log);
    if (this.answered) return;
    const head = result.head;
    if (!this.touched && head !== null && result.finish === 'end' && !this.disconnected && this.sink.respond !== undefined) {
      this.respondWhole(head, result.chunks, result.call);
      return;
    }
    this.forward(head, result.chunks, 0);
    const finish = result.finish;
    this.enqueue(() => {
      if (this.ended) return;
      this.ended = true;
      if (finish === 'end' && !this.disconnected) return this.sink.end();
      this.sink.abort(finish === 'abort' ? new Error('the app failed after the response started') : new ClientDisconnected());
      return undefined;
    }, true);
    void this.chain.then(() => this.settle(this.disconnected ? { ...result.call, outcome: 'disconnected' } : result.call));
  }

  /**
   * The common small response, complete before anything of it was sent:
   * the sink takes it in one call (one write), without the chain of sink
   * steps and their promises.
   */
  private respondWhole(head: NonNullable<TaskResult['head']>, body: Uint8Array[], call: CallResult): void {
    this.started = true;
    this.ended = true;
    this.status = head.status;
    for (const chunk of body) this.bytesToClient += chunk.byteLength;
    try {
      this.sink.respond!(head.status, head.reason, head.headers, body);
    } catch (error) {
      if (!isClientDisconnected(error)) this.runner.log.info(`${this.tag}: response sink failed: ${formatError(error)}`);
      this.disconnected = true;
      this.settle({ ...call, outcome: 'disconnected' });
      return;
    }
    this.settle(call);
  }

  /** The runner answers on its own: a canned response if nothing was sent yet, else the response is cut. */
  answer(answer: Answer, outcome: CallResult['outcome']): void {
    if (this.answered) return;
    this.answered = true;
    this.finished = true;
    this.pauseTimer();
    const started = this.started;
    this.enqueue(async () => {
      if (this.ended) return;
      this.ended = true;
      if (started || this.disconnected) {
        this.sink.abort(new Error(`${answer.status} ${answer.reason}`));
        return;
      }
      this.status = answer.status;
      await this.sink.start(answer.status, answer.reason, answer.headers);
      await this.sink.body(answer.body);
      await this.sink.end();
    }, true);
    void this.chain.then(() =>
      this.settle({ status: started ? this.status : this.disconnected ? 0 : answer.status, bytes: this.bytesToClient, outcome: started ? 'aborted' : outcome }),
    );
  }

  /** The client went away: tell the worker (its next read or write raises ClientDisconnected). */
  clientGone(): void {
    if (this.disconnected || this.ended) return;
    this.disconnected = true;
    this.gone?.abort(new ClientDisconnected());
    this.tellWorkerToStop();
  }

  private tellWorkerToStop(): void {
    if (this.finished) return;
    const slot = this.slot !== 0 ? this.slot : this.runner.slotOf(this.id);
    // Not taken by a thread yet: its first message gets the answer (see onMessage).
    if (slot !== 0) this.runner.post(slot, { t: 'disconnect', id: this.id });
  }

  /** Shutdown grace ran out: end the request now. */
  cancel(why: string): void {
    if (this.finished) return;
    this.runner.log.warning(`${this.tag}: ${why}; request cut`);
    this.runner.terminate(this);
    this.answer(answerFor(503), 'error');
  }

  private settle(result: CallResult): void {
    this.pauseTimer();
    this.runner.forget(this.id);
    if (this.iterator !== null && typeof this.iterator.return === 'function') {
      // Stop reading the request body: the front discards or closes what is left.
      void Promise.resolve(this.iterator.return()).catch(() => {});
    }
    this.resolveDone(result);
  }

  private logAppText(text: string): void {
    for (const line of text.replace(/\n$/, '').split('\n')) this.runner.log.error(`${this.tag}: ${line}`);
  }
}
