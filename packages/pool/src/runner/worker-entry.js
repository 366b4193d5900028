// The file tinypool starts in each worker thread. Plain JavaScript on purpose:
// on Node 20 worker threads do not inherit loader hooks (DESIGN decision 8),
// so tsx must be registered here, before anything TypeScript is imported;
// then .ts apps load, and (when running from source) so does worker.ts itself,
// which tsx finds behind the './worker.js' specifier.
import { register } from 'tsx/esm/api';

register();
const { handleTask } = await import('./worker.js');

export default handleTask;
