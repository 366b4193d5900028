/**
 * The suite against tsgi's own servers, where every in-scope check must pass
 * except the known failures listed, each with its reason, in
 * data/known-failures.json (what uWebSockets.js v20.30 itself does before tsgi
 * sees a request or to a request pipelined behind a pending response, and the
 * WSGI reason phrase that ASGI cannot carry). Those run as expected failures, so
 * a fix makes the test fail until the entry is removed:
 * @tsgi/uws (`tsgi serve --server uws`) and @tsgi/node (`tsgi serve --server
 * node`, no known failure at all) hosting the ASGI-TS conformance app, the
 * same app on Bun and Deno through @tsgi/bridge's host scripts (the known
 * failures being each runtime's own behavior),
 * @tsgi/pool hosting the WSGI-TS one through its programmatic `serve()`, all
 * in library mode (`conformanceSuite`, one vitest test per check, as a server
 * author's test file would do), and the bridge (the WSGI-TS app on
 * `tsgi serve --server uws`, and on `--server node` with no known failure)
 * through `runChecks`, as the CLI runs any server.
 */
import { serve as servePool } from '@tsgi/pool';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http2Checks, runChecks, startServer, type CheckResult, type StartedServer } from '../src/index.js';
import { conformanceSuite } from '../src/vitest.js';
import { RUN_ARGS, runtimeBinary } from '../../scripts/js-runtimes.js';

const known = JSON.parse(readFileSync(new URL('../data/known-failures.json', import.meta.url), 'utf8')) as Record<string, { failures: Record<string, string> }>;
const TSGI = fileURLToPath(new URL('../../packages/cli/bin/tsgi.js', import.meta.url));

conformanceSuite({
  interface: 'asgi',
  name: '@tsgi/uws (tsgi serve --server uws)',
  timeoutMs: 3000,
  knownFailures: known['@tsgi/uws']!.failures,
  async start(appPath) {
    const server = await startServer({ iface: 'asgi', command: `node ${TSGI} serve ${appPath} --host {host} --port {port} --server uws --no-access-log --log-level critical`, startTimeoutMs: 60_000 });
    return { url: `http://${server.host}:${server.port}`, close: async () => void (await server.stop()), stateDir: server.stateDir, shutdownToken: server.shutdownToken };
  },
});

conformanceSuite({
  interface: 'asgi',
  name: '@tsgi/node (tsgi serve --server node)',
  timeoutMs: 3000,
  // No knownFailures: node:http and ws pass every check (issue 15).
  async start(appPath) {
    const server = await startServer({ iface: 'asgi', command: `node ${TSGI} serve ${appPath} --host {host} --port {port} --server node --no-access-log --log-level critical`, startTimeoutMs: 60_000 });
    return { url: `http://${server.host}:${server.port}`, close: async () => void (await server.stop()), stateDir: server.stateDir, shutdownToken: server.shutdownToken };
  },
});

// HTTP/2 on @tsgi/node: the HTTP/2 checks over h2c (prior knowledge on the plain port) and over h2 (ALPN on a TLS port).
function nodeOverHttp2(name: string, tlsFlags: string, scheme: 'http' | 'https'): void {
  conformanceSuite({
    interface: 'asgi',
    name,
    timeoutMs: 3000,
    checks: http2Checks,
    async start(appPath) {
      const server = await startServer({ iface: 'asgi', command: `node ${TSGI} serve ${appPath} --host {host} --port {port} --server node ${tlsFlags} --no-access-log --log-level critical`, startTimeoutMs: 60_000 });
      return { url: `${scheme}://${server.host}:${server.port}`, close: async () => void (await server.stop()), stateDir: server.stateDir, shutdownToken: server.shutdownToken };
    },
  });
}
nodeOverHttp2('@tsgi/node over h2c (tsgi serve --server node, HTTP/2 prior knowledge)', '', 'http');
// A self-signed certificate made here: the HTTP/2 client of the checks does not verify it.
const certDir = mkdtempSync(join(tmpdir(), 'tsgi-conformance-tls-'));
const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
describe.skipIf(made.status !== 0)('with a certificate from openssl', () => {
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));
  nodeOverHttp2('@tsgi/node over h2 (tsgi serve --server node --ssl-certfile, ALPN h2)', `--ssl-certfile ${join(certDir, 'cert.pem')} --ssl-keyfile ${join(certDir, 'key.pem')}`, 'https');
});

// ASGI-TS apps on Bun and Deno (@tsgi/bridge/bun, @tsgi/bridge/deno) through their shipped host scripts, run by the
// binaries of the pinned npm packages (deno's npm bin is a Node wrapper); the known failures are each runtime's own.
const RUNTIME_HOSTS = (['bun', 'deno'] as const).map((runtime) => ({
  name: `@tsgi/bridge/${runtime}`,
  binary: runtimeBinary(runtime),
  run: RUN_ARGS[runtime].join(' '),
  script: `${runtime}-host.js`,
}));
for (const host of RUNTIME_HOSTS) {
  const script = fileURLToPath(new URL(`../../packages/bridge/hosts/${host.script}`, import.meta.url));
  conformanceSuite({
    interface: 'asgi',
    name: `${host.name} (packages/bridge/hosts/${host.script})`,
    timeoutMs: 3000,
    knownFailures: known[host.name]!.failures,
    async start(appPath) {
      const server = await startServer({ iface: 'asgi', command: `${host.binary} ${host.run} ${script} ${appPath} {port} {host}`, startTimeoutMs: 60_000 });
      return { url: `http://${server.host}:${server.port}`, close: async () => void (await server.stop()), stateDir: server.stateDir, shutdownToken: server.shutdownToken };
    },
  });
}

conformanceSuite({
  interface: 'wsgi',
  name: '@tsgi/pool (library mode)',
  timeoutMs: 3000,
  async start(_appPath, app) {
    const h = await servePool({ module: app.path, exportName: app.exportName }, { host: '127.0.0.1', port: 0, threads: 4, accessLog: false, logLevel: 'critical' });
    return { url: h.url, close: () => h.close() };
  },
});

/** The bridge on `server`: the WSGI-TS conformance app run by `tsgi serve --server <server>`, every check but `knownFailures` passing. */
function bridgeOn(server: 'uws' | 'node', knownFailures: Record<string, string>): void {
  describe(`the bridge: a WSGI-TS app on \`tsgi serve --server ${server}\``, () => {
    let started: StartedServer;
    let results: CheckResult[];
    beforeAll(async () => {
      started = await startServer({ iface: 'wsgi', command: `node ${TSGI} serve {app} --host {host} --port {port} --server ${server} --no-access-log --log-level critical`, startTimeoutMs: 60_000 });
      results = await runChecks({
        target: { host: started.host, port: started.port, iface: 'wsgi', timeoutMs: 3000, stateDir: started.stateDir, shutdownToken: started.shutdownToken },
        stop: async () => void (await started.stop()),
      });
    }, 240_000);
    afterAll(async () => {
      await started?.stop();
    });

    it(Object.keys(knownFailures).length ? 'passes every in-scope check but the known, explained failures' : 'passes every in-scope check', () => {
      const failed = Object.fromEntries(results.filter((r) => r.status === 'fail').map((r) => [r.id, r.detail]));
      expect(Object.keys(failed).sort(), JSON.stringify(failed, null, 1)).toEqual(Object.keys(knownFailures).sort());
      expect(results.filter((r) => r.status === 'pass').length).toBeGreaterThan(80);
    });
  });
}

bridgeOn('uws', known['bridge']!.failures);
// node:http takes what uWebSockets.js refuses (HTTP/1.0, malformed heads answered 400, many headers, chunk
// extensions, latin-1 header bytes, pipelining behind a pending response): no known failure.
bridgeOn('node', {});
