// The file each worker thread of the runner starts. Plain JavaScript on
// purpose: on Node 20 worker threads do not inherit the loader hooks of the
// thread that starts them, so tsx must be registered here, before anything
// TypeScript is imported. Then .ts apps load, and (when the runner itself runs from
// TypeScript source, as under vitest) so does worker.ts, which tsx finds
// behind the './worker.js' specifier. A JavaScript app under the built
// runner needs no tsx at all, and skipping it makes a thread start several
// times faster.
import { workerData } from 'node:worker_threads';
import { registerTsx } from './register-tsx.js';

if (workerData.fromSource || (workerData.app !== null && /\.[cm]?tsx?$/.test(workerData.app.module))) await registerTsx();
const { serveRequests } = await import('./worker.js');
await serveRequests();
