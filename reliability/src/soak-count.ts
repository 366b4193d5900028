/**
 * The soak apps' served-request counter. Each thread of the server process
 * keeps its own counts and rewrites them in place in its own file under
 * $TSGI_SOAK_COUNT_DIR after every request (one pwrite, no append), so the
 * driver can add them up while the server runs and after it exits, whatever
 * thread (main, pool worker, bridge worker) served the request.
 */
import { openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

/** The environment variable naming the directory of count files. */
export const SOAK_COUNT_ENV = 'TSGI_SOAK_COUNT_DIR';

/** What the apps of one server process served. */
export interface SoakServed {
  /** HTTP requests answered by the app with their full response. */
  http: number;
  /** WebSocket messages echoed. */
  wsMessages: number;
  /** WebSocket sessions that ended with the client's close. */
  wsSessions: number;
}

const counts: SoakServed = { http: 0, wsMessages: 0, wsSessions: 0 };
let fd: number | undefined;
const WIDTH = 12;

/** Adds to this thread's counts and writes them to its file (fixed width, so each write replaces the last). */
export function countServed(kind: keyof SoakServed): void {
  counts[kind]++;
  const dir = process.env[SOAK_COUNT_ENV];
  if (!dir) return;
  fd ??= openSync(join(dir, `${process.pid}-${threadId}.count`), 'w');
  writeSync(fd, `${String(counts.http).padStart(WIDTH)} ${String(counts.wsMessages).padStart(WIDTH)} ${String(counts.wsSessions).padStart(WIDTH)}\n`, 0);
}

/** The sum of every thread's counts in `dir`. */
export function readServed(dir: string): SoakServed {
  const total: SoakServed = { http: 0, wsMessages: 0, wsSessions: 0 };
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.count')) continue;
    const [http = 0, ws = 0, sessions = 0] = readFileSync(join(dir, name), 'utf8').trim().split(/\s+/).map(Number);
    total.http += http;
    total.wsMessages += ws;
    total.wsSessions += sessions;
  }
  return total;
}

/** The body a soak app streams for GET /soak/stream/<id>: eight parts, each sent as its own chunk. */
export function streamParts(id: string): string[] {
  return Array.from({ length: 8 }, (_, k) => `stream ${id} part ${k} ${'s'.repeat(64 * k)}\n`);
}
