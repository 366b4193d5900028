/**
 * docs/api is generated from the doc comments (typedoc + typedoc-plugin-markdown,
 * `npx -y pnpm@10 run docs:api`) and committed. This regenerates it into a
 * temp folder and fails when the committed copy differs, so a changed doc
 * comment or export cannot leave the reference stale.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { repoRoot } from '../docs/support/tsgi-process.js';

const committed = join(repoRoot, 'docs', 'api');
const out = mkdtempSync(join(tmpdir(), 'tsgi-api-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every file under `dir`, as sorted paths relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

it('docs/api matches the doc comments (regenerate with `npx -y pnpm@10 run docs:api`)', async () => {
  // typedoc's package exports do not list its bin: find it next to its package.json.
  const typedoc = join(dirname(createRequire(join(repoRoot, 'package.json')).resolve('typedoc/package.json')), 'bin', 'typedoc');
  await promisify(execFile)(process.execPath, [typedoc, '--options', 'docs/typedoc.json', '--out', out, '--logLevel', 'Warn'], { cwd: repoRoot });
  const fresh = files(out);
  expect(files(committed), 'files of docs/api').toEqual(fresh);
  for (const f of fresh) {
    expect(readFileSync(join(committed, f), 'utf8'), `docs/api/${f} is stale`).toBe(readFileSync(join(out, f), 'utf8'));
  }
}, 180_000);
