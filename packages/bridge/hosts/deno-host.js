// @ts-check
/**
 * Serves an ASGI-TS app on Deno with @tsgi/bridge/deno:
 *
 *   deno run -A node_modules/@tsgi/bridge/hosts/deno-host.js app.ts:app 8000 [hostname]
 *
 * The conformance suite runs it as `--server-cmd "deno run -A <this file> {app} {port}"`.
 * Plain JavaScript (type-checked from its JSDoc): Deno does not strip types
 * from files under node_modules, where an installed package lives.
 */
import { serve } from '../dist/hosts/deno.js';
import { runHost } from '../dist/hosts/host-main.js';

/**
 * The part of the Deno namespace this script uses.
 * @type {{ args: string[]; addSignalListener(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void; exit(code: number): never }}
 */
const Deno = /** @type {any} */ (globalThis).Deno;

await runHost({
  serve,
  args: Deno.args,
  onSignal: (signal, listener) => Deno.addSignalListener(signal, listener),
  exit: (code) => Deno.exit(code),
});
