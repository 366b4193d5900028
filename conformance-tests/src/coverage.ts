/**
 * The coverage report: for every clause of spec/, the checks that verify it,
 * or the reason it cannot be observed over the wire (kept in
 * data/unobservable.json), and the problems that make the report wrong
 * (a check citing an id that spec/ does not have, a reason for an id that is gone).
 */
import { readFileSync } from 'node:fs';
import type { Check } from './check.js';
import { allChecks, http2Checks } from './checks/index.js';
import { readClauses, type Clause } from './clauses.js';

/** One row of the report. */
export interface CoverageRow {
  id: string;
  level: string;
  file: string;
  checks: string[];
  /** Why no check can observe it, when that is the case. */
  unobservable: string | null;
}

/** The whole report. */
export interface Coverage {
  rows: CoverageRow[];
  /** Clauses with neither a check nor a reason. */
  uncovered: CoverageRow[];
  /** Things that make the report wrong; the suite's own test requires none. */
  problems: string[];
}

/** The reasons, by clause id, why a clause cannot be observed by a client. */
export function readUnobservable(): Record<string, string> {
  return JSON.parse(readFileSync(new URL('../data/unobservable.json', import.meta.url), 'utf8')) as Record<string, string>;
}

/** Builds the report from spec/ and the checks. */
export function coverage(opts: { clauses?: Clause[]; checks?: Check[]; unobservable?: Record<string, string> } = {}): Coverage {
  const clauses = opts.clauses ?? readClauses();
  // The HTTP/2 checks run only where a suite says the server speaks HTTP/2, but they cover clauses all the same.
  const checks = opts.checks ?? [...allChecks, ...http2Checks];
  const reasons = opts.unobservable ?? readUnobservable();
  const problems: string[] = [];
  const known = new Set<string>();
  for (const c of clauses) {
    if (known.has(c.id)) problems.push(`clause ${c.id} is defined twice in spec/`);
    known.add(c.id);
  }
  const byClause = new Map<string, string[]>();
  const ids = new Set<string>();
  for (const check of checks) {
    if (ids.has(check.id)) problems.push(`check id ${check.id} is used twice`);
    ids.add(check.id);
    if (check.clauses.length === 0) problems.push(`check ${check.id} cites no clause`);
    for (const id of check.clauses) {
      if (!known.has(id)) problems.push(`check ${check.id} cites ${id}, which is not a clause of spec/`);
      byClause.set(id, [...(byClause.get(id) ?? []), check.id]);
    }
  }
  for (const id of Object.keys(reasons)) {
    if (!known.has(id)) problems.push(`data/unobservable.json gives a reason for ${id}, which is not a clause of spec/`);
    if (byClause.has(id)) problems.push(`${id} has checks and also a reason in data/unobservable.json: keep one`);
  }
  const seen = new Set<string>();
  const rows: CoverageRow[] = [];
  for (const c of clauses) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    rows.push({ id: c.id, level: c.level, file: c.file, checks: byClause.get(c.id) ?? [], unobservable: reasons[c.id] ?? null });
  }
  return { rows, uncovered: rows.filter((r) => r.checks.length === 0 && r.unobservable === null), problems };
}

/** The report as a markdown table (docs/conformance.md). */
export function coverageMarkdown(cov: Coverage): string {
  const lines = ['| Clause | Level | Checks, or why it cannot be observed over the wire |', '|---|---|---|'];
  for (const r of cov.rows) {
    const what = r.checks.length ? r.checks.map((c) => `\`${c}\``).join(', ') : r.unobservable ? `_${r.unobservable}_` : '**not covered**';
    lines.push(`| \`${r.id}\` | ${r.level} | ${what} |`);
  }
  return lines.join('\n');
}

/** The report as plain text lines, then a summary. */
export function coverageText(cov: Coverage): string {
  const lines = cov.rows.map((r) => `${r.id} [${r.level}] ${r.checks.length ? r.checks.join(', ') : r.unobservable ? `(not observable: ${r.unobservable})` : 'NOT COVERED'}`);
  const covered = cov.rows.filter((r) => r.checks.length > 0).length;
  const unobs = cov.rows.filter((r) => r.checks.length === 0 && r.unobservable).length;
  lines.push(...cov.problems.map((p) => `PROBLEM ${p}`));
  lines.push(`${cov.rows.length} clauses: ${covered} covered by checks, ${unobs} not observable over the wire, ${cov.uncovered.length} not covered; ${cov.problems.length} problems`);
  return lines.join('\n');
}
