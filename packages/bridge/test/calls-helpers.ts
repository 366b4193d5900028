/** What the calls tests share: reading what the fixtures saw, and waiting for it. */

/** What fixtures/calls-async.ts noted: keys whose call started, and keys whose call saw its signal abort. */
export function callsProbe(): { started: string[]; aborted: string[] } {
  return (globalThis as { __tsgiCallsProbe?: { started: string[]; aborted: string[] } }).__tsgiCallsProbe ?? { started: [], aborted: [] };
}

/** Resolves once `check()` holds; rejects after `ms` (generous: thread replacement is slow on a loaded machine). */
export async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** For tests that replace or start worker threads: far longer than they take, so a loaded CI machine does not fail them. */
export const THREADS_TEST_TIMEOUT = 60_000;
