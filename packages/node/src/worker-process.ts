/**
 * `workers: N` on @tsgi/node: N processes (node:cluster) sharing the
 * listening socket, each a whole server with its own event loop and
 * lifespan, as uvicorn's workers are. The process management is the shared
 * layer's (serveProcesses); this module says what each worker runs.
 */
import type { ModuleRef } from '@tsgi/core';
import { countRequests, importApp, serveProcesses, type Logger, type RunningServer, type WorkerHooks } from '@tsgi/core/server';
import type { AsgiApplication } from '@tsgi/core';
import type { ResolvedOptions, ServeOptions } from './options.js';

/** What the primary hands each worker process. */
interface WorkerData {
  ref: ModuleRef;
  /** The serve() options minus the logger, which cannot cross processes. */
  options: Omit<ServeOptions, 'logger'>;
}

/** Serves the app by module reference on `workers` processes; each loads .ts apps through tsx, as the CLI does. */
export function serveWorkerProcesses(ref: ModuleRef, options: ServeOptions, resolved: ResolvedOptions, logger: Logger): Promise<RunningServer> {
  const { logger: _omit, ...plain } = options;
  const data: WorkerData = { ref, options: plain };
  return serveProcesses({
    serverModule: import.meta.url,
    data,
    execArgv: ['--import', import.meta.resolve('tsx')],
    workers: resolved.workers,
    what: 'node:http',
    logger,
    limitMaxRequests: resolved.limitMaxRequests,
    timeoutWorkerHealthcheck: resolved.timeoutWorkerHealthcheck,
    secure: resolved.tls !== null,
  });
}

/** The worker side: serve the app with one event loop in this process. */
export async function startWorker(raw: unknown, hooks: WorkerHooks = {}): Promise<RunningServer> {
  const data = raw as WorkerData;
  // Imported here: index.ts imports this module for the primary's side.
  const { serve } = await import('./index.js');
  // The worker options are the primary's; this process is one server.
  const options = { ...data.options, workers: 1, limitMaxRequests: null };
  if (hooks.onRequest === undefined) return serve(data.ref, options);
  return serve(countRequests(await importApp<AsgiApplication>(data.ref, 'ASGI-TS'), hooks.onRequest), options);
}
