/**
 * The inline mode of the runner (`threads: 0`, spec wsgi.loading.inline.1):
 * the app runs on the calling thread, for tests and debugging. A sync app
 * cannot wait for bytes that the same thread would have to receive, so the
 * request body is read whole before the call and the response is collected
 * whole before it goes to the sink. Never use it to serve real traffic: one
 * blocking app call stalls the whole server.
 */
import {
  ClientDisconnected,
  callWsgiApp,
  createWsgiInput,
  environFromScope,
  fileWrapper,
  memorySource,
  type CallResult,
  type HttpScope,
  type ModuleRef,
  type WsgiApplication,
  type WsgiErrors,
  type WsgiHeaders,
} from '@tsgi/core';
import { importApp, type Logger } from '@tsgi/core/server';
import { answerFor, sendAnswer } from './answer.js';
import { threadRole } from './async-wait.js';
import { loadFunction } from './calls.js';
import { RequestBodyError, type FunctionRef, type HandleOptions, type RequestBody, type ResponseSink, type SyncRunner } from './types.js';

type Recorded = { t: 'start'; status: number; reason: string; headers: WsgiHeaders } | { t: 'body'; chunk: Uint8Array } | { t: 'end' } | { t: 'abort' };

/** Runs the app on the calling thread, one buffered request at a time. */
export class InlineRunner implements SyncRunner {
  readonly threads = 0;
  private app: Promise<WsgiApplication> | null = null;
  private closing = false;
  private readonly inFlight = new Set<Promise<CallResult>>();

  constructor(
    private readonly ref: ModuleRef | null,
    private readonly logger: Logger,
  ) {}

  async ready(): Promise<void> {
    if (this.ref !== null) await this.load();
  }

  handle(scope: HttpScope, body: RequestBody, sink: ResponseSink, options: HandleOptions = {}): Promise<CallResult> {
    const p = this.run(scope, body, sink, options);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  async close(graceMs = Infinity): Promise<void> {
    this.closing = true;
    const all = Promise.all(this.inFlight);
    if (graceMs === Infinity) await all;
    else await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** Runs the function on this thread, at once; arguments and result are cloned, as they are across threads. */
  async call(ref: FunctionRef, args: readonly unknown[]): Promise<unknown> {
    if (this.closing) throw new Error(`call ${ref.exportName}: the runner is closed (shutting down); the call was not run`);
    const fn = await loadFunction(ref, 'syncToAsync');
    threadRole.inline++;
    try {
      return structuredClone(fn(...structuredClone([...args])));
    } finally {
      threadRole.inline--;
    }
  }

  private load(): Promise<WsgiApplication> {
    if (this.ref === null) return Promise.reject(new Error('this runner has no app (it runs syncToAsync calls only)'));
    this.app ??= importApp<WsgiApplication>(this.ref, 'WSGI-TS');
    return this.app;
  }

  private async run(scope: HttpScope, body: RequestBody, sink: ResponseSink, options: HandleOptions): Promise<CallResult> {
    const tag = options.tag ?? scope.path;
    if (this.closing) {
      await sendAnswer(sink, answerFor(503));
      return { status: 503, bytes: 0, outcome: 'error' };
    }
    let app: WsgiApplication;
    try {
      app = await this.load();
    } catch (error) {
      this.logger.error(`${tag}: the app failed to load: ${String(error)}`);
      await sendAnswer(sink, answerFor(500));
      return { status: 500, bytes: 0, outcome: 'error' };
    }
    const chunks: Uint8Array[] = [];
    let disconnected = false;
    try {
      if (body !== null) for await (const chunk of body) chunks.push(chunk);
    } catch (error) {
      if (error instanceof RequestBodyError) {
        const answer = answerFor(error.status, [['Connection', 'close']], error.reason);
        await sendAnswer(sink, answer);
        return { status: error.status, bytes: 0, outcome: 'error' };
      }
      // The client left mid-upload: the app sees ClientDisconnected once it reads past what arrived.
      disconnected = true;
    }
    const source = memorySource(chunks);
    const input = createWsgiInput(
      {
        pull: () => {
          const chunk = source.pull();
          if (chunk === null && disconnected) throw new ClientDisconnected('client disconnected before the request body was complete');
          return chunk;
        },
      },
      null,
    );
    let log = '';
    const errors: WsgiErrors = {
      write: (s) => void (log += String(s)),
      writelines: (lines) => {
        for (const line of lines) log += String(line);
      },
      flush: () => {
        if (log === '') return;
        for (const line of log.replace(/\n$/, '').split('\n')) this.logger.error(`${tag}: ${line}`);
        log = '';
      },
    };
    const environ = environFromScope(scope, { input, errors, multithread: false, multiprocess: false, fileWrapper });
    const recorded: Recorded[] = [];
    // The app runs where the event loop would: asyncToSync in it goes to the helper thread.
    threadRole.inline++;
    let call: CallResult;
    try {
      call = callWsgiApp(
        app,
        environ,
        {
          start: (status, reason, headers) => void recorded.push({ t: 'start', status, reason, headers }),
          body: (chunk) => {
            if (options.signal?.aborted === true) throw new ClientDisconnected();
            // Copy: the app may reuse its buffer once this call returns.
            recorded.push({ t: 'body', chunk: new Uint8Array(chunk) });
          },
          end: () => void recorded.push({ t: 'end' }),
          abort: () => void recorded.push({ t: 'abort' }),
        },
        {
          onError: (error) => {
            errors.write((error instanceof Error ? (error.stack ?? error.message) : String(error)) + '\n');
            errors.flush();
          },
        },
      );
    } finally {
      threadRole.inline--;
    }
    errors.flush();
    try {
      for (const r of recorded) {
        if (options.signal?.aborted === true) {
          sink.abort(new ClientDisconnected());
          return { ...call, outcome: 'disconnected' };
        }
        if (r.t === 'start') await sink.start(r.status, r.reason, r.headers);
        else if (r.t === 'body') await sink.body(r.chunk);
        else if (r.t === 'end') await sink.end();
        else sink.abort(new Error('the app failed after the response started'));
      }
      if (call.outcome === 'disconnected') sink.abort(new ClientDisconnected());
    } catch {
      sink.abort(new ClientDisconnected());
      return { ...call, outcome: 'disconnected' };
    }
    return call;
  }
}
