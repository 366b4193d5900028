/**
 * What one worker thread runs: import the app by module path, start an
 * event loop server on the shared port, report to the parent, and close
 * gracefully when told to.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { AsgiApplication, ModuleRef } from '@tsgi/core';
import { consoleLogger, importApp, serverLogger, type RunningServer } from '@tsgi/core/server';
import { resolveOptions, type ServeOptions } from './options.js';
import { startServer } from './server.js';

/** The data a worker is started with. */
export interface WorkerData {
  serverModule: string;
  ref: ModuleRef;
  /** The serve() options minus the logger (which cannot cross threads). */
  options: Omit<ServeOptions, 'logger'>;
  port: number;
}

/** Messages a worker posts to its parent. */
export type WorkerMessage = { type: 'listening'; port: number } | { type: 'failed'; message: string };

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
    const resolved = resolveOptions({ ...data.options, port: data.port, workers: 1 });
    const logger = serverLogger({}, resolved, `[worker ${threadId}] `);
    const app = await importApp<AsgiApplication>(data.ref, 'ASGI-TS');
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
  } catch (e) {
    port.postMessage({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
    port.close();
  }
}
