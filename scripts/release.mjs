#!/usr/bin/env node
// One way to release tsgi: every published package carries the same version.
//
//   node scripts/release.mjs check               the published packages share one version (exit 1 if not)
//   node scripts/release.mjs version 0.2.0       sets that version in every published package
//   node scripts/release.mjs pack <folder>       builds and writes their tarballs into <folder>
//   node scripts/release.mjs publish [--dry-run] builds from clean and runs pnpm -r publish
//
// The published packages are the workspace's non-private ones (pnpm -r publish
// skips private packages); workspace:* dependencies between them become the
// version itself when pnpm packs them. examples/test/release.test.ts runs the
// dry run and examples/test/pack-install.test.ts installs the tarballs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The folders of the workspace's published packages, from pnpm-workspace.yaml's globs. */
function publishedDirs() {
  const lines = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').split('\n');
  const start = lines.findIndex((line) => /^packages:/.test(line));
  const end = lines.findIndex((line, i) => i > start && /^\S/.test(line));
  const globs = lines
    .slice(start + 1, end === -1 ? undefined : end)
    .map((line) => /^\s+-\s+['"]?([^'"#\s]+)['"]?\s*$/.exec(line)?.[1])
    .filter((g) => g !== undefined);
  const dirs = globs.flatMap((g) => (g.endsWith('/*') ? readdirSync(join(root, g.slice(0, -2))).map((d) => `${g.slice(0, -2)}/${d}`) : [g]));
  return dirs.filter((d) => existsSync(join(root, d, 'package.json')) && !readManifest(d).private).sort();
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
}

function fail(message) {
  process.stderr.write(`release: ${message}\n`);
  process.exit(1);
}

function pnpm(args, options = {}) {
  execFileSync('npx', ['-y', 'pnpm@10', ...args], { cwd: root, stdio: 'inherit', ...options });
}

/** The one version of the published packages; exits if they differ. */
function checkVersions() {
  const versions = new Map(publishedDirs().map((d) => [readManifest(d).name, readManifest(d).version]));
  const distinct = new Set(versions.values());
  if (distinct.size !== 1) fail(`the published packages must share one version: ${[...versions].map(([n, v]) => `${n}@${v}`).join(', ')}`);
  return [...distinct][0];
}

function setVersion(version) {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version ?? '')) fail(`not a version: ${version}`);
  for (const dir of publishedDirs()) {
    const file = join(root, dir, 'package.json');
    // Only the "version" line changes, so the manifest keeps its layout.
    const text = readFileSync(file, 'utf8').replace(/^(\s*"version":\s*)"[^"]*"/m, `$1"${version}"`);
    writeFileSync(file, text);
  }
  console.log(`release: ${publishedDirs().length} packages at ${version}`);
}

/** tsc -b; with `clean`, from empty dist/ folders first, so no file of a deleted module ships. */
function build(clean) {
  if (clean) for (const dir of publishedDirs()) rmSync(join(root, dir, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' });
}

const filters = () => publishedDirs().flatMap((d) => ['--filter', `./${d}`]);

const [command, ...args] = process.argv.slice(2);
if (command === 'check') {
  console.log(`release: ${publishedDirs().length} packages at ${checkVersions()}`);
} else if (command === 'version') {
  setVersion(args[0]);
} else if (command === 'pack') {
  if (args[0] === undefined) fail('usage: node scripts/release.mjs pack <folder>');
  checkVersions();
  build(false);
  pnpm(['-r', ...filters(), 'pack', '--pack-destination', resolve(args[0])]);
} else if (command === 'publish') {
  const dryRun = args.includes('--dry-run');
  checkVersions();
  // A dry run builds in place (a clean build would pull dist/ from under tests running beside it).
  build(!dryRun);
  // pnpm checks that the tree is clean and on main before a real publish; a dry run may run anywhere.
  pnpm(['-r', 'publish', '--access', 'public', ...(dryRun ? ['--dry-run', '--no-git-checks'] : [])]);
} else {
  fail('usage: node scripts/release.mjs check | version <x.y.z> | pack <folder> | publish [--dry-run]');
}
