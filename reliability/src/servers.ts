/**
 * Starts any tsgi server on an ephemeral port with the recording test app
 * of ./apps, so one test body can run against all of them: `uws` (ASGI-TS on
 * uWebSockets.js, in this process), `node` (ASGI-TS on node:http and ws, in
 * this process) and `pool` (WSGI-TS on node:http with the app on worker
 * threads).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerHandle } from '@tsgi/core';
import { serve as serveNode, type ServeOptions as NodeServeOptions } from '@tsgi/node';
import { serve as servePool, type PoolServeOptions } from '@tsgi/pool';
import { serve as serveUws, type ServeOptions } from '@tsgi/uws';
import { app as asgiApp } from './apps/asgi-app.js';
import { RECORD_ENV, readRecord, type SeenRequest } from './record.js';

/** The servers under test. */
export type ServerKind = 'uws' | 'node' | 'pool';
export const SERVER_KINDS: readonly ServerKind[] = ['uws', 'node', 'pool'];

/** The servers that host ASGI-TS apps (the recording ASGI app of ./apps); `pool` hosts the WSGI-TS one. */
export type AsgiServerKind = Exclude<ServerKind, 'pool'>;
export const ASGI_SERVER_KINDS: readonly AsgiServerKind[] = ['uws', 'node'];

/** The recording test app a server kind hosts, as a path for `tsgi serve`. */
export function appPathOf(kind: ServerKind): string {
  return kind === 'pool' ? WSGI_APP_PATH : ASGI_APP_PATH;
}

/** A log line kept for assertions. */
export interface LogLine {
  level: string;
  message: string;
  error?: unknown;
}

/** A started server with its request record and log. */
export interface RecordedServer {
  kind: ServerKind;
  handle: ServerHandle;
  port: number;
  log: LogLine[];
  /** Every request the app has seen so far. */
  seen(): SeenRequest[];
  /** Stops the server and removes the record. */
  close(): Promise<void>;
}

/** Options passed through to whichever server starts. */
export type CommonOptions = Pick<ServeOptions & NodeServeOptions & PoolServeOptions, 'limitMaxBodySize' | 'proxyHeaders' | 'forwardedAllowIps' | 'timeoutGracefulShutdown'> & {
  /** uws and node only: lifespan mode; default 'off'. */
  lifespan?: 'on' | 'off' | 'auto';
  /** Pool only: worker threads and the hung-request timeout (seconds). */
  threads?: number;
  timeout?: number;
};

/** The module URL of the WSGI test app (worker threads import it themselves). */
export const WSGI_APP_URL = new URL('./apps/wsgi-app.ts', import.meta.url).href;
export const ASGI_APP_PATH = new URL('./apps/asgi-app.ts', import.meta.url).pathname;
export const WSGI_APP_PATH = new URL('./apps/wsgi-app.ts', import.meta.url).pathname;

/** Starts `kind` on 127.0.0.1:0 with its recording app; the record goes to a fresh temporary file. */
export async function startRecorded(kind: ServerKind, options: CommonOptions = {}): Promise<RecordedServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-reliability-'));
  const file = join(dir, 'record.jsonl');
  // Worker threads copy process.env when they start, so it must be set before serve().
  process.env[RECORD_ENV] = file;
  const log: LogLine[] = [];
  const logger = {
    debug: (message: string) => void log.push({ level: 'debug', message }),
    info: (message: string) => void log.push({ level: 'info', message }),
    warning: (message: string) => void log.push({ level: 'warning', message }),
    error: (message: string, error?: unknown) => void log.push({ level: 'error', message, error }),
    access: (message: string) => void log.push({ level: 'access', message }),
  };
  const { threads, timeout, lifespan, ...common } = options;
  const handle =
    kind === 'uws'
      ? await serveUws(asgiApp, { port: 0, host: '127.0.0.1', lifespan: lifespan ?? 'off', logger, ...common })
      : kind === 'node'
        ? await serveNode(asgiApp, { port: 0, host: '127.0.0.1', lifespan: lifespan ?? 'off', logger, ...common })
        : await servePool({ module: WSGI_APP_URL, exportName: 'app' }, { port: 0, host: '127.0.0.1', threads: threads ?? 2, logger, ...(timeout === undefined ? {} : { timeout }), ...common });
  const port = 'port' in handle.address ? handle.address.port : 0;
  return {
    kind,
    handle,
    port,
    log,
    seen: () => readRecord(file),
    async close() {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
