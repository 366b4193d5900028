/**
 * Checks shared by the docs tests that keep a page honest: every fenced block
 * is a verbatim copy of a file (`<!-- file: … -->` above it) or a shell block
 * of commands known to work, and every relative link and repository path in
 * inline code names a file that exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseServeArgs } from '@tsgi/cli';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { repoRoot } from '../docs/support/tsgi-process.js';

const scripts = Object.keys((JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** The folders of the packages published to npm, as examples/test/pack-install.test.ts packs them. */
export const PUBLISHED_DIRS = ['packages/core', 'packages/uws', 'packages/node', 'packages/pool', 'packages/bridge', 'packages/cli', 'conformance-tests'];
const publishedNames = PUBLISHED_DIRS.map((dir) => (JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as { name: string }).name);

/**
 * Checks an `npm install` of the published packages (pack-install.test.ts installs their
 * tarballs into a new project the same way); returns a problem, or null, or undefined
 * when the command is not such an install.
 */
export function checkNpmInstall(words: readonly string[]): string | null | undefined {
  if (words[0] !== 'npm' || words[1] !== 'install') return undefined;
  const unknown = words.slice(2).filter((name) => !publishedNames.includes(name));
  return words.length > 2 && unknown.length === 0 ? null : `npm install of something other than the published packages: ${words.join(' ')}`;
}

/** The argv after `tsgi` of a command line, or null if the line does not run `tsgi`. */
export function tsgiArgs(command: string): string[] | null {
  const words = shellWords(command);
  if (words[0] === 'npx' && words[1] === '-y' && words[2] === 'pnpm@10' && words[3] === 'exec' && words[4] === 'tsgi') return words.slice(5);
  if (words[0] === 'npx' && words[1] === 'tsgi') return words.slice(2); // in one's own project, after npm install @tsgi/cli
  if (/(^|\/)tsgi$/.test(words[0]!)) return words.slice(1);
  return null;
}

/** Where a page's app file is: a path from the repository root, or a bare name of a sample the page shows (saved in one's own project). */
function appFile(file: string): string | null {
  const candidates = file.includes('/') ? [file] : [file, `examples/docs/readme/${file}`, `examples/docs/${file}`];
  return candidates.find((c) => existsSync(join(repoRoot, c))) ?? null;
}

/** Checks one `tsgi …` invocation against the CLI's parser; returns a problem or null. */
function checkTsgi(args: string[]): string | null {
  if (args[0] !== 'serve') return `not a tsgi serve command: ${args.join(' ')}`;
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(args.slice(1), {});
  } catch (e) {
    return `tsgi ${args.join(' ')}: ${(e as Error).message}`;
  }
  if (parsed.help) return null;
  const file = parsed.config.app.replace(/:[\w$]+$/, '');
  return appFile(file) !== null ? null : `the app file ${file} does not exist`;
}

/** The host scripts of @tsgi/bridge, as an installed package's path names them, and how each runtime runs one. */
export const RUNTIME_HOSTS: Record<string, { prefix: string[]; script: string }> = {
  bun: { prefix: ['bun', 'run'], script: 'node_modules/@tsgi/bridge/hosts/bun-host.js' },
  deno: { prefix: ['deno', 'run', '-A'], script: 'node_modules/@tsgi/bridge/hosts/deno-host.js' },
};

/** The app and port of a `bun run …/bun-host.js FILE:EXPORT PORT` (or deno) command, or null if the command is not one. */
export function runtimeHostArgs(words: readonly string[]): { runtime: string; app: string; port: string } | null {
  const host = RUNTIME_HOSTS[words[0] ?? ''];
  if (host === undefined || words.length !== host.prefix.length + 3) return null;
  if (host.prefix.some((w, i) => words[i] !== w) || words[host.prefix.length] !== host.script) return null;
  return { runtime: words[0]!, app: words[host.prefix.length + 1]!, port: words[host.prefix.length + 2]! };
}

/** Checks one shell command of a page (a tsgi command, a package.json script, a test file); returns a problem or null. */
export function checkCommand(command: string): string | null {
  const tsgi = tsgiArgs(command);
  if (tsgi !== null) return checkTsgi(tsgi);
  const words = shellWords(command);
  const hosted = runtimeHostArgs(words);
  if (hosted !== null) {
    // The script is the package's own file (packages/bridge/hosts/ in the repository); docs-serving.test.ts runs the command.
    if (!existsSync(join(repoRoot, 'packages/bridge', RUNTIME_HOSTS[hosted.runtime]!.script.replace('node_modules/@tsgi/bridge/', '')))) return `no host script for ${command}`;
    if (!/^\d+$/.test(hosted.port)) return `the port of ${command} is not a number`;
    const file = hosted.app.replace(/:[\w$]+$/, '');
    return appFile(file) !== null ? null : `the app file ${file} does not exist`;
  }
  const install = checkNpmInstall(words);
  if (install !== undefined) return install;
  if (words.join(' ') === 'npm init -y') return null; // a new project, as pack-install.test.ts makes it
  if (words[0] === 'npx' && words[1] === '-y' && words[2] === 'pnpm@10') {
    const [verb, ...rest] = words.slice(3);
    if (verb === 'install' && rest.length === 0) return null;
    if (verb === 'run' && rest.length === 1) return scripts.includes(rest[0]!) ? null : `no script ${rest[0]} in package.json`;
    return `unknown pnpm command: ${command}`;
  }
  if (words[0] === 'npx' && words[1] === 'vitest' && words[2] === 'run' && words.length === 4) {
    return existsSync(join(repoRoot, words[3]!)) ? null : `no test file ${words[3]}`;
  }
  return `a command no test checks: ${command}`;
}

/** The text of a page (path relative to the repository root). */
export function readPage(page: string): string {
  return readFileSync(join(repoRoot, page), 'utf8');
}

/** The shell commands of every `sh` block of a page. */
export function pageCommands(page: string): string[] {
  return fencedBlocks(readPage(page))
    .filter((b) => b.lang === 'sh' && b.file === undefined)
    .flatMap((b) => shellCommands(b.code));
}

/** What is wrong with a page's code blocks, links and named paths: one message per problem, empty when none. */
export function pageProblems(page: string): string[] {
  const text = readPage(page);
  const problems: string[] = [];
  for (const block of fencedBlocks(text)) {
    if (block.file !== undefined) {
      const path = join(repoRoot, block.file);
      if (!existsSync(path)) problems.push(`${page}:${block.line} names a missing file ${block.file}`);
      else if (block.code !== readFileSync(path, 'utf8')) problems.push(`${page}:${block.line} differs from ${block.file} (run examples/docs/support/sync-docs.ts)`);
      continue;
    }
    if (block.lang !== 'sh') {
      problems.push(`${page}:${block.line}: a ${block.lang || 'plain'} block without <!-- file: … --> above it; no test runs it`);
      continue;
    }
    const commands = shellCommands(block.code);
    if (commands.length === 0) problems.push(`${page}:${block.line}: empty shell block`);
    for (const command of commands) {
      const problem = checkCommand(command);
      if (problem !== null) problems.push(`${page}:${block.line}: ${problem}`);
    }
  }
  const outsideCode = text.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
  for (const [, target] of outsideCode.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue;
    if (!existsSync(join(repoRoot, dirname(page), target!.replace(/#.*$/, '')))) problems.push(`${page} links to ${target}, which does not exist`);
  }
  for (const [, span] of outsideCode.matchAll(/`([^`\s]+)`/g)) {
    if (!/^(examples|docs|packages|spec|scripts|conformance-tests|reliability|bench)\/[\w./@-]+$/.test(span!)) continue; // not a plain repo path
    if (!existsSync(join(repoRoot, span!))) problems.push(`${page} names ${span}, which does not exist`);
  }
  return problems;
}
