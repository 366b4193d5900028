/**
 * docs/conformance.md cannot drift from the `tsgi-conformance` command and
 * from library mode: every command of the page passes the command's own
 * argument parser with the options its --help prints, names only
 * placeholders the suite fills in, and two of them (tsgi serve, both
 * interfaces) are run for real on a small --only prefix; the option table is
 * the --help option list (both ways); the library-mode block is a verbatim
 * copy of examples/docs/conformance-suite.test-sample.ts, which this file
 * imports so its conformanceSuite() call runs (on the same small prefix).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { allChecks, asgiHttpChecks, asgiWebSocketChecks, fillTemplate, httpWireChecks, main, selectChecks, wsgiChecks } from '@tsgi/conformance';
import type { SuiteOptions } from '@tsgi/conformance/vitest';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fencedBlocks, shellCommands, shellWords } from '../docs/support/markdown.js';
import { repoRoot } from '../docs/support/tsgi-process.js';
import { pageProblems, readPage } from './docs-page-checks.js';
import '../docs/conformance-suite.test-sample.js';

const PAGE = 'docs/conformance.md';
const text = readPage(PAGE);
// The sample calls conformanceSuite() as a server's own test file would: it runs here for real, but only on the
// checks of a small prefix, which the tsgi servers all pass (the whole suite runs on @tsgi/uws, with its known
// failures, in conformance-tests/test/tsgi-servers.test.ts). The same prefix keeps the command runs below cheap.
const sample = vi.hoisted(() => ({ calls: [] as SuiteOptions[], only: 'http-basic' }));
const ONLY = sample.only;
vi.mock('@tsgi/conformance/vitest', async (importOriginal) => {
  const real = await importOriginal<typeof import('@tsgi/conformance/vitest')>();
  return {
    ...real,
    conformanceSuite: (opts: SuiteOptions) => {
      sample.calls.push(opts);
      real.conformanceSuite({ ...opts, only: sample.only, name: 'the library-mode sample of docs/conformance.md' });
    },
  };
});

/** The commands of the page's sh blocks that run tsgi-conformance, as argv after the command name. */
function conformanceCommands(): string[][] {
  return fencedBlocks(text)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => shellCommands(b.code))
    .map(shellWords)
    .filter((w) => w.includes('tsgi-conformance'))
    .map((w) => {
      // The project's way to run a workspace bin: pnpm is reached through npx only.
      expect(w.slice(0, 5), w.join(' ')).toEqual(['npx', '-y', 'pnpm@10', 'exec', 'tsgi-conformance']);
      return w.slice(5);
    });
}

/** `tsgi-conformance --help` as the command prints it. */
async function help(): Promise<string> {
  const out: string[] = [];
  expect(await main(['--help'], (l) => out.push(l))).toBe(0);
  return out.join('\n');
}

/** The options of the run form (not `coverage`/`list`) that --help shows, each with its metavar ('' for a switch). */
async function runOptions(): Promise<Map<string, string>> {
  const forms = (await help()).split('\n').filter((l) => /^ {2}tsgi-conformance --/.test(l));
  expect(forms.length).toBe(2); // --server-cmd and --url
  return new Map(forms.flatMap((l) => [...l.matchAll(/--([a-z-]+)(?: ((?!-)(?:"[^"]*"|[^\s\]]+)))?/g)].map((m) => [m[1]!, m[2] ?? ''] as const)));
}

describe(PAGE, () => {
  it('has only checked samples, links and paths that exist', () => {
    // tsgi-conformance and `npx tsc -b` are checked by the tests below, which docs-page-checks does not know.
    const ours = (p: string) => /(a command no test checks|unknown pnpm command): (npx tsc -b|npx -y pnpm@10 exec tsgi-conformance .*)$/.test(p);
    expect(pageProblems(PAGE).filter((p) => !ours(p))).toEqual([]);
  });

  it('builds the dist/ that the tsgi-conformance command runs, with `npx tsc -b`', () => {
    const commands = fencedBlocks(text).filter((b) => b.lang === 'sh').flatMap((b) => shellCommands(b.code));
    expect(commands.filter((c) => !c.includes('tsgi-conformance'))).toEqual(['npx tsc -b']);
    const references = (JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as { references: { path: string }[] }).references;
    expect(references.map((r) => r.path)).toContain('conformance-tests');
    expect(readFileSync(join(repoRoot, 'conformance-tests/bin/tsgi-conformance.js'), 'utf8')).toContain("from '../dist/cli.js'");
  });

  it('gives the numbers of checks that tsgi-conformance list prints', async () => {
    const out: string[] = [];
    expect(await main(['list'], (l) => out.push(l))).toBe(0);
    expect(out.at(-1)).toBe(`${allChecks.length} checks`);
    const claim = /- (\d+) checks: (\d+) HTTP\/1\.1 wire checks .*?, (\d+) ASGI `http`,\s+extension and lifespan checks, (\d+) ASGI `websocket` checks[\s\S]*?and (\d+) WSGI checks; (\d+) run against an ASGI server, (\d+) against a WSGI server/.exec(text);
    expect(claim, `${PAGE} no longer states the numbers of checks in the form this test reads`).not.toBeNull();
    expect(claim!.slice(1).map(Number)).toEqual([
      allChecks.length,
      httpWireChecks.length,
      asgiHttpChecks.length,
      asgiWebSocketChecks.length,
      wsgiChecks.length,
      selectChecks('asgi').length,
      selectChecks('wsgi').length,
    ]);
  });

  describe('the tsgi-conformance commands', () => {
    it('use only options --help lists, with values it accepts, and --server-cmd or --url', async () => {
      const options = await runOptions();
      const config = Object.fromEntries([...options].map(([name, metavar]) => [name, { type: metavar === '' ? 'boolean' : 'string' } as const]));
      const commands = conformanceCommands();
      expect(commands.length).toBeGreaterThanOrEqual(5);
      for (const args of commands) {
        const where = `tsgi-conformance ${args.join(' ')}`;
        const { values } = parseArgs({ args, options: config, strict: true, allowPositionals: false }); // throws on an unknown flag
        expect(options.get('interface')!.split('|'), where).toContain(values.interface);
        expect([values['server-cmd'], values.url].filter((v) => v !== undefined), where).toHaveLength(1);
      }
    });

    it('name only placeholders the suite fills in, and the option table lists exactly those', async () => {
      const helpText = await help();
      const known = new Set([...helpText.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!));
      expect([...known].sort()).toEqual(['app', 'app_export', 'app_path', 'host', 'port', 'python_dir']);
      // Every placeholder --help names is one the command really fills in.
      for (const name of known) expect(fillTemplate(`{${name}}`, { [name]: 'filled' }), name).toBe('filled');
      // Commented commands included: they are the page's recipes for the other reference servers.
      const shBlocks = fencedBlocks(text).filter((b) => b.lang === 'sh').map((b) => b.code).join('\n');
      for (const [, name] of shBlocks.matchAll(/\{(\w+)\}/g)) expect(known, `${PAGE} uses {${name}}`).toContain(name);
      const row = text.split('\n').find((l) => l.startsWith('| `--server-cmd'));
      expect(new Set([...row!.matchAll(/`\{(\w+)\}`/g)].map((m) => m[1]!))).toEqual(known);
    });

    it('the option table lists exactly the options of --help, with the same values', async () => {
      const options = await runOptions();
      const start = text.indexOf('\nOptions:\n');
      const rows = text.slice(start).split('\n').filter((l) => l.startsWith('| `--'));
      const documented = new Map(rows.map((r) => /^\| `--([a-z-]+)(?: ([^`]+))?`/.exec(r)!).map((m) => [m[1]!, (m[2] ?? '').replace(/\\\|/g, '|')]));
      expect([...documented.keys()].sort()).toEqual([...options.keys()].sort());
      expect(documented.get('interface')).toBe(options.get('interface'));
    });

    describe('run for real on tsgi serve, on a small --only prefix', () => {
      // `tsgi` on the PATH, as `pnpm exec` puts it there, but run from the TypeScript source (no build needed).
      const bin = mkdtempSync(join(tmpdir(), 'tsgi-docs-bin-'));
      const tsgi = join(bin, 'tsgi');
      writeFileSync(tsgi, `#!/bin/sh\nexec "${process.execPath}" --conditions=source --import tsx "${join(repoRoot, 'examples/docs/support/run-tsgi.ts')}" "$@"\n`);
      chmodSync(tsgi, 0o755);
      afterAll(() => rmSync(bin, { recursive: true, force: true }));

      const serveCommands = conformanceCommands().filter((args) => {
        const { values } = parseArgs({ args, options: { interface: { type: 'string' }, 'server-cmd': { type: 'string' } }, strict: false });
        return typeof values['server-cmd'] === 'string' && values['server-cmd'].startsWith('tsgi serve ');
      });

      it('the page runs tsgi serve for both interfaces', () => {
        expect(serveCommands.map((a) => a[a.indexOf('--interface') + 1]).sort()).toEqual(['asgi', 'wsgi']);
      });

      // The pool server starts 8 threads per core, each importing the app through tsx: 7 to 10 s here, more under load.
      it.each(serveCommands.map((args) => ({ iface: args[args.indexOf('--interface') + 1], args })))('the page\'s tsgi-conformance --interface $iface command, with --only', async ({ args }) => {
        const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(repoRoot, 'examples/docs/support/run-conformance.ts'), ...args, '--only', ONLY], {
          cwd: repoRoot,
          env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
        const [code] = (await once(child, 'exit')) as [number | null];
        const lines = out.trim().split('\n');
        expect(code, out).toBe(0);
        const summary = /^(\d+) passed, 0 failed, \d+ skipped$/.exec(lines.at(-1)!);
        expect(summary, out).not.toBeNull();
        expect(Number(summary![1])).toBe(selectChecks(args[args.indexOf('--interface') + 1] as 'asgi' | 'wsgi', ONLY).length);
      }, 40_000);
    });
  });

  describe('the library-mode sample', () => {
    it('is one conformanceSuite() call for ASGI, of which the prefix keeps a check to run', () => {
      expect(sample.calls).toHaveLength(1);
      expect(sample.calls[0]!.interface).toBe('asgi');
      expect(selectChecks('asgi', ONLY).length).toBeGreaterThan(0);
    });
  });
});
