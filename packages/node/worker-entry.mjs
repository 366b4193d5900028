// Entry of each @tsgi/node worker process (serve({ workers: N })): a forked
// process does not inherit the loader hooks its parent registered in code, so
// it registers tsx itself (for .ts apps, and for the server's own source when
// run from src/), then runs the server module the primary named.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

// Both hooks: .ts files in a package without "type": "module" are CommonJS.
registerEsm();
registerCjs();
const { serverModule } = JSON.parse(process.env.TSGI_PROCESS_WORKER ?? '{}');
const { runWorkerProcess } = await import(serverModule);
await runWorkerProcess();
