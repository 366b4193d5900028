/**
 * The docs cannot drift from the code: every fenced block of these pages is
 * either a verbatim copy of a file that a test runs (`<!-- file: … -->` above
 * it) or a shell block whose every command is one this test knows how to
 * check (a `tsgi serve` whose flags parse and whose app file exists, a script
 * of package.json, a test file that exists). Relative links and repository
 * paths named in inline code must resolve.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fencedBlocks, shellCommands } from '../docs/support/markdown.js';
import { repoRoot } from '../docs/support/tsgi-process.js';
import { checkCommand } from './docs-page-checks.js';

const PAGES = ['docs/README.md', 'docs/getting-started.md', 'docs/deploying.md', 'docs/from-python.md'];

describe.each(PAGES)('%s', (page) => {
  const text = readFileSync(join(repoRoot, page), 'utf8');
  const blocks = fencedBlocks(text);

  it('shows each sample file verbatim', () => {
    for (const block of blocks.filter((b) => b.file !== undefined)) {
      const path = join(repoRoot, block.file!);
      expect(existsSync(path), `${page}:${block.line} names a missing file ${block.file}`).toBe(true);
      expect(block.code, `${page}:${block.line} differs from ${block.file} (run examples/docs/support/sync-docs.ts)`).toBe(readFileSync(path, 'utf8'));
    }
  });

  it('has no code block that no test runs', () => {
    for (const block of blocks) {
      if (block.file !== undefined) continue;
      expect(block.lang, `${page}:${block.line}: a code block without <!-- file: … --> must be a sh block of checked commands`).toBe('sh');
      const commands = shellCommands(block.code);
      expect(commands.length, `${page}:${block.line}: empty shell block`).toBeGreaterThan(0);
      for (const command of commands) expect(checkCommand(command), `${page}:${block.line}`).toBeNull();
    }
  });

  it('links only to files that exist', () => {
    const outsideCode = text.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
    for (const [, target] of outsideCode.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue;
      const path = join(repoRoot, dirname(page), target!.replace(/#.*$/, ''));
      expect(existsSync(path), `${page} links to ${target}, which does not exist`).toBe(true);
    }
  });

  it('names only repository files that exist', () => {
    const outsideCode = text.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1$/gm, '');
    for (const [, span] of outsideCode.matchAll(/`([^`\s]+)`/g)) {
      if (!/^(examples|docs|packages|spec|scripts|conformance-tests)\/[\w./@-]+$/.test(span!)) continue; // not a plain repo path
      expect(existsSync(join(repoRoot, span!)), `${page} names ${span}, which does not exist`).toBe(true);
    }
  });
});
