/**
 * The suite against reference servers (Debian's uvicorn and gunicorn, listed
 * in scripts/system-deps.txt) hosting the Python ports of the conformance
 * apps. Their failures are known and explained in data/known-failures.json;
 * the test asserts exactly that set, so a check that starts failing (a wrong
 * check, or a broken port) fails the test, and so does one that starts passing.
 * Debian's hypercorn is the reference of the HTTP/2 checks (h2c), which only a
 * server that speaks HTTP/2 runs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTools, type Tool } from '../../scripts/system-tools.js';
import { http2Checks, runChecks, startServer, type Check, type CheckResult, type Interface, type StartedServer } from '../src/index.js';

interface KnownFailures {
  [server: string]: { interface: Interface; command: string; failures: Record<string, string> };
}

const known = JSON.parse(readFileSync(new URL('../data/known-failures.json', import.meta.url), 'utf8')) as KnownFailures;

/**
 * Runs `checks` (the interface's whole suite by default) against the reference server `name` of
 * data/known-failures.json once, and hands its results to `tests`.
 */
function againstReference(name: string, tool: Tool, title: string, checks: Check[] | undefined, tests: (results: () => CheckResult[], ref: KnownFailures[string]) => void): void {
  const ref = known[name]!;
  const tools = needTools('conformance-tests/test/reference-servers.test.ts', tool);
  describe.skipIf(tools.skip)(`${title}${tools.note}`, () => {
    let server: StartedServer;
    let results: CheckResult[];
    beforeAll(async () => {
      server = await startServer({ iface: ref.interface, command: ref.command, startTimeoutMs: 60_000 });
      results = await runChecks({
        target: { host: server.host, port: server.port, iface: ref.interface, timeoutMs: 3000, stateDir: server.stateDir, shutdownToken: server.shutdownToken },
        stop: async () => void (await server.stop()),
        ...(checks === undefined ? {} : { checks }),
      });
    }, 240_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('fails exactly the known, explained checks', () => {
      const failed = Object.fromEntries(results.filter((r) => r.status === 'fail').map((r) => [r.id, r.detail]));
      expect(Object.keys(failed).sort(), JSON.stringify(failed, null, 1)).toEqual(Object.keys(ref.failures).sort());
    });
    tests(() => results, ref);
  });
}

for (const name of ['uvicorn', 'gunicorn'] as const) {
  againstReference(name, name, `the suite against ${name} (${known[name]!.interface})`, undefined, (results) => {
    it('runs every check of the interface and passes the rest', () => {
      expect(results().filter((r) => r.status !== 'skip').length).toBeGreaterThan(80);
      expect(results().filter((r) => r.status === 'pass').length).toBeGreaterThan(results().filter((r) => r.status !== 'skip').length * 0.8);
    });
  });
}

againstReference('hypercorn (HTTP/2)', 'hypercorn', 'the HTTP/2 checks against hypercorn over h2c', http2Checks, (results, ref) => {
  it('passes the others', () => {
    // The TLS checks skip: hypercorn runs here on plain TCP.
    expect(results().filter((r) => r.status === 'pass').map((r) => r.id).sort()).toEqual(results().filter((r) => r.status !== 'skip' && !(r.id in ref.failures)).map((r) => r.id).sort());
    expect(results().filter((r) => r.status === 'skip').map((r) => r.id).sort()).toEqual(['h2-tls-extension', 'h2-tls-scheme']);
  });
});
