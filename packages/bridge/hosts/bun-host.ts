/**
 * Serves an ASGI-TS app on Bun with @tsgi/bridge/bun:
 *
 *   bun run node_modules/@tsgi/bridge/hosts/bun-host.ts /path/to/app.ts:app 8000 [hostname]
 *
 * The conformance suite runs it as `--server-cmd "bun run <this file> {app} {port}"`.
 */
import { serve } from '../dist/hosts/bun.js';
import { runHost } from '../dist/hosts/host-main.js';

await runHost({
  serve,
  args: process.argv.slice(2),
  onSignal: (signal, listener) => void process.on(signal, listener),
  exit: (code) => process.exit(code),
});
