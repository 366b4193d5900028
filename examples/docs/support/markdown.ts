/**
 * The fenced code blocks of a markdown document, for the tests that keep the
 * docs' samples honest. A block preceded by `<!-- file: examples/docs/x.ts -->`
 * mirrors that file verbatim; other blocks are checked by their tests.
 */
export interface FencedBlock {
  /** The info string after the opening fence (`ts`, `sh`, `nginx`, …). */
  lang: string;
  /** The block's content, ending with a newline. */
  code: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  /** The repository file the block mirrors, from a `<!-- file: … -->` line just above it. */
  file: string | undefined;
}

const MARKER = /^<!-- file: (\S+) -->$/;

/** Every fenced block of `markdown`, in order; throws on an unclosed fence so a typo cannot hide a sample. */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== fence; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`unclosed code fence at line ${start + 1}`);
    const marker = start > 0 ? MARKER.exec(lines[start - 1]!) : null;
    blocks.push({ lang: open[2]!, code: body.map((l) => `${l}\n`).join(''), line: start + 1, file: marker?.[1] });
  }
  return blocks;
}

/**
 * The commands of a shell block: one per line, comments and blank lines
 * dropped, a trailing `# comment` cut, `\` continuations joined.
 */
export function shellCommands(code: string): string[] {
  const joined = code.replace(/\\\n\s*/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Splits a command line into words, honouring single and double quotes (no expansions). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of command.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}
