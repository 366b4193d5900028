/**
 * How a thread blocks on an async function (asyncToSync), decided per thread:
 * - a worker thread of a runner posts the call to the main thread's event
 *   loop on its slot's channel (worker.ts sets `threadRole.waiter`);
 * - a thread that hosts a runner's event loop (the pool server's, the
 *   bridge's, syncToAsync's) must not block on its own loop: the call is
 *   refused at once, as asgiref's async_to_sync refuses inside a running loop;
 * - anywhere else (the inline runner's app call, a plain script, a thread of
 *   your own) the function runs on a helper thread with a loop of its own,
 *   and this thread sleeps in Atomics.wait until it settles.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { errorFromData } from './calls.js';
import type { CallOutcome } from './protocol.js';
import type { FunctionRef } from './types.js';

/** The wait ended because the caller's `timeout` passed; the async function's signal was aborted. */
export class AsyncToSyncTimeout extends Error {
  override name = 'AsyncToSyncTimeout';
}

/** What this thread is, for asyncToSync. */
export interface ThreadRole {
  /** Set on a runner's worker thread: waits on the main thread's loop through the slot's channel. */
  waiter: ((ref: FunctionRef, args: unknown[], timeoutMs: number, label: string) => unknown) | null;
  /** Runners whose worker threads this thread's loop serves (their async calls run here). */
  hosts: number;
  /** Inline runner app calls in progress on this thread: the app runs where the loop would, so the loop is not the host. */
  inline: number;
  /** This is the helper thread: its loop runs the async functions. */
  helper: boolean;
}

// Per thread, shared by every copy of this module a thread loads (source and dist).
const ROLE_KEY = Symbol.for('tsgi.runner.threadRole');
const globals = globalThis as unknown as Record<symbol, unknown>;
/** This thread's role. */
export const threadRole = (globals[ROLE_KEY] ??= { waiter: null, hosts: 0, inline: 0, helper: false } satisfies ThreadRole) as ThreadRole;

// Atomics.wait always gets a timeout: a missed wake-up costs at most this, never a hang.
const WAIT_SLICE_MS = 500;

/**
 * Runs the async function `ref` with `args` and blocks this thread until it
 * settles: returns its value, throws its rejection (same message, and the
 * stack where it was thrown), AsyncToSyncTimeout past `timeoutMs` (0:
 * none), ClientDisconnected when the request's client leaves meanwhile.
 */
export function callAsyncBlocking(ref: FunctionRef, args: unknown[], timeoutMs: number, label: string): unknown {
  const role = threadRole;
  if (role.waiter !== null) return role.waiter(ref, args, timeoutMs, label);
  if (role.helper || (role.hosts > 0 && role.inline === 0)) {
    throw new Error(
      `${label} was called on the event loop's own thread, the one that would run "${ref.exportName}": blocking it to wait would deadlock. ` +
        `Await the function directly here; asyncToSync is for sync code on worker threads (as asgiref's async_to_sync refuses to run inside a running event loop)`,
    );
  }
  return helper().call(ref, args, timeoutMs, label);
}

/** What the helper thread answers: a call's outcome. */
type HelperReply = { call: number } & CallOutcome;

/** The helper thread and this thread's end of its channel. */
class Helper {
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private calls = 0;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // Read with receiveMessageOnPort only: it must not keep this thread alive.
    port1.unref();
    const fromSource = import.meta.url.endsWith('.ts');
    const worker = new Worker(new URL('./helper-entry.js', import.meta.url), {
      workerData: { port: port2, cell: this.cell, fromSource },
      transferList: [port2],
      ...(fromSource ? { execArgv: ['--conditions=source'] } : {}),
    });
    // Idle, it must not keep the process alive either.
    worker.unref();
  }

  call(ref: FunctionRef, args: unknown[], timeoutMs: number, label: string): unknown {
    const call = ++this.calls;
    try {
      this.port.postMessage({ call, module: ref.module, exportName: ref.exportName, args });
    } catch (error) {
      throw uncloneableArgument(label, error);
    }
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    for (;;) {
      const seen = Atomics.load(this.cell, 0);
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as HelperReply;
        // Earlier calls' answers after their callers timed out: dropped.
        if (reply.call !== call) continue;
        if (reply.ok) return reply.value;
        throw errorFromData(reply.error, label);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        this.port.postMessage({ cancel: call });
        throw new AsyncToSyncTimeout(`${label}: no answer within ${timeoutMs} ms (its timeout option); the wait ended and the async function's signal was aborted`);
      }
      Atomics.wait(this.cell, 0, seen, Math.min(WAIT_SLICE_MS, left));
    }
  }
}

/** The error for arguments that cannot be structured-cloned to the thread that runs the function, thrown in the caller. */
export function uncloneableArgument(label: string, error: unknown): TypeError {
  return new TypeError(`${label}: an argument cannot be structured-cloned to the thread that runs the function (functions and class instances cannot cross threads): ${(error as Error).message}`);
}

let theHelper: Helper | null = null;

/** The helper thread, started on first use. */
function helper(): Helper {
  theHelper ??= new Helper();
  return theHelper;
}
