/**
 * Importing a sync app by module reference (DESIGN decision 3): each worker
 * thread, and the inline mode, load the app themselves.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModuleRef, WsgiApplication } from '@tsgi/core';

/** The import specifier of a module reference: file: URLs stay, absolute paths become file: URLs. */
export function moduleUrl(ref: ModuleRef): string {
  if (isAbsolute(ref.module)) return pathToFileURL(ref.module).href;
  return ref.module;
}

/** Imports the module and returns its WSGI-TS app export; throws a clear error when it is missing or not a function. */
export async function loadWsgiApp(ref: ModuleRef): Promise<WsgiApplication> {
  const name = ref.exportName ?? 'app';
  const mod = (await import(moduleUrl(ref))) as Record<string, unknown>;
  const app = mod[name];
  if (typeof app !== 'function') {
    const found = Object.keys(mod).join(', ') || 'nothing';
    throw new TypeError(`[wsgi.loading.module.1] ${ref.module} has no function export "${name}" (exports: ${found})`);
  }
  return app as WsgiApplication;
}
