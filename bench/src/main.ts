/**
 * `pnpm bench [scenario ...] [options]`: runs the scenarios of issue 8 (all
 * by default), prints one table, and writes the JSON, a Markdown table and
 * an SVG chart to bench/results/.
 *
 * Options:
 *   --rounds N      alternating rounds per contender (default 3)
 *   --seconds S     seconds of load per round (default 5)
 *   --warmup S      seconds of warm-up per contender (default 2)
 *   --mib N         scenario 4's transfer size each way in MiB (default 1024)
 *   --only a,b      only these contender ids; latest.* are left alone (they keep whole scenarios)
 *   --no-python     leave out the Python anchors
 *   --no-install    fail instead of installing missing Debian packages
 *   --cpu-prof      Node servers write CPU profiles to <out>/profiles
 *   --out DIR       where results go (default bench/results; --smoke: bench/results/tmp)
 *   --smoke         CI check of the harness: 1 round of 1 s, no warm-up, 16 MiB transfers
 *   --render        measure nothing: redraw latest.md and latest.svg from <out>/latest.json
 *   --baseline DIR  A/B: also run each tsgi contender from DIR, another built checkout
 *                   (its bench/dist), in the same rounds; latest.* are left alone
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderMarkdown, renderSvg, renderTable, renderTargets, type BenchReport } from './report.js';
import { runScenario } from './run.js';
import { scenarios as allScenarios, withBaseline } from './scenarios.js';
import { ensureSystemPackages, machineInfo } from './system.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    mib: { type: 'string' },
    only: { type: 'string' },
    'no-python': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});

function positiveNumber(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new TypeError(`--${name} must be a non-negative number, got ${JSON.stringify(text)}`);
  return n;
}

const smoke = values.smoke;
const rounds = Math.max(1, Math.round(positiveNumber('rounds', values.rounds, smoke ? 1 : 3)));
const seconds = Math.max(1, Math.round(positiveNumber('seconds', values.seconds, smoke ? 1 : 5)));
const warmup = Math.round(positiveNumber('warmup', values.warmup, smoke ? 0 : 2));
const transferBytes = Math.round(positiveNumber('mib', values.mib, smoke ? 16 : 1024) * 2 ** 20);
const withPython = !values['no-python'];
const only = values.only?.split(',').filter(Boolean) ?? null;
const out = values.out ?? fileURLToPath(new URL(smoke ? '../../results/tmp' : '../../results', import.meta.url));

if (values.render) {
  const latest = JSON.parse(readFileSync(`${out}/latest.json`, 'utf8')) as BenchReport;
  writeFileSync(`${out}/latest.svg`, renderSvg(latest));
  writeFileSync(`${out}/latest.md`, `${renderMarkdown(latest)}\n${renderTargets(latest)}\n`);
  console.log(`bench: redrew ${out}/latest.md and latest.svg from latest.json`);
  process.exit(0);
}

const baseline = values.baseline === undefined ? null : resolve(values.baseline);
if (baseline !== null && !existsSync(`${baseline}/bench/dist/servers`)) throw new TypeError(`--baseline ${values.baseline}: no bench/dist/servers there (build that checkout first: tsc -b && tsc -b bench)`);
const catalogue = allScenarios(transferBytes).map((s) => (baseline === null ? s : withBaseline(s, baseline)));
const chosen =
  positionals.length === 0
    ? catalogue
    : positionals.map((p) => {
        const s = catalogue.find((c) => c.id === p || String(c.number) === p);
        if (!s) throw new TypeError(`unknown scenario ${JSON.stringify(p)}; known: ${catalogue.map((c) => `${c.number}|${c.id}`).join(', ')}`);
        return s;
      });

ensureSystemPackages(withPython && chosen.some((s) => s.contenders.some((c) => c.python)), !values['no-install']);
mkdirSync(out, { recursive: true });
const profileDir = values['cpu-prof'] ? `${out}/profiles` : null;
if (profileDir) mkdirSync(profileDir, { recursive: true });

const report: BenchReport = {
  machine: machineInfo(withPython),
  command: ['pnpm bench', ...process.argv.slice(2)].join(' '),
  options: { rounds, seconds, warmup, transferBytes },
  scenarios: [],
};
console.log(`bench: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} at start${report.machine.loadAverageAtStart > 0.5 ? ' (other jobs are running: figures will be noisy)' : ''}`);
for (const scenario of chosen) {
  const contenders = scenario.contenders.filter((c) => (withPython || !c.python) && (only === null || only.includes(c.id.replace(/@baseline$/, ''))));
  console.log(`\n== ${scenario.number}. ${scenario.title} (load average ${loadavg()[0]!.toFixed(2)})`);
  const result = await runScenario(scenario, contenders, { rounds, seconds, warmup, profileDir, log: (l) => console.log(l) });
  report.scenarios.push(result);
}

const table = renderTable(report);
console.log(`\n${table}`);
const stamp = report.machine.date.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
const name = (baseline === null ? '' : 'ab-') + (positionals.length === 0 ? 'all' : chosen.map((s) => s.id).join('+'));
writeFileSync(`${out}/${stamp}-${name}.json`, JSON.stringify(report, null, 2) + '\n');
// An A/B run, or one of some contenders only, would replace a scenario's whole result in latest.* with part of one.
if (baseline !== null || only !== null) {
  console.log(`\n${renderTargets(report)}\nbench: wrote ${out}/${stamp}-${name}.json (${baseline !== null ? 'an A/B run' : 'an --only run'} leaves latest.* alone)`);
  process.exit(0);
}

// latest.json keeps the newest result of every scenario, so one scenario can be rerun alone.
const latestPath = `${out}/latest.json`;
const previous: BenchReport | null = existsSync(latestPath) ? (JSON.parse(readFileSync(latestPath, 'utf8')) as BenchReport) : null;
const merged: BenchReport = {
  ...report,
  scenarios: [...(previous?.scenarios ?? []).filter((s) => !report.scenarios.some((r) => r.id === s.id)), ...report.scenarios].sort((a, b) => a.number - b.number),
};
writeFileSync(latestPath, JSON.stringify(merged, null, 2) + '\n');
writeFileSync(`${out}/latest.svg`, renderSvg(merged));
writeFileSync(`${out}/latest.md`, `${renderMarkdown(merged)}\n${renderTargets(merged)}\n`);
console.log(`\nbench: wrote ${out}/${stamp}-${name}.json, latest.json, latest.md and latest.svg`);
