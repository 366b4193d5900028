/**
 * The clauses of spec/: every id, its level and the file it is in, parsed
 * with exactly the regular expression spec/README.md gives.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One normative statement of spec/. */
export interface Clause {
  id: string;
  level: string;
  file: string;
  /** The first line of its text, after the id and level. */
  summary: string;
}

/** The regular expression of spec/README.md. */
export const CLAUSE_RE = /^- \*\*((?:asgi|wsgi)\.[a-z0-9_.]+)\*\* \[([A-Z ]+)\]/;

/** spec/ of this repository (two levels above this module, in src/ and dist/ alike). */
export function defaultSpecDir(): string {
  return fileURLToPath(new URL('../../spec/', import.meta.url));
}

/**
 * Reads every clause of every spec/*.md except README.md (which describes the
 * format with an example clause); duplicates are kept so callers can report them.
 */
export function readClauses(specDir = defaultSpecDir()): Clause[] {
  const out: Clause[] = [];
  for (const file of readdirSync(specDir).filter((f) => f.endsWith('.md') && f !== 'README.md').sort()) {
    for (const line of readFileSync(join(specDir, file), 'utf8').split('\n')) {
      const m = CLAUSE_RE.exec(line);
      if (m) out.push({ id: m[1]!, level: m[2]!, file, summary: line.slice(m[0].length).trim() });
    }
  }
  return out;
}
