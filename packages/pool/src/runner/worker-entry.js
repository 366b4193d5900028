// The file each worker thread of the runner starts. Plain JavaScript on
// purpose: on Node 20 worker threads do not inherit the loader hooks of the
// thread that starts them, so tsx must be registered here, before anything
// TypeScript is imported. Then .ts apps load, and (when the runner itself runs from
// TypeScript source, as under vitest) so does worker.ts, which tsx finds
// behind the './worker.js' specifier. A JavaScript app under the built
// runner needs no tsx at all, and skipping it makes a thread start several
// times faster.
import { workerData } from 'node:worker_threads';

if (workerData.fromSource || (workerData.app !== null && /\.[cm]?tsx?$/.test(workerData.app.module))) {
  // ESM hooks for ES modules, the CommonJS hook for .ts files outside a "type": "module" package.
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  cjs.register();
  // calls.ts's loadFunction looks here before registering tsx again for a .ts module.
  globalThis[Symbol.for('tsgi.tsxRegistered')] = true;
}
const { serveRequests } = await import('./worker.js');
await serveRequests();
