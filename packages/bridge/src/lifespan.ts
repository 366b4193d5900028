/**
 * The app side of the lifespan protocol, for apps the bridge makes that need
 * no startup or shutdown work of their own. The host side (driving an app
 * through startup and shutdown) is the server layer's LifespanRunner.
 */
import type { Receive, Send } from '@tsgi/core';

/**
 * Answers a lifespan scope for an app that needs no startup or shutdown work
 * (a fetch handler, a bridged sync app): complete, complete, return. Optional
 * hooks run at each phase; a hook that throws is reported as `*.failed`.
 */
export async function answerLifespan(
  receive: Receive,
  send: Send,
  hooks: { startup?: () => void | Promise<void>; shutdown?: () => void | Promise<void> } = {},
): Promise<void> {
  for (;;) {
    const event = await receive();
    if (event.type === 'lifespan.startup') {
      try {
        await hooks.startup?.();
      } catch (e) {
        await send({ type: 'lifespan.startup.failed', message: errorMessage(e) });
        return;
      }
      await send({ type: 'lifespan.startup.complete' });
    } else if (event.type === 'lifespan.shutdown') {
      try {
        await hooks.shutdown?.();
      } catch (e) {
        await send({ type: 'lifespan.shutdown.failed', message: errorMessage(e) });
        return;
      }
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
