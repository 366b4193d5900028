/**
 * The one module loader of apps given by reference (spec wsgi.loading.module.1):
 * the CLI, every worker thread of the pool and of the servers, and the
 * bridge import an app through it. TypeScript apps need tsx's loader
 * registered first; the entry points that may load them (the CLI, the
 * worker entries) do that, since the hooks belong to the thread.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModuleRef } from './handle.js';

/** The import specifier of a module reference: URLs stay, absolute paths become file: URLs. */
export function moduleSpecifier(ref: ModuleRef): string {
  if (isAbsolute(ref.module)) return pathToFileURL(ref.module).href;
  return ref.module;
}

/** An app module could not be loaded: it failed to import, or it lacks the export. */
export class AppImportError extends Error {
  override name = 'AppImportError';
  constructor(
    message: string,
    /** 'import': the module threw while loading (the error is the cause); 'export': the export is missing or not an app. */
    readonly kind: 'import' | 'export',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** Imports the module of `ref` and returns its export (default `app`), whatever it is; AppImportError when it cannot. */
export async function importExport(ref: ModuleRef): Promise<unknown> {
  const mod = await importModule(ref);
  const name = ref.exportName ?? 'app';
  if (!(name in mod)) throw new AppImportError(`module ${ref.module} has no export named "${name}" (exports: ${exportNames(mod)})`, 'export');
  return mod[name];
}

/**
 * Imports the export of `ref` (default `app`), which must be a function;
 * `kind` names the interface in the error, which lists the module's exports.
 */
export async function importApp<T>(ref: ModuleRef, kind: 'ASGI-TS' | 'WSGI-TS'): Promise<T> {
  const mod = await importModule(ref);
  const name = ref.exportName ?? 'app';
  const app = mod[name];
  if (typeof app !== 'function') {
    const clause = kind === 'WSGI-TS' ? '[wsgi.loading.module.1] ' : '';
    throw new TypeError(`${clause}${ref.module} has no function export "${name}" that is a ${kind} app (exports: ${exportNames(mod)})`);
  }
  return app as T;
}

async function importModule(ref: ModuleRef): Promise<Record<string, unknown>> {
  if (typeof ref !== 'object' || ref === null || typeof ref.module !== 'string') {
    throw new TypeError(`an app reference must be { module, exportName? }; got ${typeof ref === 'object' ? JSON.stringify(ref) : String(ref)}`);
  }
  try {
    return (await import(moduleSpecifier(ref))) as Record<string, unknown>;
  } catch (e) {
    const detail = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    throw new AppImportError(`error while importing ${ref.module}: ${detail}`, 'import', e);
  }
}

function exportNames(mod: Record<string, unknown>): string {
  const names = Object.keys(mod).filter((k) => k !== '__esModule');
  return names.length > 0 ? names.join(', ') : 'none';
}
