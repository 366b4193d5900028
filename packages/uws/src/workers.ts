/** Multi-worker serving (workers > 1): being written; refuses clearly until then. */
import type { ModuleRef, ServerHandle } from '@tsgi/core';
import type { Logger } from './logger.js';
import type { ResolvedOptions, ServeOptions } from './options.js';

/** Serves the app on N worker threads. */
export async function serveWorkers(_ref: ModuleRef, _o: ServeOptions, _r: ResolvedOptions, _l: Logger): Promise<ServerHandle> {
  throw new Error('serve(): workers > 1 is not available yet in this build of @tsgi/uws');
}
