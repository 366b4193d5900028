/**
 * Rewrites every `<!-- file: … -->` block of the given markdown files with
 * the file's current content, after a sample changed:
 * `node examples/docs/support/sync-docs.ts docs/*.md` (Node 20: add `--import tsx`).
 * The docs tests fail until this is done, so samples and docs cannot drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fencedBlocks } from './markdown.js';
import { repoRoot } from './tsgi-process.js';

for (const doc of process.argv.slice(2)) {
  const lines = readFileSync(doc, 'utf8').split('\n');
  // From the last block up, so earlier line numbers stay valid while later blocks change length.
  for (const block of fencedBlocks(lines.join('\n')).reverse()) {
    if (block.file === undefined) continue;
    const content = readFileSync(join(repoRoot, block.file), 'utf8').replace(/\n$/, '').split('\n');
    const bodyLines = block.code.split('\n').length - 1;
    lines.splice(block.line, bodyLines, ...content);
  }
  writeFileSync(doc, lines.join('\n'));
}
