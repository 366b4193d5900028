/**
 * The asyncToSync helper thread: where there is no server loop to run an
 * async function on (the inline runner, a plain script), the calling thread
 * sends it here and sleeps; this thread's own event loop runs it and wakes
 * the caller. Calls run concurrently, each with its own AbortController,
 * aborted when the caller stops waiting.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { threadRole } from './async-wait.js';
import { callContext, errorData, loadFunction } from './calls.js';
import type { CallOutcome } from './protocol.js';

type Request = { call: number; module: string; exportName: string; args: unknown[] } | { cancel: number };

/** Answers calls from the port in workerData until the process ends. */
export function serveCalls(): void {
  const { port, cell } = workerData as { port: MessagePort; cell: Int32Array };
  // Its own loop runs the calls: asyncToSync here would wait on itself.
  threadRole.helper = true;
  const running = new Map<number, AbortController>();
  port.on('message', (request: Request) => {
    if ('cancel' in request) {
      running.get(request.cancel)?.abort(new Error('the caller stopped waiting (its timeout)'));
      running.delete(request.cancel);
      return;
    }
    const controller = new AbortController();
    running.set(request.call, controller);
    void (async () => {
      let outcome: CallOutcome;
      try {
        const fn = await loadFunction(request, 'asyncToSync');
        outcome = { ok: true, value: await callContext.run({ signal: controller.signal }, () => fn(...request.args)) };
      } catch (error) {
        outcome = { ok: false, error: errorData(error) };
      }
      if (running.get(request.call) !== controller) return;
      running.delete(request.call);
      try {
        port.postMessage({ call: request.call, ...outcome });
      } catch (error) {
        const why = new TypeError(`asyncToSync: the value "${request.exportName}" resolved to cannot be structured-cloned to the calling thread: ${(error as Error).message}`);
        port.postMessage({ call: request.call, ok: false, error: errorData(why) });
      }
      Atomics.add(cell, 0, 1);
      Atomics.notify(cell, 0);
    })();
  });
}
