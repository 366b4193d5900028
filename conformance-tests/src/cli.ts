/**
 * The `tsgi-conformance` command:
 *
 *   tsgi-conformance --interface asgi|wsgi --server-cmd "<cmd with {app} {port}>" [--json report.json] [--only <id-prefix>] [--timeout-ms N]
 *   tsgi-conformance --interface asgi|wsgi --url http://host:port [...]
 *   tsgi-conformance coverage [--markdown] [--json coverage.json]
 *   tsgi-conformance list [--interface asgi|wsgi]
 *
 * Prints one line per check and the closing line `N passed, N failed, N
 * skipped`; exits 1 when a check failed, 2 on bad usage or a server that
 * would not start.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CheckResult, Interface } from './check.js';
import { allChecks } from './checks/index.js';
import { coverage, coverageMarkdown, coverageText } from './coverage.js';
import { formatResult, runChecks, selectChecks, summaryLine } from './runner.js';
import { startServer, type StartedServer } from './server-process.js';

const USAGE = `usage:
  tsgi-conformance --interface asgi|wsgi --server-cmd "<command>" [--json report.json] [--only <id-prefix>] [--timeout-ms N]
  tsgi-conformance --interface asgi|wsgi --url http://host:port [--json report.json] [--only <id-prefix>] [--timeout-ms N]
  tsgi-conformance coverage [--markdown] [--json coverage.json]
  tsgi-conformance list [--interface asgi|wsgi]

The command template may use {app} (/abs/path/app.ts:app, the form \`tsgi serve\` takes),
{app_path}, {app_export}, {port}, {host} and {python_dir} (the folder of the Python ports).
Example: tsgi-conformance --interface asgi --server-cmd "tsgi serve {app} --port {port}"`;

class UsageError extends Error {}

/** Runs the command with `argv` (without node and script); resolves with the exit code. */
export async function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n')): Promise<number> {
  try {
    if (argv[0] === 'coverage') return coverageCommand(argv.slice(1), out);
    if (argv[0] === 'list') return listCommand(argv.slice(1), out);
    return await runCommand(argv, out);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tsgi-conformance: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function parseInterface(v: unknown): Interface {
  if (v !== 'asgi' && v !== 'wsgi') throw new UsageError(`--interface must be asgi or wsgi; got ${JSON.stringify(v ?? null)}`);
  return v;
}

async function runCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parse(argv, {
    interface: { type: 'string' },
    'server-cmd': { type: 'string' },
    url: { type: 'string' },
    json: { type: 'string' },
    only: { type: 'string' },
    'timeout-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const iface = parseInterface(values.interface);
  const timeoutMs = values['timeout-ms'] === undefined ? 5000 : Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms must be a positive integer; got ${values['timeout-ms']}`);
  if ((values['server-cmd'] === undefined) === (values.url === undefined)) throw new UsageError('give exactly one of --server-cmd and --url');
  let host: string;
  let port: number;
  let server: StartedServer | null = null;
  if (values.url !== undefined) {
    const u = new URL(String(values.url));
    if (u.protocol !== 'http:') throw new UsageError(`--url must be http://host:port; got ${values.url}`);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = Number(u.port || 80);
  } else {
    try {
      server = await startServer({ iface, command: String(values['server-cmd']) });
    } catch (e) {
      process.stderr.write(`tsgi-conformance: ${(e as Error).message}\n`);
      return 2;
    }
    host = server.host;
    port = server.port;
    out(`# server: ${server.command}`);
    // Ctrl-C or a kill must not leave the server's process group behind.
    const started = server;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        void started.stop(2000).finally(() => process.exit(130));
      });
    }
  }
  let results: CheckResult[];
  const started = server;
  try {
    results = await runChecks({
      target: { host, port, iface, timeoutMs, stateDir: started?.stateDir, shutdownToken: started?.shutdownToken },
      only: values.only === undefined ? undefined : String(values.only),
      onResult: (r) => out(formatResult(r)),
      stop: started ? async () => void (await started.stop()) : undefined,
    });
  } finally {
    await server?.stop();
  }
  out(summaryLine(results));
  if (values.json !== undefined) {
    writeFileSync(String(values.json), JSON.stringify({ interface: iface, summary: summaryLine(results), results }, null, 2) + '\n');
  }
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

function coverageCommand(argv: string[], out: (line: string) => void): number {
  const { values } = parse(argv, { markdown: { type: 'boolean' }, json: { type: 'string' } });
  const cov = coverage();
  out(values.markdown ? coverageMarkdown(cov) : coverageText(cov));
  if (values.json !== undefined) writeFileSync(String(values.json), JSON.stringify(cov, null, 2) + '\n');
  return cov.problems.length > 0 ? 1 : 0;
}

function listCommand(argv: string[], out: (line: string) => void): number {
  const { values } = parse(argv, { interface: { type: 'string' } });
  const checks = values.interface === undefined ? allChecks : selectChecks(parseInterface(values.interface));
  for (const c of checks) out(`${c.id} [${c.clauses.join(', ')}] (${c.interfaces.join(', ')}${c.requires ? `; needs ${c.requires}` : ''}) ${c.title}`);
  out(`${checks.length} checks`);
  return 0;
}
