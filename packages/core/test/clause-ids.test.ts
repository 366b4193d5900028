/**
 * Spec and code trace to each other: every clause id the code cites exists in
 * spec/*.md, and no id is defined twice. Clauses are found with exactly the
 * regular expression of spec/README.md, outside fenced code blocks.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLAUSE = /^- \*\*((?:asgi|wsgi)\.[a-z0-9_.]+)\*\* \[([A-Z ]+)\]/;
const LEVELS = new Set(['MUST', 'MUST NOT', 'SHOULD', 'SHOULD NOT', 'MAY', 'TSGI']);
// A clause id as code cites it: a quoted string ending in a number (environ keys such as 'wsgi.input' do not).
const CITED = /['"`]((?:asgi|wsgi)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*\.[0-9]+)['"`]/g;

interface Clause {
  id: string;
  level: string;
  where: string;
}

function specClauses(): Clause[] {
  const dir = join(ROOT, 'spec');
  const out: Clause[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md')).sort()) {
    let fenced = false;
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.startsWith('```')) fenced = !fenced;
        if (fenced) return;
        const m = CLAUSE.exec(line);
        if (m) out.push({ id: m[1]!, level: m[2]!, where: `spec/${file}:${i + 1}` });
      });
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Source without comments, so that ids mentioned in prose do not count as citations. */
function withoutComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The source folders whose clause citations must resolve: every package's src/ and the conformance suite's. */
function sourceRoots(): string[] {
  const packages = join(ROOT, 'packages');
  const roots = readdirSync(packages).map((pkg) => join(packages, pkg, 'src'));
  roots.push(join(ROOT, 'conformance-tests', 'src'));
  return roots.filter((dir) => {
    try {
      return statSync(dir).isDirectory();
    } catch {
      return false;
    }
  });
}

function citedIds(): Array<{ id: string; where: string }> {
  const out: Array<{ id: string; where: string }> = [];
  for (const root of sourceRoots()) {
    for (const file of sourceFiles(root)) {
      for (const m of withoutComments(readFileSync(file, 'utf8')).matchAll(CITED)) {
        out.push({ id: m[1]!, where: relative(ROOT, file) });
      }
    }
  }
  return out;
}

describe('clause ids', () => {
  const clauses = specClauses();
  const ids = new Set(clauses.map((c) => c.id));

  it('the specs define clauses for both interfaces, each with a known level', () => {
    expect(clauses.some((c) => c.id.startsWith('asgi.'))).toBe(true);
    expect(clauses.some((c) => c.id.startsWith('wsgi.'))).toBe(true);
    expect(clauses.filter((c) => !LEVELS.has(c.level))).toEqual([]);
  });

  it('no id is defined twice', () => {
    const seen = new Map<string, string>();
    const dups: string[] = [];
    for (const c of clauses) {
      const first = seen.get(c.id);
      if (first !== undefined) dups.push(`${c.id} at ${first} and ${c.where}`);
      else seen.set(c.id, c.where);
    }
    expect(dups).toEqual([]);
  });

  it('every id follows <interface>.<area>.<topic>.<n>', () => {
    expect(clauses.filter((c) => !/^(asgi|wsgi)\.[a-z0-9_]+\.[a-z0-9_]+\.[0-9]+$/.test(c.id)).map((c) => `${c.id} (${c.where})`)).toEqual([]);
  });

  it('every clause id cited in packages/*/src and conformance-tests/src exists in spec/', () => {
    const cited = citedIds();
    expect(cited.length).toBeGreaterThan(100);
    expect(cited.filter((c) => !ids.has(c.id)).map((c) => `${c.id} (${c.where})`)).toEqual([]);
  });

  it('every clause id the ASGI spec text refers to exists', () => {
    const dangling: string[] = [];
    for (const file of readdirSync(join(ROOT, 'spec')).filter((f) => f.startsWith('asgi') && f.endsWith('.md'))) {
      for (const m of readFileSync(join(ROOT, 'spec', file), 'utf8').matchAll(/\b(asgi\.[a-z0-9_]+\.[a-z0-9_]+\.[0-9]+)\b/g)) {
        if (!ids.has(m[1]!)) dangling.push(`${m[1]} (spec/${file})`);
      }
    }
    expect(dangling).toEqual([]);
  });
});
