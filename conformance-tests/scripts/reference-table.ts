/**
 * Runs the suite against every reference server and tsgi server configuration
 * and prints the table of docs/conformance.md (servers as columns, clause
 * groups as rows) followed by every failure with its detail.
 *
 *   npx tsc -b && npx tsx conformance-tests/scripts/reference-table.ts > /tmp/table.md
 *   npx tsx conformance-tests/scripts/reference-table.ts 'tsgi node' > /tmp/column.md   (only the servers named)
 *
 * Takes a few minutes (each server runs the whole suite); not part of `vitest run`.
 */
import { fileURLToPath } from 'node:url';
import { WSGI_WEBSOCKET_SKIP, runChecks, startServer, type CheckResult, type Interface } from '../src/index.js';
import { runtimeBinary } from '../../scripts/js-runtimes.js';

const TSGI = fileURLToPath(new URL('../../packages/cli/bin/tsgi.js', import.meta.url));
const PY = 'cd {python_dir} &&';
const HOSTS = fileURLToPath(new URL('../../packages/bridge/hosts', import.meta.url));
const BUN = runtimeBinary('bun');
const DENO = runtimeBinary('deno');

const SERVERS: Array<{ name: string; iface: Interface; command: string }> = [
  { name: 'uvicorn 0.17.6', iface: 'asgi', command: `${PY} /usr/bin/python3 -m uvicorn asgi_app:app --host {host} --port {port} --log-level warning` },
  { name: 'hypercorn 0.13.2', iface: 'asgi', command: `${PY} /usr/bin/hypercorn --bind {host}:{port} asgi_app:app` },
  { name: 'daphne 4.0.0', iface: 'asgi', command: `${PY} /usr/bin/daphne -b {host} -p {port} asgi_app:app` },
  { name: 'tsgi uws', iface: 'asgi', command: `node ${TSGI} serve {app} --host {host} --port {port} --server uws --no-access-log --log-level critical` },
  { name: 'tsgi node', iface: 'asgi', command: `node ${TSGI} serve {app} --host {host} --port {port} --server node --no-access-log --log-level critical` },
  { name: 'tsgi bridge/bun (Bun 1.4.5)', iface: 'asgi', command: `${BUN} run ${HOSTS}/bun-host.js {app} {port} {host}` },
  { name: 'tsgi bridge/deno (Deno 2.9.6)', iface: 'asgi', command: `${DENO} run -A ${HOSTS}/deno-host.js {app} {port} {host}` },
  { name: 'gunicorn 20.1 gthread', iface: 'wsgi', command: `${PY} /usr/bin/gunicorn -b {host}:{port} -k gthread --threads 4 --log-level warning wsgi_app:app` },
  { name: 'gunicorn 20.1 sync', iface: 'wsgi', command: `${PY} /usr/bin/gunicorn -b {host}:{port} -k sync --log-level warning wsgi_app:app` },
  { name: 'waitress 2.1.2', iface: 'wsgi', command: `${PY} /usr/bin/waitress-serve --host {host} --port {port} wsgi_app:app` },
  { name: 'tsgi pool', iface: 'wsgi', command: `node ${TSGI} serve {app} --host {host} --port {port} --server pool --no-access-log --log-level critical` },
  { name: 'tsgi bridge (uws)', iface: 'wsgi', command: `node ${TSGI} serve {app} --host {host} --port {port} --server uws --no-access-log --log-level critical` },
  { name: 'tsgi bridge (node)', iface: 'wsgi', command: `node ${TSGI} serve {app} --host {host} --port {port} --server node --no-access-log --log-level critical` },
];

/** The row a clause id belongs to: its first two parts (`asgi.http`, `wsgi.environ`, ...), split further for websocket wire rules. */
function group(id: string): string {
  const p = id.split('.');
  if (p[1] === 'websocket' && (p[2] === 'protocol' || p[2] === 'handshake')) return 'asgi.websocket (RFC 6455 wire)';
  return `${p[0]}.${p[1]}`;
}

// Server names given as arguments run only those columns (to add a column to the table without running every server).
const only = process.argv.slice(2);
const runs: Array<{ name: string; iface: Interface; results: CheckResult[] | null; error?: string }> = [];
for (const s of SERVERS.filter((x) => only.length === 0 || only.includes(x.name))) {
  process.stderr.write(`running ${s.name}...\n`);
  try {
    const server = await startServer({ iface: s.iface, command: s.command });
    const results = await runChecks({
      target: { host: server.host, port: server.port, iface: s.iface, timeoutMs: 3000, stateDir: server.stateDir, shutdownToken: server.shutdownToken },
      stop: async () => void (await server.stop()),
    });
    runs.push({ name: s.name, iface: s.iface, results });
  } catch (e) {
    runs.push({ name: s.name, iface: s.iface, results: null, error: (e as Error).message.split('\n')[0] });
  }
}

const groups = [...new Set(runs.flatMap((r) => (r.results ?? []).flatMap((x) => x.clauses.map(group))))].sort();
const lines = [`| Clause group | ${runs.map((r) => r.name).join(' | ')} |`, `|---|${runs.map(() => '---').join('|')}|`];
for (const g of groups) {
  const cells = runs.map((r) => {
    if (!r.results) return 'did not start';
    // WebSocket checks skipped for a WSGI server are not applicable there, not missing features.
    const inGroup = r.results.filter((x) => x.detail !== WSGI_WEBSOCKET_SKIP && x.clauses.some((c) => group(c) === g));
    if (inGroup.length === 0) return '—';
    const pass = inGroup.filter((x) => x.status === 'pass').length;
    const fail = inGroup.filter((x) => x.status === 'fail').length;
    const skip = inGroup.filter((x) => x.status === 'skip').length;
    return `${pass}/${inGroup.length - skip}${skip ? ` (+${skip} skipped)` : ''}${fail ? ' ✗' : ' ✓'}`;
  });
  lines.push(`| \`${g}\` | ${cells.join(' | ')} |`);
}
lines.push(`| **all checks** | ${runs.map((r) => (r.results ? `${r.results.filter((x) => x.status === 'pass').length} passed, ${r.results.filter((x) => x.status === 'fail').length} failed, ${r.results.filter((x) => x.status === 'skip').length} skipped` : 'did not start')).join(' | ')} |`);
console.log(lines.join('\n'));
console.log();
for (const r of runs) {
  console.log(`### ${r.name}${r.error ? `: ${r.error}` : ''}`);
  for (const x of r.results ?? []) if (x.status === 'fail') console.log(`- \`${x.id}\` (${x.clauses.join(', ')}): ${x.detail}`);
  console.log();
}
