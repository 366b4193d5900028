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

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      // `core/src` is @tsgi/core; `core/src/server` its subpath export @tsgi/core/server.
      const match = /^([\w-]+)\/src(?:\/([\w-]+))?$/.exec(mod.name);
      if (!match) continue;
      mod.name = match[2] === undefined ? `@tsgi/${match[1]}` : `@tsgi/${match[1]}/${match[2]}`;
      const text = leadingComment(join(packagesDir, match[1], 'src', ...(match[2] === undefined ? [] : [match[2]]), 'index.ts'));
      if (text !== null && !mod.comment) mod.comment = new Comment(Comment.parseMarkdown ? Comment.parseMarkdown(text) : [{ kind: 'text', text }]);
    }
  });
}
