/** Settings the harness hands every Node server process through its environment. */
export const PORT = Number(process.env.PORT ?? 8000);
export const THREADS = Number(process.env.THREADS ?? 8);
export const WORKERS = Number(process.env.WORKERS ?? 1);
/** Quiet options shared by the tsgi servers: no access log, no lifespan (none of the apps has one). */
export const QUIET = { host: '127.0.0.1', port: PORT, accessLog: false, logLevel: 'warning', lifespan: 'off' } as const;

/** Exit normally on SIGTERM/SIGINT, so `node --cpu-prof` can write its profile. */
export function exitOnSignal(close: () => Promise<void> | void = () => {}): void {
  const stop = () => void Promise.resolve(close()).finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
