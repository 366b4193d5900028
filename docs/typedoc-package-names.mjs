// Names each module of the API reference after its package (`@tsgi/core`)
// instead of its entry file's folder (`core/src`), and gives it the leading
// doc comment of that entry file as its overview (the files start with one,
// not tagged @packageDocumentation, which typedoc would otherwise need).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Comment, Converter, ReflectionKind } from 'typedoc';

const packagesDir = join(import.meta.dirname, '..', 'packages');

/** The text of the first `/** … *\/` comment of a file, without its stars; null when the file starts otherwise. */
function leadingComment(file) {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, 'utf8'));
  if (!match) return null;
  return match[1].split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n').trim();
}

/** The export of package folder `dir` whose source is `src/<sub>.ts` or `src/<sub>/index.ts` (`src/index.ts` without `sub`): its name and source file; null when none. */
function exportOf(dir, sub) {
  const pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
  const sources = sub === undefined ? ['./src/index.ts'] : [`./src/${sub}.ts`, `./src/${sub}/index.ts`];
  for (const [key, value] of Object.entries(pkg.exports ?? {})) {
    if (typeof value === 'object' && sources.includes(value.source)) return { name: key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`, source: value.source };
  }
  return null;
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      // `core/src` is @tsgi/core; `core/src/server` its subpath export @tsgi/core/server; `bridge/src/hosts/bun`
      // the export whose source is that file, @tsgi/bridge/bun (the package.json's `exports` decide).
      const match = /^([\w-]+)\/src(?:\/([\w/-]+))?$/.exec(mod.name);
      if (!match) continue;
      const found = exportOf(match[1], match[2]);
      if (found === null) continue;
      mod.name = found.name;
      const text = leadingComment(join(packagesDir, match[1], found.source));
      if (text !== null && !mod.comment) mod.comment = new Comment(Comment.parseMarkdown ? Comment.parseMarkdown(text) : [{ kind: 'text', text }]);
    }
  });
}
