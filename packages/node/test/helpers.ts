/** Helpers of the @tsgi/node tests: the shared server-test kit, with start() and closeAll() on @tsgi/node's serve(). */
import { serve, type ServeOptions } from '@tsgi/node';
import { serverStarter } from '../../core/test/support/server-tests.js';
export * from '../../core/test/support/server-tests.js';
export const { start, closeAll } = serverStarter<ServeOptions>(serve);
