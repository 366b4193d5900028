/**
 * The ASGI spec text, the types and the tests stay in step: every event type
 * of asgi/types.ts is described in spec/asgi*.md, and every clause the ASGI
 * checks and cycles enforce is broken on purpose by some test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (...p: string[]) => readFileSync(join(ROOT, ...p), 'utf8');
const asgiSpec = readdirSync(join(ROOT, 'spec'))
  .filter((f) => f.startsWith('asgi') && f.endsWith('.md'))
  .map((f) => read('spec', f))
  .join('\n');

describe('ASGI spec coverage', () => {
  it('describes every event type the types declare', () => {
    const types = [...read('packages/core/src/asgi/types.ts').matchAll(/type: '([a-z_.]+)'/g)].map((m) => m[1]!);
    expect(types.length).toBeGreaterThan(25);
    expect(types.filter((t) => !asgiSpec.includes(`\`${t}\``))).toEqual([]);
  });

  it('every clause the ASGI checks and cycles enforce is broken by a test', () => {
    const srcDir = join(ROOT, 'packages/core/src/asgi');
    const enforced = new Set<string>();
    for (const f of readdirSync(srcDir).filter((f) => f.endsWith('.ts') && f !== 'types.ts' && f !== 'scope.ts')) {
      for (const m of read('packages/core/src/asgi', f).matchAll(/'(asgi\.[a-z0-9_.]+\.[0-9]+)'/g)) enforced.add(m[1]!);
    }
    const testDir = join(ROOT, 'packages/core/test');
    const tests = readdirSync(testDir)
      .filter((f) => f.startsWith('asgi-') && f.endsWith('.test.ts') && f !== 'asgi-spec.test.ts')
      .map((f) => read('packages/core/test', f))
      .join('\n');
    expect(enforced.size).toBeGreaterThan(40);
    expect([...enforced].filter((id) => !tests.includes(`'${id}'`)).sort()).toEqual([]);
  });
});
