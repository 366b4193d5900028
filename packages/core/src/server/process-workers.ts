/**
 * `workers: N` as worker processes, uvicorn's and gunicorn's model: the
 * primary forks N processes with node:cluster, each runs a whole server (its
 * own event loop, lifespan and, for the pool, its own threads) and they all
 * listen on one socket that the primary holds and shares. A worker that dies
 * is logged and replaced; close() asks every worker to shut down gracefully
 * and waits for them. A server package names the module whose `startWorker`
 * each worker runs, and the loader flags its apps need (tsx for .ts apps).
 */
import type { Cluster } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ModuleRef, ServerAddress } from './handle.js';
import { finishedLine, serverUrl, type RunningServer } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { ResolvedWorkerOptions } from './options.js';
import type { ResolvedTls } from './tls.js';
import { heartbeatInterval, requestLimit, WorkerSupervisor, type SupervisedWorker, type WorkerEvents } from './worker-supervisor.js';

/** The environment variable that carries a worker's data (JSON) from the primary. */
export const WORKER_DATA_ENV = 'TSGI_PROCESS_WORKER';

/** What a worker process reports to the primary. */
export type ProcessWorkerMessage =
  | { tsgi: 'listening'; address: ServerAddress }
  | { tsgi: 'failed'; message: string }
  | { tsgi: 'heartbeat' }
  | { tsgi: 'recycle' };

/** What the primary tells a worker. */
type PrimaryMessage = { tsgi: 'close' };

/** What a worker process gets from the primary, as JSON in WORKER_DATA_ENV. */
export interface ProcessWorkerData {
  /** URL of the module whose `startWorker(data, hooks)` starts this process's server and resolves with it. */
  serverModule: string;
  /** Handed to startWorker: which app, with which options. */
  data: unknown;
  /** How often the worker's event loop reports to the primary (ms). */
  heartbeatMs?: number;
  /** Requests after which the worker asks to be replaced; null: never. */
  limitMaxRequests?: number | null;
}

/** What the worker side hands a server's `startWorker`: call onRequest once per request served. */
export interface WorkerHooks {
  onRequest?: () => void;
}

/** How to run the workers of one server. */
export interface ProcessWorkersSpec extends ProcessWorkerData {
  /** Node flags a worker needs on top of the primary's, such as `--import <tsx>` for .ts apps. */
  execArgv: readonly string[];
  workers: number;
  /** The transport, for the log line: `tsgi (node:http, 2 worker processes) running on …`. */
  what: string;
  logger: Logger;
  /** Seconds without a heartbeat before a worker is killed and replaced (default 5). */
  timeoutWorkerHealthcheck?: number;
  /** The workers serve TLS: the URL says https. */
  secure?: boolean;
}

// From src/ (tests, through tsx) the entry is the TypeScript source, from dist/ the build.
const ENTRY = new URL(`./process-worker-entry${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Forks `spec.workers` server processes sharing one listening socket;
 * resolves once all listen. The handle's restartWorkers() (SIGHUP) replaces
 * them one at a time with processes that import the app afresh.
 */
export async function serveProcesses(spec: ProcessWorkersSpec): Promise<RunningServer> {
  const { logger } = spec;
  const timeoutWorkerHealthcheck = spec.timeoutWorkerHealthcheck ?? 5;
  // Loaded here, not at import: every isolate that imports the server layer (each pool thread) would pay for it.
  const cluster = process.getBuiltinModule('node:cluster') as unknown as Cluster;
  cluster.setupPrimary({ exec: fileURLToPath(ENTRY), args: [], execArgv: [...process.execArgv, ...spec.execArgv] });
  const workerData: ProcessWorkerData = {
    serverModule: spec.serverModule,
    data: spec.data,
    heartbeatMs: heartbeatInterval(timeoutWorkerHealthcheck),
    limitMaxRequests: spec.limitMaxRequests ?? null,
  };
  const env = { [WORKER_DATA_ENV]: JSON.stringify(workerData) };

  const start = (events: WorkerEvents): SupervisedWorker => {
    const worker = cluster.fork(env);
    const ready = new Promise<ServerAddress>((resolve, reject) => {
      worker.on('message', (m: ProcessWorkerMessage) => {
        if (m.tsgi === 'listening') resolve(m.address);
        else if (m.tsgi === 'failed') reject(new Error(m.message));
        else if (m.tsgi === 'heartbeat') events.heartbeat();
        else if (m.tsgi === 'recycle') events.recycle();
      });
      worker.once('exit', (code, signal) => reject(new Error(`worker process ${worker.process.pid} exited (${signal ?? `code ${code}`}) before listening`)));
    });
    ready.catch(() => {}); // the supervisor awaits it; a late rejection after listening is moot
    const exited = new Promise<string>((resolve) => worker.once('exit', (code, signal) => resolve(signal ?? `exit code ${code}`)));
    return {
      name: `Worker process ${worker.process.pid}`,
      ready,
      exited,
      close: () => {
        // A worker that failed is disconnecting: a send that cannot go is moot (the callback keeps its EPIPE from being thrown).
        if (worker.isConnected()) worker.send({ tsgi: 'close' } satisfies PrimaryMessage, undefined, undefined, () => {});
      },
      kill: () => {
        worker.process.kill('SIGKILL');
        return true;
      },
    };
  };

  const supervisor = new WorkerSupervisor({ workers: spec.workers, start, timeoutWorkerHealthcheck, logger });
  // Every worker that listens on port 0 gets the same port: the primary binds it once for all (node:cluster).
  const address = await supervisor.start();
  const url = serverUrl(address, spec.secure === true);
  logger.info(`tsgi (${spec.what}, ${spec.workers} worker processes) running on ${url} (Press CTRL+C to quit)`);
  let closed: Promise<void> | undefined;
  return {
    address,
    url,
    close: () => {
      closed ??= supervisor.close().then(() => logger.info(finishedLine()));
      return closed;
    },
    closeNow: () => supervisor.closeNow(),
    restartWorkers: () => supervisor.restartWorkers(),
  };
}

/** What a server's `serve(ref, options)` hands each of its worker processes: the app by reference, and the options but the logger (it cannot cross processes). */
export interface AppWorkerData<O> {
  ref: ModuleRef;
  options: Omit<O, 'logger'>;
}

/** What differs between the servers that run `serve(ref, options)` on worker processes. */
export interface AppWorkersTransport {
  /** import.meta.url of the module whose `startWorker` each worker runs. */
  serverModule: string;
  /** The transport, for the log line. */
  what: string;
  /**
   * tsx's loader, resolved by the server package (`import.meta.resolve('tsx')`): that package depends
   * on tsx, core does not. Workers import .ts apps through it, as the CLI does.
   */
  tsx: string;
}

/** `serve(ref, options)` with workers > 1: serveProcesses with `ref` and `options` as each worker's data, and the resolved worker options. */
export function serveAppProcesses<O extends { logger?: unknown }>(
  transport: AppWorkersTransport,
  ref: ModuleRef,
  options: O,
  resolved: ResolvedWorkerOptions & { workers: number; tls: ResolvedTls | null },
  logger: Logger,
): Promise<RunningServer> {
  const { logger: _omit, ...plain } = options;
  const data: AppWorkerData<O> = { ref, options: plain };
  return serveProcesses({
    serverModule: transport.serverModule,
    data,
    execArgv: ['--import', transport.tsx],
    workers: resolved.workers,
    what: transport.what,
    logger,
    limitMaxRequests: resolved.limitMaxRequests,
    timeoutWorkerHealthcheck: resolved.timeoutWorkerHealthcheck,
    secure: resolved.tls !== null,
  });
}

/**
 * The worker side of serveAppProcesses: the primary's app and options, made
 * one server's (one worker; no request limit, which the primary enforces
 * through the hooks' onRequest).
 */
export function appWorkerData<O>(raw: unknown): { ref: ModuleRef; options: Omit<O, 'logger'> & { workers: 1; limitMaxRequests: null } } {
  const { ref, options } = raw as AppWorkerData<O>;
  return { ref, options: { ...options, workers: 1, limitMaxRequests: null } };
}

/**
 * The worker side (process-worker-entry.ts runs it): starts this process's
 * server with the primary's data, reports where it listens, sends a
 * heartbeat from its event loop, asks to be replaced once it has served its
 * request limit, and shuts down gracefully when the primary says so, on
 * SIGINT or SIGTERM (a terminal's Ctrl+C reaches every process of the
 * group), or when the primary is gone. SIGHUP is the primary's: a worker
 * ignores it.
 */
export async function runProcessWorker(): Promise<void> {
  const send = (m: ProcessWorkerMessage): void => void process.send?.(m);
  // Taken from the start: a close, a signal or the primary's end while the app loads stops this
  // worker as soon as it has started (an IPC message with no listener yet would be lost).
  let server: RunningServer | undefined;
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    server?.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  const once = (): void => {
    if (!stopping) stop();
  };
  process.on('message', (m: PrimaryMessage) => {
    if (m?.tsgi === 'close') once();
  });
  process.on('SIGINT', once);
  process.on('SIGTERM', once);
  process.on('disconnect', once);
  // A terminal's hangup or `kill -HUP` of the process group is the primary's to act on (a rolling restart).
  process.on('SIGHUP', () => {});
  try {
    const { serverModule, data, heartbeatMs, limitMaxRequests } = JSON.parse(process.env[WORKER_DATA_ENV] ?? 'null') as ProcessWorkerData;
    const { startWorker } = (await import(serverModule)) as { startWorker: (data: unknown, hooks: WorkerHooks) => Promise<RunningServer> };
    const hooks: WorkerHooks = {};
    if (limitMaxRequests != null) hooks.onRequest = requestLimit(limitMaxRequests, () => send({ tsgi: 'recycle' }));
    server = await startWorker(data, hooks);
    if (heartbeatMs !== undefined) setInterval(() => send({ tsgi: 'heartbeat' }), heartbeatMs).unref();
  } catch (e) {
    send({ tsgi: 'failed', message: e instanceof Error ? e.message : String(e) });
    process.disconnect?.();
    process.exitCode = 1;
    return;
  }
  if (stopping) return stop();
  send({ tsgi: 'listening', address: server.address });
}
