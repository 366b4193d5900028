// Names each module of the API reference after its package (`@tsgi/core`)
// instead of its entry file's folder (`core/src`).
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.getReflectionsByKind(ReflectionKind.Module)) {
      const match = /^([\w-]+)\/src$/.exec(mod.name);
      if (match) mod.name = `@tsgi/${match[1]}`;
    }
  });
}
