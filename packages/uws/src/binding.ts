/**
 * The one module that loads uWebSockets.js. It prefers an
 * installed official `uWebSockets.js`, else the npm build
 * `@trufflesuite/uws-js-unofficial` (same API as uWebSockets.js v20.30), and
 * refuses to go on when only that package's slow JavaScript imitation
 * loaded: it falls back silently when its native binary does not match the
 * platform or Node ABI, and tsgi would rather fail loudly than be slow.
 */
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import type * as Uws from '@trufflesuite/uws-js-unofficial';

export type { AppOptions, HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket, WebSocketBehavior, us_socket_context_t, RecognizedString } from '@trufflesuite/uws-js-unofficial';

/** The uWebSockets.js module API. */
export type UwsModule = typeof Uws;

/** Which package the binding came from. */
export interface LoadedBinding {
  uws: UwsModule;
  /** `uWebSockets.js` or `@trufflesuite/uws-js-unofficial`. */
  packageName: string;
}

const require = createRequire(import.meta.url);
let loaded: LoadedBinding | undefined;

/** True when `App` is a native function, not the JavaScript fallback. */
export function isNativeBinding(uws: Pick<UwsModule, 'App'>): boolean {
  return typeof uws.App === 'function' && Function.prototype.toString.call(uws.App).includes('[native code]');
}

/** Loads (once) and returns the native uWebSockets.js binding; throws a clear Error when no native build loads. */
export function loadBinding(): LoadedBinding {
  if (loaded !== undefined) return loaded;
  const errors: string[] = [];
  for (const packageName of ['uWebSockets.js', '@trufflesuite/uws-js-unofficial']) {
    let uws: UwsModule;
    try {
      uws = requireQuietly(packageName);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND' || !String((e as Error).message).includes(packageName)) {
        errors.push(`${packageName}: ${(e as Error).message}`);
      }
      continue;
    }
    if (isNativeBinding(uws)) {
      loaded = { uws, packageName };
      return loaded;
    }
    errors.push(`${packageName}: loaded its slow JavaScript fallback, not the native binary`);
  }
  throw new Error(
    `@tsgi/uws needs a native uWebSockets.js binary for ${process.platform}-${process.arch} (Node ABI ${process.versions.modules}) and found none` +
      (errors.length > 0 ? `:\n  ${errors.join('\n  ')}` : '') +
      `\nInstall @trufflesuite/uws-js-unofficial@20.30.0-unofficial.0 (linux/darwin x64/arm64, Node 18/20) or the official uWebSockets.js from GitHub.`,
  );
}

// The unofficial package prints a warning to the console when it falls back;
// the refusal above says it better, so silence that warning while loading.
function requireQuietly(packageName: string): UwsModule {
  const warn = console.warn;
  const log = console.log;
  console.warn = () => {};
  console.log = () => {};
  try {
    return require(packageName) as UwsModule;
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

let sharePort: boolean | undefined;

/**
 * A port free on `host` now, found by letting the kernel pick one for a
 * node:net listener that is closed at once. Workers that must share a port
 * need it fixed before the first binds: uSockets asks for SO_REUSEPORT only
 * on a fixed port, so a socket bound to port 0 cannot be joined.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const port = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * True when two uWS apps can listen on the same port (SO_REUSEPORT), which
 * `workers > 1` needs; checked once by trying, on a fixed port (a socket bound to port 0 cannot be shared).
 */
export async function canSharePort(): Promise<boolean> {
  if (sharePort !== undefined) return sharePort;
  const { uws } = loadBinding();
  const port = await freePort('127.0.0.1');
  const a = uws.App();
  const b = uws.App();
  const close = (app: unknown) => (app as { close(): void }).close();
  sharePort = await new Promise<boolean>((resolve) => {
    a.listen('127.0.0.1', port, (first) => {
      if (!first) return resolve(false);
      b.listen('127.0.0.1', port, (second) => resolve(Boolean(second)));
    });
  });
  close(a);
  close(b);
  return sharePort;
}
