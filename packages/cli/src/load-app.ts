/**
 * Finds and imports the app named by `<file>[:<export>]`. Modules are loaded
 * through tsx, so `.ts` apps run without a build step.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModuleRef } from '@tsgi/core';
import { AppImportError, importExport } from '@tsgi/core/server';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.js';

/** `<file>[:<export>]` split and resolved against the working directory. */
export interface AppSpec {
  /** Absolute path of the module. */
  path: string;
  exportName: string;
  /** The form the user typed, for messages. */
  display: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Splits `<file>[:<export>]`; the export defaults to `app`. */
export function parseAppSpec(spec: string, cwd: string = process.cwd()): AppSpec {
  const colon = spec.lastIndexOf(':');
  let file = spec;
  let exportName = 'app';
  if (colon === 0) throw new CliError(`missing the module file before ":" in ${JSON.stringify(spec)}`);
  if (colon > 0 && IDENTIFIER.test(spec.slice(colon + 1))) {
    file = spec.slice(0, colon);
    exportName = spec.slice(colon + 1);
  } else if (colon > 0 && colon === spec.length - 1) {
    throw new CliError(`missing the export name after ":" in ${JSON.stringify(spec)}`);
  } else if (colon > 0 && !existsSync(resolve(cwd, spec))) {
    throw new CliError(`the export name in ${JSON.stringify(spec)} is not a JavaScript identifier`);
  }
  if (file === '') throw new CliError(`missing the module file in ${JSON.stringify(spec)}`);
  return { path: resolve(cwd, file), exportName, display: spec };
}

/** The ModuleRef that worker threads use to import the same app. */
export function moduleRefOf(spec: AppSpec, factory = false): ModuleRef {
  const ref: ModuleRef = { module: pathToFileURL(spec.path).href, exportName: spec.exportName };
  if (factory) ref.factory = true;
  return ref;
}

let tsxRegistered = false;

/**
 * Imports the module with tsx and returns the named export (with `factory`, what the exported
 * function returns); a missing file or export is a CliError.
 */
export async function loadApp(spec: AppSpec, factory = false): Promise<unknown> {
  if (!existsSync(spec.path)) throw new CliError(`cannot find the app module ${spec.path}`);
  if (!statSync(spec.path).isFile()) throw new CliError(`the app module ${spec.path} is not a file`);
  if (!tsxRegistered) {
    // Both hooks: the ESM one for ES modules, the CommonJS one for .ts/.cts files that a package
    // without "type": "module" makes CommonJS (the ESM hook alone fails those with ERR_REQUIRE_CYCLE_MODULE).
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
    tsxRegistered = true;
  }
  try {
    return await importExport({ module: spec.path, exportName: spec.exportName, ...(factory ? { factory } : {}) });
  } catch (e) {
    if (e instanceof AppImportError) throw new CliError(e.message + causeDetail(e), e.kind === 'import' ? EXIT_FAILURE : EXIT_USAGE);
    throw e;
  }
}

/**
 * The lines of the import error's message after its first (which the error already quotes): for a
 * syntax error, where it is (`app.ts:6:19: ERROR: Unexpected end of file`). No stack trace.
 */
function causeDetail(e: AppImportError): string {
  const cause = e.cause;
  if (!(cause instanceof Error)) return '';
  const rest = cause.message.split('\n').slice(1).filter((l) => l.trim() !== '');
  return rest.length === 0 ? '' : `\n${rest.map((l) => `  ${l.trim()}`).join('\n')}`;
}
