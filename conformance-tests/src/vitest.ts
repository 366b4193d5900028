/**
 * Library mode: the suite as vitest tests, for a server's own test file.
 *
 *   import { conformanceSuite } from '@tsgi/conformance/vitest';
 *   conformanceSuite({
 *     interface: 'asgi',
 *     start: async (appPath) => { const h = await serve(...); return { url: h.url, close: () => h.close() }; },
 *   });
 *
 * `start` gets the conformance app as `/abs/path/app.ts:app` (and the parts
 * apart); each check becomes one test named after its id and clauses; a check
 * whose feature the server does not announce is reported as skipped.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CheckContext, FeatureProbe, type Check, type Interface, type Target } from './check.js';
import { WSGI_WEBSOCKET_SKIP, notAnnouncedChecks, runCheck, selectChecks } from './runner.js';
import { conformanceApp } from './server-process.js';

/** What `start` must return: where the server listens, and how to stop it. */
export interface StartedForSuite {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
  /**
   * The app's report folder and lifespan-shutdown token, when the server was
   * started with TSGI_CONFORMANCE_STATE_DIR / TSGI_CONFORMANCE_SHUTDOWN_TOKEN
   * (as `startServer` does); without them the after-stop checks are skipped.
   */
  stateDir?: string;
  shutdownToken?: string;
}

/** Options of `conformanceSuite`. */
export interface SuiteOptions {
  interface: Interface;
  /** Starts a server hosting the app at `appPath` (`/abs/path/file.ts:export`). */
  start(appPath: string, app: { path: string; exportName: string }): Promise<StartedForSuite>;
  /** Only checks whose id or a clause id starts with this prefix. */
  only?: string;
  /** The checks to run instead of the whole suite (such as http2Checks, for a server that speaks HTTP/2). */
  checks?: Check[];
  /** Per-check wait, as --timeout-ms (default 5000). */
  timeoutMs?: number;
  /** Name of the describe block. */
  name?: string;
  /**
   * Checks the server is known to fail, by id, each with the reason. They run
   * as expected failures: the test fails if such a check starts passing, so
   * the list cannot outlive the bug it explains.
   */
  knownFailures?: Record<string, string>;
}

/** Declares one vitest test per check of the interface, against a server `start` brings up once. */
export function conformanceSuite(opts: SuiteOptions): void {
  const checks = selectChecks(opts.interface, opts.only, opts.checks);
  const timeoutMs = opts.timeoutMs ?? 5000;
  describe(opts.name ?? `tsgi conformance (${opts.interface})`, () => {
    let started: StartedForSuite | null = null;
    let target: Target | null = null;
    let closing: Promise<void> | null = null;
    const close = () => (closing ??= started ? started.close() : Promise.resolve());
    const probe = new FeatureProbe();
    beforeAll(async () => {
      const app = conformanceApp(opts.interface);
      started = await opts.start(app.spec, { path: app.path, exportName: app.exportName });
      const u = new URL(started.url);
      target = { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port), iface: opts.interface, timeoutMs, secure: u.protocol === 'https:', stateDir: started.stateDir, shutdownToken: started.shutdownToken };
    }, 120_000);
    afterAll(close, 30_000);
    const name = (check: (typeof checks)[number]) => `${check.id} [${check.clauses.filter((c) => c.startsWith(opts.interface)).join(', ')}] ${check.title}`;
    const known = opts.knownFailures ?? {};
    for (const check of checks.filter((c) => !c.afterStop && c.id in known)) {
      it.fails(`${name(check)} (known failure: ${known[check.id]})`, async () => {
        const r = await runCheck(check, target!, probe);
        if (r.status !== 'pass') throw new Error(r.detail);
      }, timeoutMs * 5);
    }
    for (const check of checks.filter((c) => !c.afterStop && !(c.id in known))) {
      it(name(check), async (ctx) => {
        const r = await runCheck(check, target!, probe);
        if (r.status === 'skip') ctx.skip(r.detail);
        if (r.status === 'fail') throw new Error(r.detail);
      }, timeoutMs * 5);
    }
    for (const check of opts.checks === undefined ? notAnnouncedChecks(opts.interface, opts.only) : []) {
      it.skip(`${check.id} [${check.clauses.join(', ')}] ${check.title} (${WSGI_WEBSOCKET_SKIP})`, () => undefined);
    }
    // These stop the server first (vitest runs a file's tests in order), then read what the app recorded.
    for (const check of checks.filter((c) => c.afterStop)) {
      it(name(check), async (ctx) => {
        if (!target!.stateDir) ctx.skip('the server was started without a report folder (stateDir), so what the app did at shutdown cannot be read');
        const announced = check.requires ? await probe.has(check.requires, new CheckContext(target!, probe)) : true;
        await close();
        const r = await runCheck(check, target!, probe, announced);
        if (r.status === 'skip') ctx.skip(r.detail);
        if (r.status === 'fail') throw new Error(r.detail);
      }, timeoutMs * 5);
    }
  });
}
