import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isNativeBinding, loadBinding } from '@tsgi/uws';

const bindingSource = fileURLToPath(new URL('../src/binding.ts', import.meta.url));

describe('the uWebSockets.js binding', () => {
  it('loads the native build', () => {
    const { uws, packageName } = loadBinding();
    expect(isNativeBinding(uws)).toBe(true);
    expect(['uWebSockets.js', '@trufflesuite/uws-js-unofficial']).toContain(packageName);
  });

  it('tells native code from a JavaScript imitation', () => {
    expect(isNativeBinding({ App: function App() {} } as never)).toBe(false);
  });

  it('refuses, with a clear message, when only the slow JavaScript fallback loads', () => {
    // UWS_USE_FALLBACK makes the package load its JS imitation, as it does silently when the binary does not fit.
    const script = `import(${JSON.stringify(bindingSource)}).then((m) => { try { m.loadBinding(); console.log('LOADED'); } catch (e) { console.log(e.message); } })`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
      env: { ...process.env, UWS_USE_FALLBACK: '1' },
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(out).not.toContain('LOADED');
    expect(out).toMatch(/needs a native uWebSockets\.js binary/);
    expect(out).toMatch(/loaded its slow JavaScript fallback/);
  });
});
