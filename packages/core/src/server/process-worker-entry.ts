/** What each worker process of serveProcesses runs (process-workers.ts). */
import { runProcessWorker } from './process-workers.js';

await runProcessWorker();
