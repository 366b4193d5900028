/**
 * The release path of scripts/release.mjs: the published packages keep one
 * version, `version` moves them together, and `pnpm -r publish --dry-run`
 * would publish exactly those packages, each at that version.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../docs/support/tsgi-process.js';
import { PUBLISHED_DIRS } from './docs-page-checks.js';

const run = promisify(execFile);
const SCRIPT = join(repoRoot, 'scripts/release.mjs');
const manifest = (root: string, dir: string) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name: string; version: string };
const names = PUBLISHED_DIRS.map((dir) => manifest(repoRoot, dir).name).sort();

/** A copy of what the script reads (the workspace file and every manifest), to change versions in. */
const copy = mkdtempSync(join(tmpdir(), 'tsgi-release-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('scripts/release.mjs', () => {
  it('finds the published packages, all at one version', async () => {
    const { stdout } = await run(process.execPath, [SCRIPT, 'check'], { cwd: repoRoot });
    expect(stdout.trim()).toBe(`release: ${PUBLISHED_DIRS.length} packages at ${manifest(repoRoot, 'packages/core').version}`);
  });

  it('moves every published package to a new version, and refuses versions that differ', async () => {
    for (const file of ['pnpm-workspace.yaml', 'scripts/release.mjs']) {
      mkdirSync(join(copy, dirname(file)), { recursive: true });
      cpSync(join(repoRoot, file), join(copy, file));
    }
    for (const dir of [...PUBLISHED_DIRS, 'examples', 'bench', 'reliability']) {
      mkdirSync(join(copy, dir), { recursive: true });
      cpSync(join(repoRoot, dir, 'package.json'), join(copy, dir, 'package.json'));
    }
    await run(process.execPath, [join(copy, 'scripts/release.mjs'), 'version', '9.8.7']);
    expect(PUBLISHED_DIRS.map((dir) => manifest(copy, dir).version)).toEqual(PUBLISHED_DIRS.map(() => '9.8.7'));
    expect(manifest(copy, 'examples').version).toBe(manifest(repoRoot, 'examples').version); // private: not released

    cpSync(join(repoRoot, 'packages/pool/package.json'), join(copy, 'packages/pool/package.json'));
    const refused = await run(process.execPath, [join(copy, 'scripts/release.mjs'), 'check']).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('must share one version') });
  });

  it('publish --dry-run: pnpm would publish exactly the published packages, at that version', async () => {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, 'publish', '--dry-run'], { cwd: repoRoot, timeout: 170_000, maxBuffer: 64 << 20 });
    const published = [...`${stdout}\n${stderr}`.matchAll(/^\+ (@tsgi\/[\w-]+)@(\S+)$/gm)];
    expect(published.map((m) => m[1]).sort()).toEqual(names);
    expect(new Set(published.map((m) => m[2]))).toEqual(new Set([manifest(repoRoot, 'packages/core').version]));
  }, 180_000);
});
