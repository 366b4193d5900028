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

  it("gives no peer port, which is why the access log shows a uws client without one: the minimal program", async () => {
    // If a build ever gains one (later uWebSockets.js have getRemotePort), request-head.ts should read it.
    const { uws } = loadBinding();
    const app = uws.App();
    const seen = await new Promise<{ methods: string[]; text: string }>((resolve, reject) => {
      app.get('/*', (res) => {
        const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(res));
        const text = Buffer.from(res.getRemoteAddressAsText()).toString();
        res.end('');
        resolve({ methods, text });
      });
      app.listen('127.0.0.1', 0, (socket) => {
        if (!socket) return reject(new Error('cannot listen'));
        fetch(`http://127.0.0.1:${uws.us_socket_local_port(socket)}/`).catch(reject);
      });
    });
    (app as unknown as { close(): void }).close();
    expect(seen.methods).toContain('getRemoteAddress');
    expect(seen.methods.filter((m) => /port/i.test(m))).toEqual([]);
    // The text form is the address alone, no ':port'.
    expect(seen.text).toBe('127.0.0.1');
  });
});
