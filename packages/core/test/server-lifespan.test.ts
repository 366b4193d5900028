import { describe, expect, it } from 'vitest';
import { LifespanShutdownFailed, LifespanStartupFailed, type AsgiApplication } from '@tsgi/core';
import { LifespanRunner, type Logger } from '@tsgi/core/server';

function recordingLogger(): Logger & { lines: string[]; errors: unknown[] } {
  const lines: string[] = [];
  const errors: unknown[] = [];
  return {
    lines,
    errors,
    debug: (m) => lines.push(`debug: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m, e) => {
      lines.push(`error: ${m}`);
      if (e !== undefined) errors.push(e);
    },
    access: (m) => lines.push(`access: ${m}`),
  };
}

/** Settles with 'settled' if `p` settles within `ms`, else 'hung' (so a hang fails fast instead of timing out). */
async function within<T>(p: Promise<T>, ms = 300): Promise<'settled' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => 'settled' as const, () => 'settled' as const), new Promise<'hung'>((resolve) => (timer = setTimeout(resolve, ms, 'hung')))]);
  clearTimeout(timer);
  return r;
}

type Msg = { type: string; message?: string };

/** A well-behaved lifespan app: answers startup and shutdown as told, records what it received. */
function lifespanApp(opts: { startup?: 'complete' | 'failed'; shutdown?: 'complete' | 'failed' | 'raise'; message?: string; onStartup?: (state: Record<string, unknown>) => void } = {}) {
  const received: string[] = [];
  const app: AsgiApplication = async (scope, receive, send) => {
    if (scope.type !== 'lifespan') return;
    for (;;) {
      const m = (await receive()) as Msg;
      received.push(m.type);
      if (m.type === 'lifespan.startup') {
        if (opts.startup === 'failed') {
          await send({ type: 'lifespan.startup.failed', message: opts.message ?? '' });
          return;
        }
        opts.onStartup?.(scope.state as Record<string, unknown>);
        await send({ type: 'lifespan.startup.complete' });
      } else if (m.type === 'lifespan.shutdown') {
        if (opts.shutdown === 'raise') throw new Error(opts.message ?? 'shutdown exploded');
        if (opts.shutdown === 'failed') await send({ type: 'lifespan.shutdown.failed', message: opts.message ?? '' });
        else await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
    }
  };
  return { app, received };
}

describe("LifespanRunner: mode 'off'", () => {
  it('never calls the app, and startup and shutdown resolve', async () => {
    let calls = 0;
    const runner = new LifespanRunner(async () => void calls++, { mode: 'off' });
    await runner.startup();
    expect(runner.supported).toBe(false);
    await runner.shutdown();
    expect(await within(runner.finished)).toBe('settled');
    expect(calls).toBe(0);
  });
});

describe("LifespanRunner: mode 'auto'", () => {
  it('serves without lifespan when the app raises before answering startup', async () => {
    const logger = recordingLogger();
    const runner = new LifespanRunner(
      async () => {
        throw new Error('unsupported scope type lifespan');
      },
      { logger },
    );
    await expect(runner.startup()).resolves.toBeUndefined();
    expect(runner.supported).toBe(false);
    expect(logger.lines).toContain('info: Waiting for application startup.');
    expect(logger.lines).toContain("info: ASGI 'lifespan' protocol appears unsupported.");
    expect(logger.lines.filter((l) => l.startsWith('error:'))).toEqual([]);
    expect(await within(runner.shutdown())).toBe('settled');
  });

  it('counts a synchronous throw of the app as raising', async () => {
    const app = (() => {
      throw new Error('sync');
    }) as unknown as AsgiApplication;
    const runner = new LifespanRunner(app, { mode: 'auto' });
    await expect(runner.startup()).resolves.toBeUndefined();
    expect(runner.supported).toBe(false);
  });

  it('serves without lifespan when the app returns at once', async () => {
    const runner = new LifespanRunner(async () => {}, { mode: 'auto' });
    await expect(runner.startup()).resolves.toBeUndefined();
    expect(runner.supported).toBe(false);
    expect(await within(runner.finished)).toBe('settled');
    expect(await within(runner.shutdown())).toBe('settled');
  });
});

describe("LifespanRunner: mode 'on'", () => {
  it('fails startup when the app raises, with the error as cause and its message as appMessage', async () => {
    const logger = recordingLogger();
    const boom = new Error('cannot reach the database');
    const runner = new LifespanRunner(
      async () => {
        throw boom;
      },
      { mode: 'on', logger },
    );
    const err = await runner.startup().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LifespanStartupFailed);
    expect((err as LifespanStartupFailed).appMessage).toBe('cannot reach the database');
    expect((err as LifespanStartupFailed).cause).toBe(boom);
    expect(logger.lines).toContain('error: Application startup failed: cannot reach the database');
    expect(logger.errors).toContain(boom);
  });

  it('fails startup when the app returns without answering', async () => {
    const runner = new LifespanRunner(async () => {}, { mode: 'on' });
    const err = await runner.startup().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifespanStartupFailed);
    expect((err as LifespanStartupFailed).appMessage).toMatch(/lifespan/);
  });
});

describe('LifespanRunner: the app answers', () => {
  it.each([['auto'], ['on']] as const)("fails startup on lifespan.startup.failed in mode '%s', with the app's message", async (mode) => {
    const logger = recordingLogger();
    const { app } = lifespanApp({ startup: 'failed', message: 'config missing' });
    const runner = new LifespanRunner(app, { mode, logger });
    const err = await runner.startup().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifespanStartupFailed);
    expect((err as LifespanStartupFailed).appMessage).toBe('config missing');
    expect((err as Error).message).toBe('config missing');
    expect(logger.lines).toContain('error: Application startup failed: config missing');
    expect(logger.lines).not.toContain('info: Application startup complete.');
  });

  it('runs startup and shutdown, logging each step, and the state the app fills is runner.state', async () => {
    const logger = recordingLogger();
    const { app, received } = lifespanApp({ onStartup: (state) => (state.db = 'connected') });
    const runner = new LifespanRunner(app, { logger });
    expect(runner.phase).toBe('idle');
    await runner.startup();
    expect(runner.supported).toBe(true);
    expect(runner.phase).toBe('started');
    expect(runner.state).toEqual({ db: 'connected' });
    expect(received).toEqual(['lifespan.startup']);
    expect(logger.lines).toEqual(['info: Waiting for application startup.', 'info: Application startup complete.']);

    let finished = false;
    void runner.finished.then(() => (finished = true));
    await Promise.resolve();
    expect(finished).toBe(false);

    await runner.shutdown();
    expect(received).toEqual(['lifespan.startup', 'lifespan.shutdown']);
    expect(logger.lines.slice(2)).toEqual(['info: Waiting for application shutdown.', 'info: Application shutdown complete.']);
    expect(await within(runner.finished)).toBe('settled');
  });

  it('fills the state object it was given', async () => {
    const state: Record<string, unknown> = { preset: 1 };
    const { app } = lifespanApp({ onStartup: (s) => (s.added = 2) });
    const runner = new LifespanRunner(app, { state });
    await runner.startup();
    expect(runner.state).toBe(state);
    expect(state).toEqual({ preset: 1, added: 2 });
  });

  it('rejects shutdown with LifespanShutdownFailed on lifespan.shutdown.failed', async () => {
    const logger = recordingLogger();
    const { app } = lifespanApp({ shutdown: 'failed', message: 'flush failed' });
    const runner = new LifespanRunner(app, { logger });
    await runner.startup();
    const err = await runner.shutdown().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifespanShutdownFailed);
    expect((err as LifespanShutdownFailed).appMessage).toBe('flush failed');
    expect(logger.lines).toContain('error: Application shutdown failed: flush failed');
  });

  it('rejects shutdown with LifespanShutdownFailed, cause the error, when the app raises during shutdown', async () => {
    const { app } = lifespanApp({ shutdown: 'raise', message: 'close exploded' });
    const runner = new LifespanRunner(app);
    await runner.startup();
    const err = await runner.shutdown().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifespanShutdownFailed);
    expect((err as LifespanShutdownFailed).appMessage).toBe('close exploded');
    expect(((err as Error).cause as Error).message).toBe('close exploded');
  });

  it('resolves shutdown when the app returns during shutdown without answering it', async () => {
    const runner = new LifespanRunner(async (scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.startup.complete' });
      await receive(); // lifespan.shutdown
    });
    await runner.startup();
    expect(await within(runner.shutdown())).toBe('settled');
    await expect(runner.shutdown()).resolves.toBeUndefined();
  });

  it('resolves shutdown, without hanging, when the app already returned after startup', async () => {
    const runner = new LifespanRunner(async (_scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.startup.complete' });
    });
    await runner.startup();
    await runner.finished;
    expect(await within(runner.shutdown())).toBe('settled');
  });

  it('resolves shutdown, without hanging, when it is called before the returning app is seen to have returned', async () => {
    // startup() resolves as soon as startup.complete is sent; the app returns right after, while shutdown() waits.
    const runner = new LifespanRunner(async (_scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.startup.complete' });
    });
    await runner.startup();
    expect(await within(runner.shutdown())).toBe('settled');
  });

  it('resolves shutdown, without hanging, when the app ends after startup without receiving again', async () => {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const runner = new LifespanRunner(async (_scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.startup.complete' });
      await ended; // e.g. a background task the app awaits instead of receive()
    });
    await runner.startup();
    const shutdown = runner.shutdown();
    end();
    expect(await within(shutdown)).toBe('settled');
  });

  it('makes shutdown a no-op after a failed startup', async () => {
    const logger = recordingLogger();
    const { app, received } = lifespanApp({ startup: 'failed', message: 'x' });
    const runner = new LifespanRunner(app, { logger });
    await runner.startup().catch(() => {});
    const before = logger.lines.length;
    expect(await within(runner.shutdown())).toBe('settled');
    await expect(runner.shutdown()).resolves.toBeUndefined();
    expect(received).toEqual(['lifespan.startup']);
    expect(logger.lines.length).toBe(before);
  });

  it('resolves finished when the app returns, not before', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const runner = new LifespanRunner(async (_scope, receive, send) => {
      await receive();
      await send({ type: 'lifespan.startup.complete' });
      await gate;
    });
    await runner.startup();
    expect(await within(runner.finished, 50)).toBe('hung');
    release();
    expect(await within(runner.finished)).toBe('settled');
  });

  it('throws when startup() is called twice', async () => {
    const { app } = lifespanApp();
    const runner = new LifespanRunner(app);
    await runner.startup();
    await expect(runner.startup()).rejects.toThrow(/only once/);
    const off = new LifespanRunner(app, { mode: 'off' });
    await off.startup();
    await expect(off.startup()).rejects.toThrow(/only once/);
  });

  it('gives the app a lifespan scope with the ASGI version and the state', async () => {
    let seen: Record<string, unknown> | undefined;
    const state = {};
    const runner = new LifespanRunner(
      async (scope, receive, send) => {
        seen = scope as unknown as Record<string, unknown>;
        await receive();
        await send({ type: 'lifespan.startup.complete' });
      },
      { state },
    );
    await runner.startup();
    expect(seen?.type).toBe('lifespan');
    expect((seen?.asgi as { version: string }).version).toBe('3.0');
    expect(seen?.state).toBe(state);
  });
});
