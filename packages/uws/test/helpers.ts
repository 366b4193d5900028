/** Helpers of the @tsgi/uws tests: the shared server-test kit, with start() and closeAll() on @tsgi/uws's serve(). */
import { serve, type ServeOptions } from '@tsgi/uws';
import { serverStarter } from '../../core/test/support/server-tests.js';
export * from '../../core/test/support/server-tests.js';
export const { start, closeAll } = serverStarter<ServeOptions>(serve);
