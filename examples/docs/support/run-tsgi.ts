// The `tsgi` command run from the workspace's TypeScript source, as the docs tests start it
// (node --conditions=source --import tsx run-tsgi.ts serve …): no build needed.
import { main } from '@tsgi/cli';

process.exit(await main(process.argv.slice(2)));
