/**
 * What one worker thread runs: import the app by module path, start an
 * event loop server on the shared port, report to the parent, and close
 * gracefully when told to.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { AsgiApplication, ModuleRef } from '@tsgi/core';
import { consoleLogger, countRequests, importApp, requestLimit, serverLogger, type RunningServer } from '@tsgi/core/server';
import { resolveOptions, type ServeOptions } from './options.js';
import { startServer } from './server.js';

/** The data a worker is started with. */
export interface WorkerData {
  serverModule: string;
  ref: ModuleRef;
  /** The serve() options minus the logger (which cannot cross threads). */
  options: Omit<ServeOptions, 'logger'>;
  port: number;
  /** How often this thread's event loop reports to the main thread (ms). */
  heartbeatMs: number;
  /** Requests after which this worker asks to be replaced; null: never. */
  limitMaxRequests: number | null;
}

/** Messages a worker posts to its parent. */
export type WorkerMessage = { type: 'listening'; port: number } | { type: 'failed'; message: string } | { type: 'heartbeat' } | { type: 'recycle' };

/**
 * Runs the server of this worker thread. A worker thread that ends with a
 * uWS socket still open aborts the whole process (Node asserts that the
 * thread's loop has no open handles), so process.exit() and uncaught
 * exceptions first drop every socket, then end the thread two loop turns
 * later, once libuv has run the close callbacks.
 */
export async function runWorker(): Promise<void> {
  const data = workerData as WorkerData;
  const port = parentPort!;
  let server: RunningServer | undefined;
  const realExit = process.exit.bind(process);
  const exitSoon = (code: number): void => {
    try {
      server?.closeNow();
    } catch {
      // Already closed.
    }
    setImmediate(() => setImmediate(() => realExit(code)));
  };
  process.exit = ((code?: number | string | null) => exitSoon(Number(code ?? process.exitCode ?? 0))) as typeof process.exit;
  const earlyLogger = consoleLogger('error', `[worker ${threadId}] `);
  process.on('uncaughtException', (e) => {
    earlyLogger.error('Uncaught exception in worker thread; it will be replaced', e);
    exitSoon(1);
  });
  try {
    // The worker options are the main thread's; this thread is one server.
    const resolved = resolveOptions({ ...data.options, port: data.port, workers: 1, limitMaxRequests: null });
    const logger = serverLogger({}, resolved, `[worker ${threadId}] `);
    let app = await importApp<AsgiApplication>(data.ref, 'ASGI-TS');
    const limit = data.limitMaxRequests;
    if (limit !== null) app = countRequests(app, requestLimit(limit, () => port.postMessage({ type: 'recycle' } satisfies WorkerMessage)));
    const handle = await startServer(app, resolved, logger);
    server = handle;
    const listening = 'port' in handle.address ? handle.address.port : 0;
    port.on('message', (m: { type: string }) => {
      if (m.type !== 'close') return;
      handle.close().then(
        () => port.close(),
        () => port.close(),
      );
    });
    port.postMessage({ type: 'listening', port: listening } satisfies WorkerMessage);
    // Sent from this thread's event loop: a loop blocked by the app sends none, and the main thread replaces the worker.
    setInterval(() => port.postMessage({ type: 'heartbeat' } satisfies WorkerMessage), data.heartbeatMs).unref();
  } catch (e) {
    port.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
    port.close();
  }
}
