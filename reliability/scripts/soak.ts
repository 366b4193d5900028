/**
 * The soak command (`pnpm soak [--requests N] [--server uws|node|pool|bridge]
 * [--connections C] [--parallel] [--out file]`): runs reliability/src/soak.ts against each
 * server in turn, or all at once with --parallel (default 1,000,000 requests each), prints a table and
 * writes the results as JSON to reliability/results/. Exits 1 when any
 * server broke a criterion.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runSoak, SOAK_SERVERS, type SoakResult, type SoakServer } from '../src/soak.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    server: { type: 'string', multiple: true },
    connections: { type: 'string', default: '32' },
    out: { type: 'string' },
    parallel: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('usage: pnpm soak [--requests N (1000000)] [--server uws|node|pool|bridge ...] [--connections C (32)] [--parallel] [--out file.json]');
  process.exit(0);
}
const requests = Number(values.requests);
const connections = Number(values.connections);
const servers = (values.server ?? [...SOAK_SERVERS]) as SoakServer[];
for (const s of servers) if (!SOAK_SERVERS.includes(s)) throw new Error(`--server: expected one of ${SOAK_SERVERS.join(', ')}, got ${JSON.stringify(s)}`);
if (!Number.isInteger(requests) || requests < 100) throw new Error(`--requests: expected an integer >= 100, got ${JSON.stringify(values.requests)}`);
const out = values.out ?? fileURLToPath(new URL(`../results/soak-${requests}.json`, import.meta.url));

/** One server's soak, with progress lines every 10% so a long run shows it is alive without flooding the log. */
async function soakOne(server: SoakServer): Promise<SoakResult> {
  console.log(`soak: ${server}, ${requests.toLocaleString('en')} requests over ${connections} connections`);
  let last = 0;
  const result = await runSoak({
    server,
    requests,
    connections,
    onProgress: (done, total) => {
      const tenth = Math.floor((done / total) * 10);
      if (tenth > last) {
        last = tenth;
        console.log(`  ${server}: ${done.toLocaleString('en')} answered`);
      }
    },
  });
  console.log(result.failures.length === 0 ? `  ${server}: passed` : `  ${server}: FAILED\n    ${result.failures.join('\n    ')}`);
  return result;
}

const results: SoakResult[] = [];
if (values.parallel) results.push(...(await Promise.all(servers.map(soakOne))));
else for (const server of servers) results.push(await soakOne(server));

const mib = (x: number) => x.toFixed(1);
const rows = [
  ['server', 'requests', 'req/s', 'errors', 'app served', 'ws msgs', 'RSS start', 'after warm-up', 'peak', 'end', 'fds base/peak/end', 'exit', 'verdict'],
  ...results.map((r) => [
    r.server,
    r.client.sent.toLocaleString('en'),
    r.rps.toLocaleString('en'),
    String(r.client.sent - r.client.ok),
    r.served.http.toLocaleString('en'),
    r.client.wsMessages > 0 ? `${r.client.wsMessagesOk}/${r.client.wsMessages}` : '-',
    mib(r.rssMiB.start),
    mib(r.rssMiB.afterWarmup),
    mib(r.rssMiB.peak),
    mib(r.rssMiB.end),
    `${r.fds.baseline}/${r.fds.peak}/${r.fds.end}`,
    `${r.exitCode} (${r.exitMs} ms)`,
    r.failures.length === 0 ? 'pass' : 'FAIL',
  ]),
];
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
console.log('\n(RSS in MiB)');
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));

/** At most about 100 samples per server in the file (every k-th, plus each phase's last), so a long run's JSON stays small. */
function thin(r: SoakResult): SoakResult {
  const k = Math.ceil(r.samples.length / 100);
  const samples = r.samples.filter((s, i) => i % k === 0 || i === r.samples.length - 1 || r.samples[i + 1]?.phase !== s.phase);
  return { ...r, samples };
}

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, requests, connections, parallel: values.parallel, results: results.map(thin) }, null, 1) + '\n');
console.log(`\nwritten: ${out}`);
process.exit(results.every((r) => r.failures.length === 0) ? 0 : 1);
