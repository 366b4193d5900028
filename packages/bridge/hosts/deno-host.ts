/**
 * Serves an ASGI-TS app on Deno with @tsgi/bridge/deno:
 *
 *   deno run -A node_modules/@tsgi/bridge/hosts/deno-host.ts /path/to/app.ts:app 8000 [hostname]
 *
 * The conformance suite runs it as `--server-cmd "deno run -A <this file> {app} {port}"`.
 */
import { serve } from '../dist/hosts/deno.js';
import { runHost } from '../dist/hosts/host-main.js';

/** The part of the Deno namespace this script uses. */
declare const Deno: {
  args: string[];
  addSignalListener(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void;
  exit(code: number): never;
};

await runHost({
  serve,
  args: Deno.args,
  onSignal: (signal, listener) => Deno.addSignalListener(signal, listener),
  exit: (code) => Deno.exit(code),
});
