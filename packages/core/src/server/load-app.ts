/**
 * The one module loader of apps given by reference (spec wsgi.loading.module.1):
 * the CLI, every worker thread of the pool and of the servers, and the
 * bridge import an app through it. TypeScript apps need tsx's loader
 * registered first; the entry points that may load them (the CLI, the
 * worker entries) do that, since the hooks belong to the thread.
 */
import { isAbsolute } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
  const found = exportOf(mod, name);
  if (!found.ok) throw new AppImportError(`module ${ref.module} has no export named "${name}" (exports: ${exportNames(mod)})`, 'export');
  return ref.factory === true ? callFactory(ref, found.value) : found.value;
}

/** The app a factory export returns (ref.factory): the export must be a function, awaited if it returns a promise. */
async function callFactory(ref: ModuleRef, factory: unknown): Promise<unknown> {
  const name = ref.exportName ?? 'app';
  if (typeof factory !== 'function') {
    throw new AppImportError(`export "${name}" of ${ref.module} must be a function that returns the app (factory); got ${factory === null ? 'null' : typeof factory}`, 'export');
  }
  try {
    return await (factory as () => unknown)();
  } catch (e) {
    const detail = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    throw new AppImportError(`error while calling the app factory "${name}" of ${ref.module}: ${detail}`, 'import', e);
  }
}

/**
 * Imports the export of `ref` (default `app`), which must be a function;
 * `kind` names the interface in the error, which lists the module's exports.
 */
export async function importApp<T>(ref: ModuleRef, kind: 'ASGI-TS' | 'WSGI-TS'): Promise<T> {
  const mod = await importModule(ref);
  const name = ref.exportName ?? 'app';
  const found = exportOf(mod, name).value;
  const app = ref.factory === true ? await callFactory(ref, found) : found;
  if (typeof app !== 'function') {
    const clause = kind === 'WSGI-TS' ? '[wsgi.loading.module.1] ' : '';
    const what = ref.factory === true ? `factory export "${name}" that returns a ${kind} app` : `function export "${name}" that is a ${kind} app`;
    throw new TypeError(`${clause}${ref.module} has no ${what} (exports: ${exportNames(mod)})`);
  }
  return app as T;
}

async function importModule(ref: ModuleRef): Promise<Record<string, unknown>> {
  if (typeof ref !== 'object' || ref === null || typeof ref.module !== 'string') {
    throw new TypeError(`an app reference must be { module, exportName? }; got ${typeof ref === 'object' ? JSON.stringify(ref) : String(ref)}`);
  }
  try {
    const specifier = moduleSpecifier(ref);
    if (CTS.test(specifier.split(/[?#]/)[0]!)) return requireCommonJs(specifier);
    return (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    const detail = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    throw new AppImportError(`error while importing ${ref.module}: ${detail}${typeScriptHint(ref.module, e)}`, 'import', e);
  }
}

const CTS = /\.cts$/;
const requireHere = createRequire(import.meta.url);

/**
 * A .cts module, through require(): import() would run it in the ES loader's CommonJS translator
 * (tsx's ESM hook hands it over as source), whose require() cannot load an ES module such as
 * @tsgi/core on Node 20 ("request for './bytes.js' is not in cache"); the CommonJS loader can.
 * The result is shaped as import() shapes a CommonJS module: its exports, and `default`.
 */
function requireCommonJs(specifier: string): Record<string, unknown> {
  const exports = requireHere(specifier.startsWith('file:') ? fileURLToPath(specifier) : specifier) as Record<string, unknown>;
  return { ...exports, default: exports };
}

/**
 * The export `name` of a loaded module. A CommonJS module (a .cjs or .cts file, or a .ts or .js one
 * in a package without "type": "module") comes as a namespace whose `default` is its
 * `module.exports`; Node finds its named exports by scanning the source, which for TypeScript
 * compiled by tsx's CommonJS hook it cannot, so those are read from `default`.
 */
function exportOf(mod: Record<string, unknown>, name: string): { ok: boolean; value: unknown } {
  if (name in mod) return { ok: true, value: mod[name] };
  const cjs = mod['default'];
  if ((typeof cjs === 'object' && cjs !== null) || typeof cjs === 'function') {
    if (name in cjs) return { ok: true, value: (cjs as Record<string, unknown>)[name] };
  }
  return { ok: false, value: undefined };
}

const TS_EXTENSION = /\.[cm]?tsx?$/;

/** What to do when a TypeScript module failed because tsx's hooks are missing from this thread. */
function typeScriptHint(module: string, e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (!TS_EXTENSION.test(module.split(/[?#]/)[0]!)) return '';
  if (code !== 'ERR_UNKNOWN_FILE_EXTENSION' && code !== 'ERR_REQUIRE_CYCLE_MODULE') return '';
  return " (TypeScript apps need tsx's hooks in the thread that imports them: register() from both 'tsx/esm/api' and 'tsx/cjs/api', or run node with --import tsx)";
}

function exportNames(mod: Record<string, unknown>): string {
  const cjs = mod['default'];
  const inner = (typeof cjs === 'object' && cjs !== null) || typeof cjs === 'function' ? Object.keys(cjs) : [];
  const names = [...new Set([...Object.keys(mod), ...inner])].filter((k) => k !== '__esModule');
  return names.length > 0 ? names.join(', ') : 'none';
}
