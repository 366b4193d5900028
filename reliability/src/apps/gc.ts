/**
 * What a test app's `GET /gc` runs: a full garbage collection when the server runs
 * with `--expose-gc`, so a leak test measures what the server keeps, not
 * what V8 has yet to collect.
 */

/**
 * The answer of a test app's GET /gc: after a full collection, 200 with the
 * bytes JavaScript still holds (V8's heap in use plus ArrayBuffers and other
 * external memory); 404 when the process was not started with --expose-gc.
 */
export function collectGarbage(): { status: 200 | 404; text: string } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return { status: 404, text: 'start the server with --expose-gc' };
  gc();
  const m = process.memoryUsage();
  return { status: 200, text: String(m.heapUsed + m.external) };
}

/** The environment that makes a server child process answer GET /gc: node's --expose-gc added to NODE_OPTIONS. */
export function exposeGcEnv(): { NODE_OPTIONS: string } {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() };
}
