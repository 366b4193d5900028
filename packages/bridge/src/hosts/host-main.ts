/**
 * The command line of the host scripts (hosts/bun-host.js, hosts/deno-host.js):
 * `<host> /path/to/app.ts:app <port> [hostname]`, the form the conformance
 * suite's `{app} {port}` fills in. It imports the app, serves it, and on
 * SIGINT or SIGTERM closes gracefully (lifespan shutdown included) and exits;
 * a second signal exits at once.
 * Each script passes its runtime's serve(), arguments, signal hook and exit.
 */
import type { AsgiApplication } from '@tsgi/core';
import { resolve } from 'node:path';
import { importApp } from '@tsgi/core/server';
import type { HostHandle, HostServeOptions } from './fetch-host.js';

/** What a host script hands over from its runtime. */
export interface HostRuntime {
  serve(app: AsgiApplication, options: HostServeOptions): Promise<HostHandle>;
  /** The command-line arguments after the script. */
  args: readonly string[];
  onSignal(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void;
  exit(code: number): never;
}

const USAGE = 'usage: <host script> /path/to/app.ts[:export] <port> [hostname]';

/** Runs a host script: serves the app named on the command line until SIGINT or SIGTERM. */
export async function runHost(runtime: HostRuntime): Promise<void> {
  const [spec, portText, hostname = '127.0.0.1'] = runtime.args;
  const port = Number(portText);
  if (spec === undefined || !Number.isInteger(port)) {
    console.error(`${USAGE}\n(got ${JSON.stringify(runtime.args)})`);
    runtime.exit(2);
  }
  // A Windows path has a colon after its drive letter: the export is after the last colon past it.
  const colon = spec.lastIndexOf(':');
  const [file, exportName] = colon > 1 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, 'app'];
  // A relative path is the shell's, from the working directory (as `tsgi serve app.ts:app` reads it); a URL stays.
  const module = /^[a-z][a-z0-9+.-]*:\/\//i.test(file) ? file : resolve(file);
  let handle: HostHandle;
  try {
    const app = await importApp<AsgiApplication>({ module, exportName }, 'ASGI-TS');
    handle = await runtime.serve(app, { port, hostname });
  } catch (e) {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    return runtime.exit(1);
  }
  let stopping = false;
  const stop = (): void => {
    // close() waits for open requests and WebSockets as long as they last; a second signal does not wait.
    if (stopping) return runtime.exit(1);
    stopping = true;
    handle.close().then(
      () => runtime.exit(0),
      (e: unknown) => {
        console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        runtime.exit(1);
      },
    );
  };
  runtime.onSignal('SIGINT', stop);
  runtime.onSignal('SIGTERM', stop);
}
