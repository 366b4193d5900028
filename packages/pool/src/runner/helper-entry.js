// The file the asyncToSync helper thread starts (async-wait.ts). Plain
// JavaScript for the reason worker-entry.js is: tsx must be registered in
// the thread before anything TypeScript loads, here the helper itself when
// the runner runs from source. Modules of the calls register it as needed.
import { workerData } from 'node:worker_threads';
import { registerTsx } from './register-tsx.js';

if (workerData.fromSource) await registerTsx();
const { serveCalls } = await import('./helper.js');
serveCalls();
