// @ts-check
/**
 * Serves an ASGI-TS app on Bun with @tsgi/bridge/bun:
 *
 *   bun run node_modules/@tsgi/bridge/hosts/bun-host.js app.ts:app 8000 [hostname]
 *
 * The conformance suite runs it as `--server-cmd "bun run <this file> {app} {port}"`.
 * Plain JavaScript (type-checked from its JSDoc), as its Deno twin must be:
 * Deno does not strip types from files under node_modules.
 */
import { serve } from '../dist/hosts/bun.js';
import { runHost } from '../dist/hosts/host-main.js';

await runHost({
  serve,
  args: process.argv.slice(2),
  onSignal: (signal, listener) => void process.on(signal, listener),
  exit: (code) => process.exit(code),
});
