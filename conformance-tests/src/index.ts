/**
 * @tsgi/conformance: the black-box ASGI/WSGI conformance suite. Run it with
 * the `tsgi-conformance` command, or from a test file with `runChecks`
 * (plain) or `conformanceSuite` from `@tsgi/conformance/vitest`.
 */
export * from './check.js';
export * from './json-bytes.js';
export * from './raw-http.js';
export * from './raw-ws.js';
export * from './runner.js';
export * from './server-process.js';
export * from './clauses.js';
export * from './coverage.js';
export { allChecks, asgiHttpChecks, asgiWebSocketChecks, http2Checks, httpWireChecks, wsgiChecks } from './checks/index.js';
export { main } from './cli.js';
