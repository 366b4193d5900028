// Entry of each @tsgi/uws worker thread: on Node 20 a
// worker does not inherit the loader hooks of its parent, so it registers tsx
// itself (for .ts apps, and for the server's own source when run from src/),
// then starts the server module the parent named.
import { workerData } from 'node:worker_threads';
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

// Both hooks: .ts files in a package without "type": "module" are CommonJS.
registerEsm();
registerCjs();
const { runWorker } = await import(workerData.serverModule);
await runWorker();
