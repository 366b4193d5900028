// The file the asyncToSync helper thread starts (async-wait.ts). Plain
// JavaScript for the reason worker-entry.js is: tsx must be registered in
// the thread before anything TypeScript loads, here the helper itself when
// the runner runs from source. Modules of the calls register it as needed.
import { workerData } from 'node:worker_threads';

if (workerData.fromSource) {
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  cjs.register();
  // calls.ts's loadFunction looks here before registering tsx again for a .ts module.
  globalThis[Symbol.for('tsgi.tsxRegistered')] = true;
}
const { serveCalls } = await import('./helper.js');
serveCalls();
