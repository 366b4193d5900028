/**
 * `serve()`: runs an ASGI-TS app on uWebSockets.js. The server's life
 * (lifespan, graceful shutdown, logging) is the shared runAsgiServer's; this
 * module is the uWebSockets.js Listener: one App whose WebSocket behavior
 * takes upgrade requests and whose HTTP handler takes every other request.
 */
import { type AsgiApplication, type Extensions, type ModuleRef, type ServerHandle } from '@tsgi/core';
import {
  serverLogger,
  importApp,
  OptionError,
  prepareUnixSocket,
  runAsgiServer,
  type Listener,
  type Logger,
  type ResolvedTls,
  type RunningServer,
  type ServerContext,
  type Transport,
} from '@tsgi/core/server';
import { loadBinding, type AppOptions, type TemplatedApp, type us_listen_socket } from './binding.js';
import { createHttpHandler } from './http-handler.js';
import { resolveOptions, type ResolvedOptions, type ServeOptions } from './options.js';
import { createWebSocketBehavior } from './websocket.js';
import { serveWorkers } from './workers.js';

/** The extensions this server announces in every http scope (see docs/choosing-a-server.md for the others). */
export const HTTP_EXTENSIONS: Extensions = Object.freeze({
  'http.response.pathsend': Object.freeze({}) as Record<string, never>,
  'http.response.reason_phrase': Object.freeze({}) as Record<string, never>,
  'http.response.zerocopysend': Object.freeze({}) as Record<string, never>,
});

/** Starts serving `app` (a function, or a ModuleRef to import; workers > 1 needs a ModuleRef). */
export async function serve(app: AsgiApplication | ModuleRef, options: ServeOptions = {}): Promise<ServerHandle> {
  const resolved = resolveOptions(options);
  const logger = serverLogger(options, resolved);
  if (resolved.workers > 1) {
    if (typeof app === 'function') {
      throw OptionError.conflict('workers', resolved.workers, ' > 1 needs the app as a module reference ({ module, exportName }), since a function cannot cross to a worker thread');
    }
    return serveWorkers(app, options, resolved, logger);
  }
  const fn = typeof app === 'function' ? app : await importApp<AsgiApplication>(app, 'ASGI-TS');
  return startServer(fn, resolved, logger);
}

/** Serves `app` on this thread's event loop (what each worker runs too). */
export function startServer(app: AsgiApplication, options: ResolvedOptions, logger: Logger): Promise<RunningServer> {
  return runAsgiServer(app, options, logger, UWS_TRANSPORT);
}

const UWS_TRANSPORT: Transport = {
  name: 'uWebSockets.js',
  httpExtensions: HTTP_EXTENSIONS,
  createListener: (ctx) => new UwsListener(ctx),
};

/**
 * The SSLApp options of `tls` (files checked by resolveTlsOptions already).
 * uWebSockets.js v20.30 reads the files itself; given ca_file_name it asks
 * for a client certificate and refuses one that does not verify, but lets a
 * client without one in: CERT_OPTIONAL, so the CA file is passed only then
 * (resolveOptions refuses CERT_REQUIRED).
 */
function sslAppOptions(tls: ResolvedTls): AppOptions {
  return {
    key_file_name: tls.keyfile,
    cert_file_name: tls.certfile,
    ...(tls.passphrase !== null ? { passphrase: tls.passphrase } : {}),
    ...(tls.certReqs === 1 && tls.caCerts !== null ? { ca_file_name: tls.caCerts } : {}),
    ...(tls.ciphers !== null ? { ssl_ciphers: tls.ciphers } : {}),
  };
}

/** One uWebSockets.js App and its listening socket. */
class UwsListener implements Listener {
  private readonly app: TemplatedApp & { close(): void };
  private socket: us_listen_socket | false = false;

  constructor(private readonly ctx: ServerContext) {
    const { uws } = loadBinding();
    const tls = ctx.options.tls;
    this.app = (tls === null ? uws.App() : uws.SSLApp(sslAppOptions(tls))) as TemplatedApp & { close(): void };
    // Upgrade requests go to the WebSocket behavior, every other request to the HTTP handler.
    this.app.ws('/*', createWebSocketBehavior(ctx));
    this.app.any('/*', createHttpHandler(ctx));
  }

  async listen() {
    const { uws } = loadBinding();
    const o = this.ctx.options;
    if (o.uds !== null) await prepareUnixSocket(o.uds);
    this.socket = await new Promise<us_listen_socket>((resolve, reject) => {
      const done = (socket: us_listen_socket | false) => {
        if (socket === false || socket === undefined || socket === null) {
          reject(new Error(`could not listen on ${o.uds !== null ? `unix socket ${o.uds}` : `${o.host}:${o.port}`} (address in use, or not an address of this machine?)`));
        } else resolve(socket);
      };
      if (o.uds !== null) this.app.listen_unix(done, o.uds);
      else this.app.listen(o.host, o.port, done);
    });
    return o.uds !== null ? { path: o.uds } : { host: o.host, port: uws.us_socket_local_port(this.socket) };
  }

  stopAccepting(): void {
    if (this.socket !== false) loadBinding().uws.us_listen_socket_close(this.socket);
    this.socket = false;
  }

  /** uWebSockets.js v20.30 cannot tell idle connections from busy ones: idle ones close at closeAll() or after its 10 s idle timeout. */
  closeIdle(): void {}

  closeAll(): void {
    this.app.close();
  }
}
