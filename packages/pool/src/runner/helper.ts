/**
 * The asyncToSync helper thread: where there is no server loop to run an
 * async function on (the inline runner, a plain script), the calling thread
 * sends it here and sleeps; this thread's own event loop runs it and wakes
 * the caller. Calls run concurrently, each with its own AbortController,
 * aborted when the caller stops waiting.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { threadRole } from './async-wait.js';
import { postOutcome, runAsyncCall } from './calls.js';

type Request = { call: number; module: string; exportName: string; args: unknown[] } | { cancel: number };

/** Answers calls from the port in workerData until the process ends. */
export function serveCalls(): void {
  const { port, cell } = workerData as { port: MessagePort; cell: Int32Array };
  // Its own loop runs the calls: asyncToSync here would wait on itself.
  threadRole.helper = true;
  // Something a call left behind threw later: the thread must live on, or every caller would wait for it forever.
  process.on('uncaughtException', (error) => {
    process.stderr.write(`asyncToSync helper thread: an uncaught exception (it keeps serving calls): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  });
  const running = new Map<number, AbortController>();
  port.on('message', (request: Request) => {
    if ('cancel' in request) {
      running.get(request.cancel)?.abort(new Error('the caller stopped waiting (its timeout)'));
      running.delete(request.cancel);
      return;
    }
    const controller = new AbortController();
    running.set(request.call, controller);
    void runAsyncCall(request, request.args, controller.signal).then((outcome) => {
      // The caller stopped waiting (its timeout): nobody reads the answer.
      if (running.get(request.call) !== controller) return;
      running.delete(request.call);
      postOutcome(request, outcome, (o) => port.postMessage({ call: request.call, ...o }));
      Atomics.add(cell, 0, 1);
      Atomics.notify(cell, 0);
    });
  });
}
