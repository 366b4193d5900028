/**
 * Presents results: the printed table, a Markdown version for
 * docs/performance.md, and an SVG bar chart (median bars, min–max whiskers)
 * drawn from the JSON alone.
 */
import type { ScenarioResult, TargetResult } from './run.js';
import { formatBytes, type Load, type Metric } from './scenarios.js';
import type { MachineInfo } from './system.js';
import type { Summary } from './stats.js';

/** The JSON written to bench/results/. */
export interface BenchReport {
  machine: MachineInfo;
  command: string;
  options: { rounds: number; seconds: number; warmup: number; transferBytes: number };
  scenarios: ScenarioResult[];
}

function num(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `12,345 (12,001–12,502)`; a single round shows its value only. */
export function formatSummary(s: Summary | undefined, digits: number): string {
  if (!s || s.n === 0) return '–';
  return s.n === 1 ? num(s.median, digits) : `${num(s.median, digits)} (${num(s.min, digits)}–${num(s.max, digits)})`;
}

function formatTarget(t: TargetResult): string {
  const value = t.unit === 'x' ? `${num(t.value, 2)}x` : `${num(t.value, 0)} ${t.unit}`;
  const goal = t.op === 'info' ? '' : ` (target ${t.op} ${t.threshold}${t.unit === 'x' ? 'x' : ` ${t.unit}`})`;
  const verdict = t.met === null ? '' : t.met ? '  met' : '  MISSED';
  return `${t.label}: ${value}${goal}${verdict}`;
}

/** How the load was generated, in words. */
export function describeLoad(load: Load): string {
  switch (load.kind) {
    case 'wrk':
      return `wrk -t1 -c${load.connections} --latency GET ${load.path}${load.tls === true ? ' over TLS (https, self-signed ECDSA P-256 certificate made at run time)' : ''}`;
    case 'rate':
      return `constant ${load.rate} req/s over ${load.connections} connections (bench/src/loadgen/rate.ts), GET ${load.path}`;
    case 'ws':
      return `${load.connections} WebSocket connections, ${load.payload}-byte binary echo, one in flight each (bench/src/loadgen/ws-echo.ts)`;
    case 'transfer':
      return `${formatBytes(load.bytes)} chunked POST to /upload, then GET /download (node:http client, bench/src/loadgen/transfer.ts)`;
    case 'h2load':
      return `h2load -c${load.connections} -m${load.streams} GET ${load.path} (HTTP/2 with prior knowledge)`;
  }
}

/** How a scenario was run: load, rounds, pinning, when, and how busy the machine was. */
function details(r: ScenarioResult): string {
  const where = r.pinned ? 'server on CPU 0, load generator on CPU 1' : 'nothing pinned: server and load generator share both cores';
  const rounds = `${r.rounds} round${r.rounds > 1 ? 's' : ''}${r.load.kind === 'transfer' ? '' : ` of ${r.seconds} s`}`;
  return `${describeLoad(r.load)}; ${rounds}; ${where}; ${r.measuredAt.slice(0, 16).replace('T', ' ')} UTC, load average ${r.loadAverageAtStart}`;
}

function header(r: ScenarioResult): string {
  return `${r.number}. ${r.title}: ${details(r)}`;
}

function metricHead(m: Metric): string {
  return m.label === m.unit ? m.label : `${m.label} (${m.unit})`;
}

/** The plain-text table printed at the end of a run. */
export function renderTable(report: BenchReport): string {
  const lines: string[] = [];
  const m = report.machine;
  lines.push(`tsgi bench, ${m.date}: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, load average at start ${m.loadAverageAtStart}`);
  lines.push('medians of the rounds, (min–max)');
  for (const r of report.scenarios) {
    lines.push('', header(r));
    const widths = [Math.max(10, ...r.contenders.map((c) => c.label.length)), ...r.metrics.map(() => 30)];
    const row = (cells: string[]) => '  ' + cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    lines.push(row(['contender', ...r.metrics.map(metricHead)]));
    for (const c of r.contenders) {
      if (c.samples.length === 0) lines.push(row([c.label, c.errors[0] ?? 'no result']));
      else lines.push(row([c.label, ...r.metrics.map((mt) => formatSummary(c.summary[mt.key], mt.digits))]));
      for (const e of c.samples.length > 0 ? c.errors : c.errors.slice(1)) lines.push(`    ! ${e}`);
    }
    for (const t of r.targets) lines.push(`  ${formatTarget(t)}`);
  }
  return lines.join('\n');
}

/** The same results as Markdown tables (pasted into docs/performance.md). */
export function renderMarkdown(report: BenchReport): string {
  const out: string[] = [];
  for (const r of report.scenarios) {
    out.push(`### ${r.number}. ${r.title}`, '', `${details(r)}.`, '');
    out.push(`| contender | ${r.metrics.map(metricHead).join(' | ')} |`, `| --- |${r.metrics.map(() => ' ---: |').join('')}`);
    for (const c of r.contenders) {
      const cells = c.samples.length === 0 ? [c.errors[0]?.replaceAll('|', '\\|') ?? 'no result', ...r.metrics.slice(1).map(() => '')] : r.metrics.map((mt) => formatSummary(c.summary[mt.key], mt.digits));
      out.push(`| ${c.label} | ${cells.join(' | ')} |`);
    }
    if (r.targets.length > 0) out.push('', ...r.targets.map((t) => `- ${formatTarget(t).replace(/ {2}(met|MISSED)$/, (_, v: string) => ` — **${v}**`)}`));
    out.push('');
  }
  return out.join('\n');
}

/** Every target of the report in one Markdown table: figure, goal, verdict. */
export function renderTargets(report: BenchReport): string {
  const out = ['| # | figure (ratio of medians in one run) | value | target | verdict |', '| --- | --- | ---: | --- | --- |'];
  for (const r of report.scenarios) {
    for (const t of r.targets) {
      const value = !Number.isFinite(t.value) ? 'not measured' : t.unit === 'x' ? `${num(t.value, 2)}x` : `${num(t.value, 0)} ${t.unit}`;
      const goal = t.op === 'info' ? '' : `${t.op} ${t.threshold}${t.unit === 'x' ? 'x' : ` ${t.unit}`}`;
      const verdict = t.met === null ? '' : t.met ? 'met' : '**missed**';
      out.push(`| ${r.number} | ${t.label} | ${value} | ${goal} | ${verdict} |`);
    }
  }
  return out.join('\n');
}

function escapeXml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The gist of an error for the chart: the thrown message without the harness's prefix, cut to fit. */
function shortError(error: string): string {
  const message = error.includes('Error: ') ? error.slice(error.lastIndexOf('Error: ') + 7) : error;
  return message.length > 80 ? `${message.slice(0, 79)}…` : message;
}

/** Bar colour: tsgi's own servers, Node baselines, Python anchors. */
function colour(id: string): string {
  if (['uvicorn', 'hypercorn', 'gunicorn', 'waitress'].includes(id)) return '#c9922e';
  if (['raw-uws', 'raw-uws-reads', 'node-http', 'hono-node'].includes(id)) return '#8a94a6';
  return '#2f6db5';
}

/** An SVG with one panel per (scenario, chart metric): a bar at the median and a whisker from min to max per contender. */
export function renderSvg(report: BenchReport): string {
  const W = 860;
  const LABEL_W = 330;
  const BAR_W = 400;
  const ROW = 22;
  const parts: string[] = [];
  let y = 30;
  parts.push(
    `<text x="10" y="20" font-size="14" font-weight="bold">tsgi bench ${escapeXml(report.machine.date.slice(0, 10))}: ${report.machine.cores} cores (${escapeXml(report.machine.cpuModel)}), Node ${escapeXml(report.machine.node)}; bars are medians, whiskers min–max</text>`,
  );
  for (const r of report.scenarios) {
    for (const key of r.chart) {
      const metric = r.metrics.find((m) => m.key === key)!;
      y += 14;
      parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escapeXml(`${r.number}. ${r.title}: ${metricHead(metric)}, ${metric.higherIsBetter ? 'higher' : 'lower'} is better`)}</text>`);
      y += 8;
      const rows = r.contenders.filter((c) => c.summary[key] && c.summary[key]!.n > 0);
      const top = Math.max(...rows.map((c) => c.summary[key]!.max), 0) || 1;
      const scale = (v: number) => (v / top) * BAR_W;
      for (const c of r.contenders) {
        const s = c.summary[key];
        parts.push(`<text x="${LABEL_W - 6}" y="${y + 15}" font-size="12" text-anchor="end">${escapeXml(c.label)}</text>`);
        if (!s || s.n === 0) {
          parts.push(`<text x="${LABEL_W + 4}" y="${y + 15}" font-size="11" fill="#a33">${escapeXml(shortError(c.errors[0] ?? 'no result'))}</text>`);
        } else {
          parts.push(`<rect x="${LABEL_W}" y="${y + 4}" width="${scale(s.median).toFixed(1)}" height="${ROW - 8}" fill="${colour(c.id)}"/>`);
          const wy = y + ROW / 2;
          parts.push(`<line x1="${(LABEL_W + scale(s.min)).toFixed(1)}" x2="${(LABEL_W + scale(s.max)).toFixed(1)}" y1="${wy}" y2="${wy}" stroke="#222" stroke-width="1.5"/>`);
          for (const v of [s.min, s.max]) parts.push(`<line x1="${(LABEL_W + scale(v)).toFixed(1)}" x2="${(LABEL_W + scale(v)).toFixed(1)}" y1="${wy - 4}" y2="${wy + 4}" stroke="#222" stroke-width="1.5"/>`);
          parts.push(`<text x="${(LABEL_W + scale(s.max) + 6).toFixed(1)}" y="${y + 15}" font-size="11">${escapeXml(num(s.median, metric.digits))}</text>`);
        }
        y += ROW;
      }
      y += 10;
    }
  }
  y += 10;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`
  );
}
