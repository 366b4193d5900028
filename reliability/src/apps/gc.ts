/**
 * What a test app's `GET /gc` runs: a full garbage collection when the server runs
 * with `--expose-gc`, so a leak test measures what the server keeps, not
 * what V8 has yet to collect.
 */

/** Runs a full collection; false when the process was not started with --expose-gc. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  return true;
}

/** What JavaScript holds, in bytes: V8's heap in use plus ArrayBuffers and other external memory. */
export function heldByJavaScript(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** The environment that makes a server child process answer GET /gc: node's --expose-gc added to NODE_OPTIONS. */
export function exposeGcEnv(): { NODE_OPTIONS: string } {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() };
}
