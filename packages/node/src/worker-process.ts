/**
 * `workers: N` on @tsgi/node: N processes (node:cluster) sharing the
 * listening socket, each a whole server with its own event loop and
 * lifespan, as uvicorn's workers are. The process management is the shared
 * layer's (serveAppProcesses); this module says what each worker runs.
 */
import type { ModuleRef } from '@tsgi/core';
import { appWorkerData, countRequests, importApp, serveAppProcesses, type Logger, type RunningServer, type WorkerHooks } from '@tsgi/core/server';
import type { AsgiApplication } from '@tsgi/core';
import type { ResolvedOptions, ServeOptions } from './options.js';

/** Serves the app by module reference on `workers` processes; each loads .ts apps through tsx, as the CLI does. */
export function serveWorkerProcesses(ref: ModuleRef, options: ServeOptions, resolved: ResolvedOptions, logger: Logger): Promise<RunningServer> {
  return serveAppProcesses({ serverModule: import.meta.url, what: 'node:http', tsx: import.meta.resolve('tsx') }, ref, options, resolved, logger);
}

/** The worker side: serve the app with one event loop in this process. */
export async function startWorker(raw: unknown, hooks: WorkerHooks = {}): Promise<RunningServer> {
  const { ref, options } = appWorkerData<ServeOptions>(raw);
  // Imported here: index.ts imports this module for the primary's side.
  const { serve } = await import('./index.js');
  if (hooks.onRequest === undefined) return serve(ref, options);
  return serve(countRequests(await importApp<AsgiApplication>(ref, 'ASGI-TS'), hooks.onRequest), options);
}
