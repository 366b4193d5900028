/**
 * `workers: N` as worker processes, uvicorn's and gunicorn's model: the
 * primary forks N processes with node:cluster, each runs a whole server (its
 * own event loop, lifespan and, for the pool, its own threads) and they all
 * listen on one socket that the primary holds and shares. A worker that dies
 * is logged and replaced; close() asks every worker to shut down gracefully
 * and waits for them. A server package names the module whose `startWorker`
 * each worker runs, and the loader flags its apps need (tsx for .ts apps).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ServerAddress } from './handle.js';
import { finishedLine, serverUrl, type RunningServer } from './lifecycle.js';
import type { Logger } from './logger.js';

/** The environment variable that carries a worker's data (JSON) from the primary. */
export const WORKER_DATA_ENV = 'TSGI_PROCESS_WORKER';

/** What a worker process reports to the primary. */
export type ProcessWorkerMessage = { tsgi: 'listening'; address: ServerAddress } | { tsgi: 'failed'; message: string };

/** What the primary tells a worker. */
type PrimaryMessage = { tsgi: 'close' };

/** What a worker process gets from the primary, as JSON in WORKER_DATA_ENV. */
export interface ProcessWorkerData {
  /** URL of the module whose `startWorker(data)` starts this process's server and resolves with it. */
  serverModule: string;
  /** Handed to startWorker: which app, with which options. */
  data: unknown;
}

/** How to run the workers of one server. */
export interface ProcessWorkersSpec extends ProcessWorkerData {
  /** Node flags a worker needs on top of the primary's, such as `--import <tsx>` for .ts apps. */
  execArgv: readonly string[];
  workers: number;
  /** The transport, for the log line: `tsgi (node:http, 2 worker processes) running on …`. */
  what: string;
  logger: Logger;
}

/** Delay before replacing a worker that failed to start, so a broken app does not fork in a loop. */
const RESPAWN_DELAY_MS = 1000;
// From src/ (tests, through tsx) the entry is the TypeScript source, from dist/ the build.
const ENTRY = new URL(`./process-worker-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Forks `spec.workers` server processes sharing one listening socket; resolves once all listen. */
export async function serveProcesses(spec: ProcessWorkersSpec): Promise<RunningServer> {
  const { logger } = spec;
  cluster.setupPrimary({ exec: fileURLToPath(ENTRY), args: [], execArgv: [...process.execArgv, ...spec.execArgv] });
  const env = { [WORKER_DATA_ENV]: JSON.stringify({ serverModule: spec.serverModule, data: spec.data } satisfies ProcessWorkerData) };
  const live = new Set<Worker>();
  let closing = false;

  const spawn = (): Promise<ServerAddress> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork(env);
      live.add(worker);
      let started = false;
      worker.on('message', (m: ProcessWorkerMessage) => {
        if (m.tsgi === 'listening') {
          started = true;
          resolve(m.address);
        } else if (m.tsgi === 'failed') {
          reject(new Error(m.message));
        }
      });
      worker.on('exit', (code, signal) => {
        live.delete(worker);
        if (!started) {
          reject(new Error(`worker process ${worker.process.pid} exited (${signal ?? `code ${code}`}) before listening`));
          return;
        }
        if (closing) return;
        logger.error(`Worker process ${worker.process.pid} died (${signal ?? `exit code ${code}`}); starting a replacement.`);
        replace();
      });
    });

  const replace = (): void => {
    if (closing) return;
    spawn().then(
      () => logger.info('Replacement worker process started.'),
      (e: unknown) => {
        logger.error(`A replacement worker process failed to start: ${e instanceof Error ? e.message : String(e)}`);
        setTimeout(replace, RESPAWN_DELAY_MS).unref();
      },
    );
  };

  const stopAll = async (): Promise<void> => {
    const exits = [...live].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of live) if (w.isConnected()) w.send({ tsgi: 'close' } satisfies PrimaryMessage);
    await Promise.all(exits);
  };

  let address: ServerAddress;
  try {
    // Every worker that listens on port 0 gets the same port: the primary binds it once for all (node:cluster).
    const addresses = await Promise.all(Array.from({ length: spec.workers }, spawn));
    address = addresses[0]!;
  } catch (e) {
    closing = true;
    await stopAll();
    throw e;
  }
  const url = serverUrl(address);
  logger.info(`tsgi (${spec.what}, ${spec.workers} worker processes) running on ${url} (Press CTRL+C to quit)`);
  let closed: Promise<void> | undefined;
  return {
    address,
    url,
    close: () => {
      closing = true;
      closed ??= stopAll().then(() => logger.info(finishedLine()));
      return closed;
    },
    closeNow: () => {
      closing = true;
      for (const w of live) w.process.kill('SIGKILL');
    },
  };
}

/**
 * The worker side (process-worker-entry.ts runs it): starts this process's
 * server with the primary's data, reports where it listens, and shuts it
 * down gracefully when the primary says so, on SIGINT or SIGTERM (a
 * terminal's Ctrl+C reaches every process of the group), or when the primary
 * is gone.
 */
export async function runProcessWorker(): Promise<void> {
  const send = (m: ProcessWorkerMessage): void => void process.send?.(m);
  let server: RunningServer;
  try {
    const { serverModule, data } = JSON.parse(process.env[WORKER_DATA_ENV] ?? 'null') as ProcessWorkerData;
    const { startWorker } = (await import(serverModule)) as { startWorker: (data: unknown) => Promise<RunningServer> };
    server = await startWorker(data);
  } catch (e) {
    send({ tsgi: 'failed', message: e instanceof Error ? e.message : String(e) });
    process.disconnect?.();
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('message', (m: PrimaryMessage) => {
    if (m?.tsgi === 'close') stop();
  });
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  send({ tsgi: 'listening', address: server.address });
}
