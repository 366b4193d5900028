import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { loadApp, parseAppSpec } from '../src/load-app.js';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('parseAppSpec', () => {
  it('defaults the export to app and resolves the file against the working directory', () => {
    expect(parseAppSpec('src/main.ts', '/srv')).toEqual({ path: '/srv/src/main.ts', exportName: 'app', display: 'src/main.ts' });
  });

  it('takes the export after the last colon', () => {
    expect(parseAppSpec('main.ts:default', '/srv')).toMatchObject({ path: '/srv/main.ts', exportName: 'default' });
    expect(parseAppSpec('/abs/main.js:handler', '/srv')).toMatchObject({ path: '/abs/main.js', exportName: 'handler' });
  });

  it('refuses an empty export name or file', () => {
    expect(() => parseAppSpec('main.ts:', '/srv')).toThrow(/missing the export name/);
    expect(() => parseAppSpec(':app', '/srv')).toThrow(CliError);
    expect(() => parseAppSpec('main.ts:not-an-identifier', '/srv')).toThrow(/not a JavaScript identifier/);
  });
});

describe('loadApp', () => {
  it('imports a .ts module through tsx and returns the named export', async () => {
    const app = await loadApp(parseAppSpec(join(fixtures, 'asgi-app.ts')));
    expect(typeof app).toBe('function');
  });

  it('returns a default export with :default', async () => {
    const app = await loadApp(parseAppSpec(`${join(fixtures, 'fetch-app.ts')}:default`));
    expect(app).toHaveProperty('fetch');
  });

  it('names a missing file', async () => {
    await expect(loadApp(parseAppSpec(join(fixtures, 'nope.ts')))).rejects.toThrow(/cannot find the app module .*nope\.ts/);
  });

  it('names a missing export and lists the ones there are', async () => {
    const e = await loadApp(parseAppSpec(`${join(fixtures, 'asgi-app.ts')}:application`)).catch((e: unknown) => e);
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(2);
    expect((e as CliError).message).toMatch(/has no export named "application" \(exports: app\)/);
  });

  it('reports a module that throws while importing, exit code 1', async () => {
    const e = await loadApp(parseAppSpec(join(fixtures, 'throws-on-import.ts'))).catch((e: unknown) => e);
    expect((e as CliError).exitCode).toBe(1);
    expect((e as CliError).message).toMatch(/error while importing .*Error: config missing/);
  });
});
