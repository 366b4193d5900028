/**
 * The messages between the main thread and a worker thread while one request
 * runs. The start of a request (its task) and its end (the result) travel
 * through shared memory (task-queue.ts, result-ring.ts); everything that
 * streams in between (body chunks both ways, credit, disconnects, log lines)
 * travels on a BroadcastChannel named for the worker's slot, so no channel is
 * created per request. Each message carries the request id: a replacement
 * worker in the same slot ignores what was meant for its predecessor.
 *
 * The worker blocks on a shared Int32Array cell of its slot: the main thread
 * posts first, then bumps the cell and notifies (Atomics), so a message is
 * always visible by the time the worker wakes.
 */
import type { HttpScope, ModuleRef, WsgiHeaders, CallResult } from '@tsgi/core';
import type { LetterReader, LetterWriter } from './mailbox.js';
import type { ResultMemory } from './result-ring.js';
import type { TaskQueueMemory } from './task-queue.js';

/** What every worker thread gets at startup (its workerData). */
export interface WorkerConfig {
  /** Unique per runner: prefixes the channel names so two runners in one process never cross. */
  runnerId: string;
  /** The worker's slot, 1-based; a replacement thread takes over the slot of the one it replaces. */
  slot: number;
  /** One wake-up cell per worker slot (index = slot). */
  signals: Int32Array;
  /** The requests waiting for a worker. */
  queue: TaskQueueMemory;
  /** The results on their way back. */
  results: ResultMemory;
  /** Per slot, the id of the request its thread runs (0: none). */
  running: Int32Array;
  /** One cell: the workers' recent time per request in µs, a moving average each worker updates as it finishes one (wake-policy.ts). */
  taskTime: Int32Array;
  /**
   * One response ring per worker slot (index = slot), `creditWindow` bytes:
   * streamed chunks are copied in by the worker and read in place by the
   * main thread, so a large download allocates nothing per chunk there.
   */
  rings: SharedArrayBuffer[];
  /**
   * One request-body buffer per worker slot: the main thread copies the
   * bytes a pull asked for into it, the worker copies them out at once into
   * the one chunk wsgi.input hands the app.
   */
  inputs: SharedArrayBuffer[];
  /** The runner runs from TypeScript source (tests): the worker must load its own modules through tsx. */
  fromSource: boolean;
  /** The app to import; null for a runner of syncToAsync calls only. */
  app: ModuleRef | null;
  /** Bytes a worker may send ahead of the client before it blocks (response flow control). */
  creditWindow: number;
  /** Recycle the thread after this many requests; 0 = never. */
  maxRequestsPerWorker: number;
  /** environ['wsgi.multithread']: more than one worker thread runs the app (spec wsgi.loading.blocking.2). */
  multithread: boolean;
}

/** The scope fields a WSGI environ is built from: only these cross to the worker (an ASGI scope's state and extensions may hold anything). */
export type TaskScope = Pick<
  HttpScope,
  'type' | 'asgi' | 'http_version' | 'method' | 'scheme' | 'path' | 'raw_path' | 'query_string' | 'root_path' | 'headers' | 'client' | 'server'
>;

/** The task of one request, as the task queue carries it to a worker. */
export interface RequestTask {
  kind: 'request';
  /** Request id, unique within the runner. */
  id: number;
  scope: TaskScope;
  /** False when the request has no body at all: wsgi.input is empty without asking. */
  hasBody: boolean;
}

/** The task of one function call (syncToAsync): the function by module and export name, its arguments v8-serialized (structured clone). */
export interface CallTask {
  kind: 'call';
  /** Call id, unique within the runner (the same id space as requests). */
  id: number;
  module: string;
  exportName: string;
  /** The arguments array, as v8.serialize writes it; null when too big for a queue entry: the worker asks for them ('args'). */
  args: Uint8Array | null;
}

/** What a worker takes from the task queue. */
export type Task = RequestTask | CallTask;

/** An error as it crosses a thread: enough to rebuild one that reads the same in a log. */
export interface ErrorData {
  name: string;
  message: string;
  stack: string | undefined;
  /** A ClientDisconnected (rebuilt as one, so isClientDisconnected holds on the other side). */
  disconnected: boolean;
}

/** How a call ended: its value (structured-cloned), or what it threw. */
export type CallOutcome = { ok: true; value: unknown } | { ok: false; error: ErrorData };

/** The status line and headers, as the worker hands them over. */
export interface ResponseHead {
  status: number;
  reason: string;
  headers: WsgiHeaders;
}

/** The result of one request: what was not streamed yet, and how the call ended. */
export interface TaskResult {
  id: number;
  /** How many channel messages the worker posted for this request; the main thread waits for all of them. */
  posted: number;
  head: ResponseHead | null;
  chunks: Uint8Array[];
  /** 'end': the body is complete; 'abort': cut it (after headers); 'none': the client left, send nothing more. */
  finish: 'end' | 'abort' | 'none';
  call: CallResult;
  /** wsgi.errors text not flushed yet. */
  log: string;
}

/** A result as a result ring carries it: its body bytes follow the JSON. */
export type ResultLetter = Omit<TaskResult, 'chunks'>;

/** Worker -> main on the thread's parentPort, once: the app is imported and the slot can take requests. */
export interface ReadyMessage {
  t: 'ready';
}

/** Worker -> main, on the slot's channel. */
export type UpMessage =
  /** The worker needs body bytes: exactly `want` (or up to the end), or whatever comes next when 0. It blocks until answered. */
  | { t: 'pull'; id: number; want: number }
  /**
   * Response data: the head (first time), chunks (cloned), and/or a region of
   * the slot's ring ([offset, length], after the chunks); all of it costs
   * `bytes` credit, paid back once the sink is done with it.
   */
  | { t: 'res'; id: number; head: ResponseHead | null; chunks: Uint8Array[]; ring: [number, number] | null; bytes: number }
  /** The worker waits until the main thread is done with everything in its ring (the end of a streamed response). */
  | { t: 'drain'; id: number }
  /** wsgi.errors output, flushed. */
  | { t: 'log'; id: number; text: string }
  /** The final result, when it does not fit a result entry. */
  | { t: 'done'; id: number; result: TaskResult }
  /**
   * asyncToSync: run this async function on the main thread's event loop;
   * the worker blocks until 'settled' answers `call` (a number unique in
   * the process: thread id and a count). `id` is the request or call task
   * the worker is on (0: none), whose client going away aborts the call.
   */
  | { t: 'await'; id: number; call: number; module: string; exportName: string; args: unknown[] }
  /** A call task's arguments did not fit its queue entry: the worker blocks until 'args' brings them. */
  | { t: 'args'; id: number }
  /** The worker stopped waiting for `call` (timeout, client gone): abort it, answer nothing. */
  | { t: 'cancel'; id: number; call: number }
  /** A call task (syncToAsync) finished: how it ended. Posted last for its task. */
  | ({ t: 'return'; id: number } & CallOutcome);

/** Main -> worker, on the slot's channel. */
export type DownMessage =
  /** The answer to a pull: `n` bytes are at the start of the slot's input buffer; null at the end of the body. */
  | { t: 'chunk'; id: number; n: number | null }
  /** The client took `bytes` more of the response. */
  | { t: 'credit'; id: number; bytes: number }
  /** The client is gone (or its body broke): stop. */
  | { t: 'disconnect'; id: number }
  /** The arguments of call task `id`, as v8.serialize wrote them. */
  | { t: 'args'; id: number; bytes: Uint8Array }
  /** An asyncToSync call the worker waits on settled. */
  | ({ t: 'settled'; id: number; call: number } & CallOutcome);

/** The channel name of one worker slot. */
export function channelName(runnerId: string, slot: number): string {
  return `tsgi-runner:${runnerId}:${slot}`;
}

// ---- the task and the result as letters (mailbox.ts) ----

const OUTCOMES: ReadonlyArray<CallResult['outcome']> = ['complete', 'error', 'aborted', 'disconnected'];
const FINISHES: ReadonlyArray<TaskResult['finish']> = ['end', 'abort', 'none'];
const ASGI_INFO = { version: '3.0' } as const;

/** Writes a task: a request's id, whether it has a body, and the scope fields the environ is built from; or a call's id and function (its arguments are the letter's body). */
export function writeTask(w: LetterWriter, task: Task): LetterWriter {
  if (task.kind === 'call') return w.reset().num(1).num(task.id).num(task.args === null ? 0 : 1).str(task.module).str(task.exportName);
  const s = task.scope;
  w.reset().num(0).num(task.id).num(task.hasBody ? 1 : 0);
  w.str(s.method).str(s.scheme).str(s.http_version).str(s.path).strOrNull(s.raw_path).str(s.query_string).str(s.root_path);
  writeAddress(w, s.client);
  writeAddress(w, s.server);
  writeHeaders(w, s.headers);
  return w;
}

/** Reads a task written by writeTask; a call's arguments are `body`, the letter's body bytes. */
export function readTask(r: LetterReader, body: () => Uint8Array | null): Task {
  if (r.num() === 1) {
    const id = r.num();
    const inline = r.num() === 1;
    return { kind: 'call', id, module: r.str(), exportName: r.str(), args: inline ? (body() ?? new Uint8Array(0)) : null };
  }
  const id = r.num();
  const hasBody = r.num() === 1;
  const scope: TaskScope = {
    type: 'http',
    asgi: ASGI_INFO,
    method: r.str(),
    scheme: r.str(),
    http_version: r.str() as TaskScope['http_version'],
    path: r.str(),
    raw_path: r.strOrNull(),
    query_string: r.str(),
    root_path: r.str(),
    client: readAddress(r) as [string, number] | null,
    server: readAddress(r),
    headers: readHeaders(r),
  };
  return { kind: 'request', id, scope, hasBody };
}

/** Writes a result (its body bytes go after the letter). */
export function writeResult(w: LetterWriter, result: ResultLetter): LetterWriter {
  w.reset().num(result.id).num(result.posted).num(FINISHES.indexOf(result.finish));
  w.num(result.call.status).num(result.call.bytes).num(OUTCOMES.indexOf(result.call.outcome)).str(result.log);
  const head = result.head;
  if (head === null) return w.num(0);
  w.num(1).num(head.status).str(head.reason);
  writeHeaders(w, head.headers);
  return w;
}

/** Reads a result written by writeResult. */
export function readResult(r: LetterReader): ResultLetter {
  const id = r.num();
  const posted = r.num();
  const finish = FINISHES[r.num()]!;
  const call: CallResult = { status: r.num(), bytes: r.num(), outcome: OUTCOMES[r.num()]! };
  const log = r.str();
  const head = r.num() === 0 ? null : { status: r.num(), reason: r.str(), headers: readHeaders(r) };
  return { id, posted, head, finish, call, log };
}

function writeHeaders(w: LetterWriter, headers: ReadonlyArray<readonly [string, string]>): void {
  w.num(headers.length);
  for (const [name, value] of headers) w.str(name).str(value);
}

function readHeaders(r: LetterReader): Array<[string, string]> {
  const headers: Array<[string, string]> = new Array(r.num());
  for (let i = 0; i < headers.length; i++) headers[i] = [r.str(), r.str()];
  return headers;
}

function writeAddress(w: LetterWriter, address: readonly [string, number | null] | null): void {
  if (address === null) w.num(0);
  else w.num(1).str(address[0]).num(address[1] ?? -1);
}

function readAddress(r: LetterReader): [string, number | null] | null {
  if (r.num() === 0) return null;
  const host = r.str();
  const port = r.num();
  return [host, port < 0 ? null : port];
}
