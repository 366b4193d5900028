/**
 * The soak (issue 9): one `tsgi serve` child process per server, driven with
 * a fixed mix of requests (soak-client.ts), its RSS and open descriptors
 * sampled from /proc, then stopped with SIGTERM. judgeSoak() states the
 * criteria: nothing lost (every request answered 200 with its exact body, and
 * the app served exactly as many as the client sent), memory flat after the
 * warm-up, descriptors back to their baseline, exit code 0.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliServer, type ServerProcess } from './cli-process.js';
import { emptyStats, runClient, SOAK_MIX, type ClientStats } from './soak-client.js';
import { readServed, SOAK_COUNT_ENV, type SoakServed } from './soak-count.js';

/** The servers the soak runs: @tsgi/uws and @tsgi/node (ASGI-TS), @tsgi/pool (WSGI-TS), and the bridge (WSGI-TS under --server uws). */
export type SoakServer = 'uws' | 'node' | 'pool' | 'bridge';
export const SOAK_SERVERS: readonly SoakServer[] = ['uws', 'node', 'pool', 'bridge'];

/** The soak servers that host the ASGI-TS soak app, with its WebSocket echo sessions. */
export const isAsgiSoak = (server: SoakServer): boolean => server === 'uws' || server === 'node';

/** How one soak runs. */
export interface SoakOptions {
  server: SoakServer;
  /** HTTP requests in all, warm-up included. */
  requests: number;
  /** Share of `requests` sent first, before the memory and descriptor baselines are taken. */
  warmupShare?: number;
  connections?: number;
  /** WebSocket echo sessions (uws and node only; default one per 10,000 requests, at least 2). */
  wsSessions?: number;
  wsMessagesPerSession?: number;
  sampleEveryMs?: number;
  /** Allowed RSS growth from after the warm-up to the end, as a share (the issue's 10%) ... */
  rssGrowthShare?: number;
  /** ... or in MiB, whichever is larger (a short run's heap is still settling). */
  rssGrowthMiB?: number;
  /** Extra `tsgi serve` flags. */
  extraArgs?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** One /proc sample of the server process. */
export interface SoakSample {
  /** Seconds since the server started. */
  t: number;
  phase: 'idle' | 'warmup' | 'idle-after-warmup' | 'load' | 'idle-after-load';
  rssMiB: number;
  fds: number;
  /** Requests answered by then. */
  answered: number;
}

/** What one soak measured. */
export interface SoakResult {
  server: SoakServer;
  command: string;
  requests: number;
  warmupRequests: number;
  connections: number;
  mix: Readonly<Record<string, number>>;
  client: ClientStats;
  served: SoakServed;
  /** Seconds the whole load took, and requests per second over it. */
  seconds: number;
  rps: number;
  rssMiB: { start: number; afterWarmup: number; peak: number; end: number };
  fds: { baseline: number; peak: number; end: number };
  exitCode: number;
  exitMs: number;
  samples: SoakSample[];
  criteria: { rssGrowthShare: number; rssGrowthMiB: number };
  /** The criteria broken; empty when the soak passed. */
  failures: string[];
}

function procStatus(pid: number): { rssMiB: number; fds: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { rssMiB: rss ? Number(rss[1]) / 1024 : 0, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the descriptor count is back to at most `target` (connections close asynchronously), up to `ms`. */
async function settledFds(pid: number, target: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let fds = procStatus(pid)?.fds ?? -1;
  while (fds > target && performance.now() < until) {
    await sleep(100);
    fds = procStatus(pid)?.fds ?? -1;
  }
  return fds;
}

/** Where the soak apps are, for `tsgi serve` (worker threads import the WSGI app themselves). */
const ASGI_APP_PATH_SOAK = new URL('./soak-asgi-app.ts', import.meta.url).pathname;
const WSGI_APP_PATH_SOAK = new URL('./soak-wsgi-app.ts', import.meta.url).pathname;

/** The `tsgi serve` arguments of each server. */
function serveArgs(server: SoakServer): { app: string; args: string[] } {
  if (server === 'uws' || server === 'node') return { app: ASGI_APP_PATH_SOAK, args: ['--server', server] };
  if (server === 'pool') return { app: WSGI_APP_PATH_SOAK, args: ['--server', 'pool'] };
  return { app: WSGI_APP_PATH_SOAK, args: ['--server', 'uws'] };
}

/** Runs one soak against `server` and judges it. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const warmupRequests = Math.floor(o.requests * (o.warmupShare ?? 0.1));
  const connections = o.connections ?? 32;
  const wsSessions = isAsgiSoak(o.server) ? (o.wsSessions ?? Math.max(2, Math.floor(o.requests / 10_000))) : 0;
  const wsMessagesPerSession = o.wsMessagesPerSession ?? 20;
  const sampleEveryMs = o.sampleEveryMs ?? 2000;
  const rssGrowthShare = o.rssGrowthShare ?? 0.1;
  const rssGrowthMiB = o.rssGrowthMiB ?? 0;
  const countDir = mkdtempSync(join(tmpdir(), 'tsgi-soak-'));
  const { app, args } = serveArgs(o.server);
  const allArgs = [...args, ...(o.extraArgs ?? [])];
  const saved = process.env[SOAK_COUNT_ENV];
  process.env[SOAK_COUNT_ENV] = countDir;
  let starting: Promise<ServerProcess>;
  try {
    // The child copies the environment when it is spawned, synchronously: restored at once, soaks may run side by side.
    starting = startCliServer(app, allArgs);
  } finally {
    if (saved === undefined) delete process.env[SOAK_COUNT_ENV];
    else process.env[SOAK_COUNT_ENV] = saved;
  }
  const proc = await starting;
  const pid = proc.child.pid!;
  const started = performance.now();
  const client = emptyStats();
  const samples: SoakSample[] = [];
  let phase: SoakSample['phase'] = 'idle';
  let answered = 0;
  const sample = () => {
    const s = procStatus(pid);
    if (s) samples.push({ t: Math.round((performance.now() - started) / 100) / 10, phase, rssMiB: Math.round(s.rssMiB * 10) / 10, fds: s.fds, answered });
    return s;
  };
  const sampler = setInterval(sample, sampleEveryMs);
  try {
    const start = sample()!;
    const run = (from: number, to: number, sessions: number) =>
      runClient(
        {
          port: proc.port,
          from,
          to,
          connections,
          wsSessions: sessions,
          wsMessagesPerSession,
          timeoutMs: 30_000,
          onProgress: (done) => {
            answered = from + done;
            o.onProgress?.(answered, o.requests);
          },
        },
        client,
      );
    const loadStart = performance.now();
    phase = 'warmup';
    const warmSessions = Math.min(wsSessions, Math.ceil(wsSessions * (o.warmupShare ?? 0.1)));
    await run(0, warmupRequests, warmSessions);
    phase = 'idle-after-warmup';
    // The baselines: once the warm-up's connections are closed, lazily opened files (count files, worker threads) exist.
    const baselineFds = await settledFds(pid, start.fds, 5000);
    await sleep(500);
    const afterWarmup = sample()!;
    phase = 'load';
    await run(warmupRequests, o.requests, wsSessions - warmSessions);
    const seconds = (performance.now() - loadStart) / 1000;
    phase = 'idle-after-load';
    const endFds = await settledFds(pid, baselineFds, 5000);
    await sleep(500);
    const end = sample()!;
    clearInterval(sampler);
    const signalled = performance.now();
    proc.child.kill('SIGTERM');
    const exitCode = await Promise.race([proc.exited, sleep(30_000).then(() => -2)]);
    const exitMs = Math.round(performance.now() - signalled);
    const served = readServed(countDir);
    const peak = samples.reduce((m, s) => Math.max(m, s.rssMiB), 0);
    const result: SoakResult = {
      server: o.server,
      command: `tsgi serve ${app.split('/').slice(-1)[0]}:app ${allArgs.join(' ')}`,
      requests: o.requests,
      warmupRequests,
      connections,
      mix: SOAK_MIX,
      client,
      served,
      seconds: Math.round(seconds * 10) / 10,
      rps: Math.round(client.sent / seconds),
      rssMiB: { start: round1(start.rssMiB), afterWarmup: round1(afterWarmup.rssMiB), peak: round1(peak), end: round1(end.rssMiB) },
      fds: { baseline: baselineFds, peak: samples.reduce((m, s) => Math.max(m, s.fds), 0), end: endFds },
      exitCode,
      exitMs,
      samples,
      criteria: { rssGrowthShare, rssGrowthMiB },
      failures: [],
    };
    result.failures = judgeSoak(result, proc.stderr());
    return result;
  } finally {
    clearInterval(sampler);
    await proc.dispose();
    rmSync(countDir, { recursive: true, force: true });
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The soak's criteria, each broken one as a sentence naming the figures. */
export function judgeSoak(r: SoakResult, stderr = ''): string[] {
  const f: string[] = [];
  const c = r.client;
  if (c.sent !== r.requests) f.push(`the client sent ${c.sent} requests, not ${r.requests}`);
  const errors = Object.values(c.errors).reduce((a, b) => a + b, 0);
  if (c.ok !== c.sent || errors > 0) f.push(`${c.sent - c.ok} of ${c.sent} requests not answered 200 with their body: ${JSON.stringify(c.errors)}; first: ${c.errorExamples.slice(0, 3).join(' | ')}`);
  if (r.served.http !== c.sent) f.push(`the app served ${r.served.http} requests, the client sent ${c.sent}`);
  if (c.wsSessionsOk !== c.wsSessions || c.wsMessagesOk !== c.wsMessages) f.push(`websocket: ${c.wsSessionsOk}/${c.wsSessions} sessions and ${c.wsMessagesOk}/${c.wsMessages} messages echoed`);
  if (r.served.wsMessages !== c.wsMessagesOk) f.push(`websocket: the app echoed ${r.served.wsMessages} messages, the client got ${c.wsMessagesOk}`);
  if (r.served.wsSessions !== c.wsSessionsOk) f.push(`websocket: the app saw ${r.served.wsSessions} sessions close with 1000, the client closed ${c.wsSessionsOk}`);
  const allowed = Math.max(r.rssMiB.afterWarmup * r.criteria.rssGrowthShare, r.criteria.rssGrowthMiB);
  if (r.rssMiB.end - r.rssMiB.afterWarmup > allowed) f.push(`RSS grew from ${r.rssMiB.afterWarmup} MiB after the warm-up to ${r.rssMiB.end} MiB at the end (allowed: +${round1(allowed)} MiB)`);
  if (r.fds.end > r.fds.baseline) f.push(`${r.fds.end} descriptors open after the clients closed, ${r.fds.baseline} after the warm-up`);
  if (r.exitCode !== 0) f.push(`exit code ${r.exitCode} after SIGTERM (${r.exitMs} ms)${stderr ? `; stderr: ${stderr.slice(-500)}` : ''}`);
  return f;
}
