/**
 * docs/writing-a-framework.md cannot drift from the code: each of its code
 * blocks is an excerpt of a file (`<!-- excerpt: path -->`, found there
 * line for line, indentation aside), a whole file (`<!-- file: path -->`),
 * or a sh block of commands checked here. The guide's sample app is run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsgiTestClient } from '@tsgi/core';
import { describe, expect, it } from 'vitest';
import { app } from './fixtures/guide-app.js';

const root = join(import.meta.dirname, '..', '..');
const guide = readFileSync(join(root, 'docs', 'writing-a-framework.md'), 'utf8');
const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

interface Block {
  line: number;
  lang: string;
  code: string;
  marker: { kind: 'excerpt' | 'file'; path: string } | null;
}

/** The fenced blocks of a Markdown text, each with the marker comment on the line above it, if any. */
function blocks(text: string): Block[] {
  const lines = text.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    const marker = /^<!-- (excerpt|file): (\S+) -->$/.exec(lines[i - 1] ?? '');
    out.push({ line: i + 1, lang: open[1]!, code: lines.slice(i + 1, end).join('\n'), marker: marker ? { kind: marker[1] as 'excerpt' | 'file', path: marker[2]! } : null });
    i = end;
  }
  return out;
}

/** True when `excerpt`'s lines appear consecutively in `file`, all shifted by one indentation. */
function isExcerptOf(excerpt: string, file: string): boolean {
  const want = excerpt.split('\n');
  const have = file.split('\n');
  for (let start = 0; start + want.length <= have.length; start++) {
    const indent = /^\s*/.exec(have[start]!)![0];
    if (want.every((w, k) => (w === '' ? have[start + k]!.trim() === '' : have[start + k] === indent + w))) return true;
  }
  return false;
}

describe('docs/writing-a-framework.md', () => {
  const all = blocks(guide);

  it('quotes the code exactly', () => {
    expect(all.filter((b) => b.marker !== null).length).toBeGreaterThan(10);
    for (const block of all) {
      if (block.marker === null) continue;
      const path = join(root, block.marker.path);
      expect(existsSync(path), `line ${block.line}: ${block.marker.path} does not exist`).toBe(true);
      const file = readFileSync(path, 'utf8');
      if (block.marker.kind === 'file') expect(block.code + '\n', `line ${block.line} differs from ${block.marker.path}`).toBe(file);
      else expect(isExcerptOf(block.code, file), `line ${block.line} is not an excerpt of ${block.marker.path} (any more)`).toBe(true);
    }
  });

  it('has only shell commands that exist', () => {
    for (const block of all.filter((b) => b.marker === null)) {
      expect(block.lang, `line ${block.line}: a block without a marker must be sh`).toBe('sh');
      for (const command of block.code.split('\n').filter((l) => l.trim() !== '')) {
        const pnpm = /^npx -y pnpm@10 (\w+)$/.exec(command);
        const vitest = /^npx vitest run (\S+)$/.exec(command);
        if (pnpm) expect(scripts, `line ${block.line}: ${command}`).toContain(pnpm[1]);
        else if (vitest) expect(existsSync(join(root, vitest[1]!)), `line ${block.line}: ${command}`).toBe(true);
        else expect.fail(`line ${block.line}: no check for the command ${command}`);
      }
    }
  });

  it('links only to files that exist', () => {
    for (const [, target] of guide.matchAll(/`((?:examples|docs|packages)\/[\w./-]+\.(?:ts|md|html))`/g)) {
      expect(existsSync(join(root, target!)), target).toBe(true);
    }
  });
});

describe('the guide’s sample app', () => {
  it('answers as the guide says', async () => {
    await using client = await AsgiTestClient.start(app);
    expect((await client.get('/users/7', { query: { page: 2 } })).json()).toEqual({ id: '7', page: '2' });
    const created = await client.post('/users', { json: { name: 'ann' } });
    expect([created.status, created.json()]).toEqual([201, { name: 'ann' }]);
    const admin = await client.get('/admin');
    expect([admin.status, admin.text()]).toEqual([403, 'admins only\n']);
    await using ws = await client.websocket('/echo');
    ws.sendText('ping');
    expect(await ws.receiveText()).toBe('ping');
  });
});
