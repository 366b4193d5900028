/**
 * `workers: N`: N event loops on worker threads, each importing the app by
 * module path and listening on the same port (SO_REUSEPORT: the kernel
 * spreads connections). What is done with the workers (replacing a dead one,
 * restartWorkers() one at a time, the request limit, the heartbeat timeout)
 * is the server layer's WorkerSupervisor, as for worker processes; this
 * module says how a thread is started and stopped. Needs a binding that can
 * share a port; a build that cannot is refused with a clear message instead
 * of half-starting.
 */
import { Worker } from 'node:worker_threads';
import type { ModuleRef, ServerAddress, ServerHandle } from '@tsgi/core';
import { canSharePort, freePort, loadBinding } from './binding.js';
import { finishedLine, heartbeatInterval, OptionError, runningLine, WorkerSupervisor, type Logger, type SupervisedWorker, type WorkerEvents } from '@tsgi/core/server';
import type { ResolvedOptions, ServeOptions } from './options.js';
import type { WorkerData, WorkerMessage } from './worker-main.js';

// From src/ (tests) the worker imports the TypeScript source through tsx, from dist/ the build.
const SERVER_MODULE = new URL(`./worker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
const ENTRY = new URL('../worker-entry.mjs', import.meta.url);
/**
 * Why a blocked thread is only told to stop: Node's worker.terminate() of a
 * thread with uWS sockets open aborts the whole process (uv_loop_close()
 * while having open handles), and only the thread itself can close them.
 */
const UNKILLABLE = 'A uWebSockets.js thread cannot be terminated while its sockets are open (Node aborts the whole process)';

/** Serves the app on `resolved.workers` worker threads. */
export async function serveWorkers(ref: ModuleRef, options: ServeOptions, resolved: ResolvedOptions, logger: Logger): Promise<ServerHandle> {
  if (resolved.uds !== null) {
    throw OptionError.conflict('workers', resolved.workers, ' > 1 cannot share a unix socket with uWebSockets.js; use host/port, or one worker per socket');
  }
  const { packageName } = loadBinding(); // fail here, with the clear message, rather than in every worker
  if (!(await canSharePort())) {
    throw OptionError.conflict(
      'workers',
      resolved.workers,
      ` > 1 needs a uWebSockets.js build whose listening sockets can share a port (SO_REUSEPORT); ` +
        `the loaded ${packageName} cannot. Run one worker per process behind a load balancer, or install a uWebSockets.js build that can.`,
    );
  }
  const { logger: _omit, ...plain } = options;
  // Port 0 means any free port: one is picked here, since a socket bound to port 0 cannot be shared (freePort).
  const port = resolved.port === 0 ? await freePort(resolved.host) : resolved.port;
  const host = resolved.host;
  const data: WorkerData = {
    serverModule: SERVER_MODULE,
    ref,
    options: plain,
    port,
    heartbeatMs: heartbeatInterval(resolved.timeoutWorkerHealthcheck),
    limitMaxRequests: resolved.limitMaxRequests,
  };

  const start = (events: WorkerEvents): SupervisedWorker => {
    const worker = new Worker(ENTRY, { workerData: data });
    const name = `Worker thread ${worker.threadId}`;
    let started = false;
    const ready = new Promise<ServerAddress>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'listening') {
          started = true;
          resolve({ host, port: m.port });
        } else if (m.type === 'failed') reject(new Error(m.message));
        else if (m.type === 'heartbeat') events.heartbeat();
        else if (m.type === 'recycle') events.recycle();
      });
      worker.on('error', (e) => {
        if (!started) reject(e);
        else logger.error(`${name} crashed`, e);
      });
      worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before listening`)));
    });
    ready.catch(() => {}); // the supervisor awaits it
    const exited = new Promise<string>((resolve) => worker.once('exit', (code) => resolve(`exit code ${code}`)));
    // Never terminate() a worker with uWS sockets open (that aborts the process): ask it to close.
    return { name, ready, exited, close: () => worker.postMessage({ type: 'close' }), kill: () => false };
  };

  const supervisor = new WorkerSupervisor({ workers: resolved.workers, start, timeoutWorkerHealthcheck: resolved.timeoutWorkerHealthcheck, unkillable: UNKILLABLE, logger });
  await supervisor.start();
  const url = `${resolved.tls !== null ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info(runningLine(`uWebSockets.js, ${resolved.workers} workers`, url));
  let closed: Promise<void> | undefined;
  return {
    address: { host, port },
    url,
    close: () => {
      closed ??= supervisor.close().then(() => logger.info(finishedLine()));
      return closed;
    },
    restartWorkers: () => supervisor.restartWorkers(),
  };
}
