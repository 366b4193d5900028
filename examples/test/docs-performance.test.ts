/**
 * The "Running it" block of docs/performance.md cannot drift from the bench
 * harness: each `pnpm bench` command passes the options bench/src/main.ts
 * gives its argument parser and names scenarios and contenders the harness
 * has (checked against the parser and the scenario list, never by running a
 * benchmark), and the profile-summary command names a script that the
 * bench build produces and profile files the harness writes.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../../bench/src/scenarios.js';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { repoRoot } from '../docs/support/tsgi-process.js';
import { readPage } from './docs-page-checks.js';

const PAGE = 'docs/performance.md';
const text = readPage(PAGE);
const catalogue = scenarios();

/** The `## Running it` section, up to the next `##` heading (the Results sections are another page owner's). */
function runningIt(): string {
  const start = text.indexOf('\n## Running it\n');
  expect(start, `${PAGE} has no section Running it`).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** The options bench/src/main.ts gives parseArgs, read from its source: main.ts runs the bench when imported. */
function benchOptions(): NonNullable<ParseArgsConfig['options']> {
  const source = readFileSync(join(repoRoot, 'bench/src/main.ts'), 'utf8');
  const call = /parseArgs\(\{\s*allowPositionals: true,\s*options: \{([\s\S]*?)\n {2}\},\n\}\);/.exec(source);
  expect(call, 'bench/src/main.ts no longer calls parseArgs in the form this test reads').not.toBeNull();
  const options = Object.fromEntries(
    [...call![1]!.matchAll(/^\s+'?([a-z-]+)'?: \{ type: '(string|boolean)'/gm)].map((m) => [m[1]!, { type: m[2] as 'string' | 'boolean' }]),
  );
  expect(Object.keys(options).length).toBeGreaterThan(5);
  return options;
}

/** Where main.ts writes results by default (out), from the URL it resolves against bench/dist/src/main.js. */
function defaultOut(): string {
  const source = readFileSync(join(repoRoot, 'bench/src/main.ts'), 'utf8');
  const rel = /const out = values\.out \?\? fileURLToPath\(new URL\(smoke \? '[^']+' : '([^']+)', import\.meta\.url\)\);/.exec(source);
  expect(rel, 'bench/src/main.ts no longer sets its default --out in the form this test reads').not.toBeNull();
  expect(source).toContain('const profileDir = values[\'cpu-prof\'] ? `${out}/profiles` : null;');
  return fileURLToPath(new URL(rel![1]!, pathToFileURL(join(repoRoot, 'bench/dist/src/main.js'))));
}

/** The repository source file that bench's `tsc -b` compiles to `dist` (a path under bench/dist/). */
function sourceOf(dist: string): string {
  const config = JSON.parse(readFileSync(join(repoRoot, 'bench/tsconfig.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string }; include: string[] };
  const prefix = posix.join('bench', config.compilerOptions.outDir) + '/';
  expect(dist.startsWith(prefix), `${dist} is not under ${prefix}`).toBe(true);
  const source = posix.join('bench', config.compilerOptions.rootDir, dist.slice(prefix.length)).replace(/\.js$/, '.ts');
  expect(config.include, `bench/tsconfig.json does not compile ${source}`).toContain(`${posix.dirname(source).replace(/^bench\//, '')}/**/*.ts`);
  return source;
}

describe(`${PAGE}, Running it`, () => {
  const blocks = fencedBlocks(runningIt());
  const commands = blocks.length === 1 && blocks[0]!.lang === 'sh' ? shellCommands(blocks[0]!.code).map(shellWords) : [];
  const bench = commands.filter((w) => w.slice(0, 4).join(' ') === 'npx -y pnpm@10 bench').map((w) => w.slice(4));
  const instructions = commands.filter((w) => w.slice(0, 4).join(' ') === 'npx -y pnpm@10 bench:instructions').map((w) => w.slice(4));

  it('is one sh block of install, pnpm bench and profile-summary commands', () => {
    expect(blocks.map((b) => b.lang)).toEqual(['sh']);
    expect(commands[0]).toEqual(['npx', '-y', 'pnpm@10', 'install']);
    const middle = commands.slice(1, -1).map((w) => w.slice(0, 4).join(' '));
    expect(middle.filter((c) => c !== 'npx -y pnpm@10 bench:instructions')).toEqual(bench.map(() => 'npx -y pnpm@10 bench'));
    expect(commands.at(-1)!.slice(0, 2)).toEqual(['node', 'bench/dist/src/profile-summary.js']);
    expect(commands.at(-1)).toHaveLength(3);
    expect(bench.length).toBeGreaterThanOrEqual(3);
  });

  it('pnpm bench builds bench/ and runs the harness of bench/src/main.ts', () => {
    const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.bench;
    expect(script).toBe('tsc -b && tsc -b bench && node bench/dist/src/main.js');
    expect(existsSync(join(repoRoot, sourceOf('bench/dist/src/main.js')))).toBe(true);
  });

  it('pnpm bench:instructions builds bench/ and counts instructions of Node contenders the harness has', () => {
    const script = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['bench:instructions'];
    expect(script).toBe('tsc -b && tsc -b bench && node bench/dist/src/instructions.js');
    expect(existsSync(join(repoRoot, sourceOf('bench/dist/src/instructions.js')))).toBe(true);
    expect(instructions.length).toBeGreaterThanOrEqual(1);
    const nodeContenders = catalogue.flatMap((s) => s.contenders).filter((c) => !c.python).map((c) => c.id);
    const defaults = /const contenders = ids\.length > 0 \? ids : \[([^\]]+)\];/.exec(readFileSync(join(repoRoot, 'bench/src/instructions.ts'), 'utf8'));
    expect(defaults, 'bench/src/instructions.ts no longer names its default contenders in the form this test reads').not.toBeNull();
    const ids = [...instructions.flat(), ...[...defaults![1]!.matchAll(/'([a-z-]+)'/g)].map((m) => m[1]!)];
    for (const id of ids) {
      expect(nodeContenders, `bench:instructions ${id}`).toContain(id);
      expect(existsSync(join(repoRoot, `bench/servers/${id}.ts`)), `bench/servers/${id}.ts`).toBe(true);
    }
  });

  it('each pnpm bench command passes the harness\'s parser, with scenarios and contenders it has', () => {
    const options = benchOptions();
    for (const args of bench) {
      const where = `pnpm bench ${args.join(' ')}`;
      const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true }); // throws on an unknown flag
      const chosen = positionals.length === 0 ? catalogue : positionals.map((p) => catalogue.find((s) => s.id === p || String(s.number) === p));
      expect(chosen.every((s) => s !== undefined), `${where}: unknown scenario`).toBe(true);
      for (const key of ['rounds', 'seconds', 'warmup', 'mib'] as const) {
        if (values[key] !== undefined) expect(Number(values[key]), `${where}: --${key}`).toBeGreaterThan(0);
      }
      if (typeof values.only === 'string') {
        // main.ts keeps only these contenders of each scenario; an id no chosen scenario has would measure nothing.
        for (const id of values.only.split(',')) {
          for (const s of chosen) expect(s!.contenders.map((c) => c.id), `${where}: --only ${id} in ${s!.id}`).toContain(id);
        }
      }
    }
  });

  it('names each scenario by id and number as the harness does, and only options its parser has', () => {
    const part = runningIt();
    const listed = [...part.matchAll(/`([a-z0-9-]+)` \((\d+)\)/g)].map((m) => `${m[2]} ${m[1]}`);
    expect(listed).toEqual(catalogue.map((s) => `${s.number} ${s.id}`));
    expect(part).toContain('one scenario, by id or number (`pnpm bench 1`)');
    expect(catalogue.find((s) => s.number === 1)!.id).toBe(bench.find((a) => a.length === 1)![0]);
    const options = Object.keys(benchOptions());
    const prose = part.slice(part.indexOf('Options:'));
    for (const [, flag] of prose.matchAll(/`--([a-z-]+)/g)) expect(options, `${PAGE} documents --${flag}`).toContain(flag);
  });

  it('runs profile-summary from the bench build on the profiles that --cpu-prof writes', () => {
    const [, script, pattern] = commands.at(-1)!;
    expect(existsSync(join(repoRoot, sourceOf(script!))), `${script} has no source`).toBe(true);
    // The page's glob must match the files a Node contender writes with --cpu-prof into main.ts's default folder.
    expect(posix.dirname(pattern!)).toBe(posix.relative(repoRoot, join(defaultOut(), 'profiles')));
    const profiled = bench.find((a) => a.includes('--cpu-prof'))!;
    const id = /^([a-z-]+)\./.exec(posix.basename(pattern!))![1]!;
    expect(profiled[profiled.indexOf('--only') + 1]!.split(',')).toContain(id);
    const contender = catalogue.flatMap((s) => s.contenders).find((c) => c.id === id)!;
    const argv = contender.server(8000, join(defaultOut(), 'profiles')).argv;
    expect(argv).toContain(`--cpu-prof-dir=${join(defaultOut(), 'profiles')}`);
    const name = argv.find((a) => a.startsWith('--cpu-prof-name='))!.slice('--cpu-prof-name='.length);
    const glob = new RegExp(`^${posix.basename(pattern!).replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
    expect(name).toMatch(glob);
  });
});
