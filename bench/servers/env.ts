/** Settings the harness hands every Node server process through its environment. */
export const PORT = Number(process.env.PORT ?? 8000);
export const THREADS = Number(process.env.THREADS ?? 8);
export const WORKERS = Number(process.env.WORKERS ?? 1);
/** Quiet options shared by the tsgi servers: no access log, no lifespan (none of the apps has one). */
export const QUIET = { host: '127.0.0.1', port: PORT, accessLog: false, logLevel: 'warning', lifespan: 'off' } as const;

/** The TLS scenario's key and certificate (bench/src/tls-cert.ts), or null: plain TCP. */
const TLS_FILES =
  process.env.SSL_CERTFILE !== undefined && process.env.SSL_KEYFILE !== undefined ? { keyfile: process.env.SSL_KEYFILE, certfile: process.env.SSL_CERTFILE } : null;
/** The tsgi servers' TLS options (uvicorn's --ssl-keyfile and --ssl-certfile): none unless the harness gave a certificate. */
export const TLS = TLS_FILES === null ? {} : { sslKeyfile: TLS_FILES.keyfile, sslCertfile: TLS_FILES.certfile };

/** The key and certificate of a raw TLS server, which cannot serve without them. */
export function tlsFiles(server: string): { keyfile: string; certfile: string } {
  if (TLS_FILES === null) throw new Error(`${server} needs SSL_KEYFILE and SSL_CERTFILE in its environment (bench/src/tls-cert.ts makes them)`);
  return TLS_FILES;
}

/** Exit normally on SIGTERM/SIGINT, so `node --cpu-prof` can write its profile. */
export function exitOnSignal(close: () => Promise<void> | void = () => {}): void {
  const stop = () => void Promise.resolve(close()).finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
