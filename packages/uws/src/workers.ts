/**
 * `workers: N`: N event loops on worker threads, each importing the app by
 * module path and listening on the same port (SO_REUSEPORT: the kernel
 * spreads connections). A worker that dies is logged and replaced; close()
 * closes every worker gracefully. Needs a binding that can share a port; a
 * build that cannot is refused with a clear message instead of half-starting.
 */
import { Worker } from 'node:worker_threads';
import type { ModuleRef, ServerHandle } from '@tsgi/core';
import { canSharePort, freePort, loadBinding } from './binding.js';
import { finishedLine, OptionError, runningLine, type Logger } from '@tsgi/core/server';
import type { ResolvedOptions, ServeOptions } from './options.js';
import type { WorkerData, WorkerMessage } from './worker-main.js';

// From src/ (tests) the worker imports the TypeScript source through tsx, from dist/ the build.
const SERVER_MODULE = new URL(`./worker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
const ENTRY = new URL('../worker-entry.mjs', import.meta.url);
/** Delay before replacing a worker that failed to start, so a broken app does not spin. */
const RESPAWN_DELAY_MS = 1000;

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
  const workers = new Set<Worker>();
  let closing = false;

  const spawn = (port: number): Promise<{ worker: Worker; port: number }> =>
    new Promise((resolve, reject) => {
      const data: WorkerData = { serverModule: SERVER_MODULE, ref, options: plain, port };
      const worker = new Worker(ENTRY, { workerData: data });
      workers.add(worker);
      let started = false;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'listening') {
          started = true;
          resolve({ worker, port: m.port });
        } else if (m.type === 'failed') {
          reject(new Error(m.message));
        }
      });
      worker.on('error', (e) => {
        if (!started) reject(e);
        else logger.error(`Worker ${worker.threadId} crashed`, e);
      });
      worker.on('exit', (code) => {
        workers.delete(worker);
        if (!started) {
          reject(new Error(`worker exited with code ${code} before listening`));
          return;
        }
        if (closing) return;
        logger.error(`Worker ${worker.threadId} died (exit code ${code}); starting a replacement.`);
        replace(port);
      });
    });

  const replace = (port: number): void => {
    if (closing) return;
    spawn(port).then(
      ({ worker }) => logger.info(`Worker ${worker.threadId} started (replacement).`),
      (e: unknown) => {
        logger.error(`A replacement worker failed to start: ${e instanceof Error ? e.message : String(e)}`);
        setTimeout(replace, RESPAWN_DELAY_MS, port).unref();
      },
    );
  };

  const stopAll = async (): Promise<void> => {
    const exits = [...workers].map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
    for (const w of workers) w.postMessage({ type: 'close' });
    await Promise.all(exits);
  };

  let port: number;
  try {
    // Port 0 means any free port: one is picked here, since a socket bound to port 0 cannot be shared (freePort).
    port = resolved.port === 0 ? await freePort(resolved.host) : resolved.port;
    await Promise.all(Array.from({ length: resolved.workers }, () => spawn(port)));
  } catch (e) {
    // Never terminate() a worker with uWS sockets open (that aborts the process): ask them to close.
    closing = true;
    await stopAll();
    throw e;
  }
  const host = resolved.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info(runningLine(`uWebSockets.js, ${resolved.workers} workers`, url));
  let closed: Promise<void> | undefined;
  return {
    address: { host, port },
    url,
    close: () => {
      closing = true;
      closed ??= stopAll().then(() => logger.info(finishedLine()));
      return closed;
    },
  };
}
