// The `tsgi-conformance` command run from the workspace's TypeScript source, as the docs tests start it
// (node --conditions=source --import tsx run-conformance.ts --interface …): no build needed.
import { main } from '@tsgi/conformance';

process.exitCode = await main(process.argv.slice(2));
