/**
 * The scenarios of issue 8, each with its contenders (how to start them),
 * its load, the metrics it reports and the targets it is judged by. Targets
 * are ratios of medians measured in the same run, never absolute times.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerSpec } from './process.js';
import { PYTHON } from './system.js';
import { benchCertificate } from './tls-cert.js';

const BENCH_DIR = fileURLToPath(new URL('../../', import.meta.url));
const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url));
const PYTHON_DIR = `${BENCH_DIR}python`;

/** One round's measurements of one contender, by metric key. */
export type Sample = Record<string, number>;

/** A reported quantity. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  digits: number;
}

/** How a contender's server is started; `profileDir` asks Node servers for a CPU profile. */
export interface Contender {
  id: string;
  label: string;
  python: boolean;
  server(port: number, profileDir: string | null): ServerSpec;
}

/** The load one round puts on a contender. */
export type Load =
  | {
      kind: 'wrk';
      path: string;
      connections: number;
      /** https: the servers serve TLS with the run's certificate (tls-cert.ts). */
      tls?: boolean;
      /** Every request asks for `Connection: close`: a new connection per request, as nginx opens them without upstream keepalive. */
      close?: boolean;
    }
  | { kind: 'rate'; path: string; rate: number; connections: number }
  | { kind: 'ws'; connections: number; payload: number }
  | { kind: 'transfer'; bytes: number }
  | { kind: 'h2load'; path: string; connections: number; streams: number };

/** A figure computed from the medians, compared with a threshold (or reported only). */
export interface Target {
  label: string;
  /** Computes the figure; `median(contender, metric)` is NaN when that contender did not run. */
  value(median: (contender: string, metric: string) => number): number;
  /** `>=`/`<=` judge the value against the threshold; `info` only reports it. */
  op: '>=' | '<=' | 'info';
  threshold?: number;
  /** How to print the value: a ratio (`1.23x`) or a number in the given unit. */
  unit: 'x' | string;
}

/** One scenario of the issue. */
export interface Scenario {
  id: string;
  number: number;
  title: string;
  /** false: the server and the load generator share both cores (scenario 6). */
  pinned: boolean;
  load: Load;
  contenders: Contender[];
  metrics: Metric[];
  /** Metrics drawn in the chart. */
  chart: string[];
  targets: Target[];
}

function node(id: string, label: string, script: string, env: Record<string, string> = {}): Contender {
  return {
    id,
    label,
    python: false,
    server: (port, profileDir) => ({
      argv: [process.execPath, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${id}.${Date.now()}.cpuprofile`] : []), `${SERVERS_DIR}${script}.js`],
      env: { PORT: String(port), ...env },
    }),
  };
}

/**
 * The binaries of the pinned `bun` and `deno` npm packages (resolved when a server starts: the docs test builds the
 * catalogue without them). The tests' scripts/js-runtimes.ts says the same; bench/ is built on its own (rootDir), so it
 * keeps these two lines.
 */
const RUNTIME_BINARIES = {
  bun: { binary: () => join(dirname(createRequire(import.meta.url).resolve('bun/package.json')), 'bin', 'bun.exe'), run: ['run'] },
  deno: { binary: () => join(dirname(createRequire(import.meta.url).resolve('deno/package.json')), 'deno'), run: ['run', '-A'] },
} as const;

/** A server script of bench/servers run by Bun or Deno instead of Node (no CPU profiles). */
function onRuntime(runtime: keyof typeof RUNTIME_BINARIES, id: string, label: string, script: string): Contender {
  const r = RUNTIME_BINARIES[runtime];
  return { id, label, python: false, server: (port) => ({ argv: [r.binary(), ...r.run, `${SERVERS_DIR}${script}.js`], env: { PORT: String(port) } }) };
}

/** `c` serving TLS with the run's certificate, made when a server starts (never when the catalogue is built: the docs test builds it). */
function overTls(c: Contender, label = c.label): Contender {
  return {
    ...c,
    label,
    server: (port, profileDir) => {
      const spec = c.server(port, profileDir);
      return { ...spec, env: { ...spec.env, ...benchCertificate() } };
    },
  };
}

function python(id: string, label: string, argv: (port: number) => string[]): Contender {
  return { id, label, python: true, server: (port) => ({ argv: argv(port), cwd: PYTHON_DIR }) };
}

const asgiUws = node('asgi-uws', 'ASGI-TS on @tsgi/uws', 'asgi-uws');
const rawUws = node('raw-uws', 'raw uWebSockets.js', 'raw-uws');
const rawUwsReads = node('raw-uws-reads', 'raw uWebSockets.js + the reads a scope needs', 'raw-uws-reads');
const nodeHttp = node('node-http', 'node:http (raw handler; ws for WebSocket)', 'node-http');
const nodeHttpAsgiMin = node('node-http-asgi-min', 'node:http + the least an ASGI adapter does', 'node-http-asgi-min');
const asgiNode = node('asgi-node', 'ASGI-TS on @tsgi/node', 'asgi-node');
const honoTsgiNode = node('hono-tsgi-node', 'Hono on @tsgi/node (fromFetchHandler)', 'hono-tsgi-node');
const honoNode = node('hono-node', 'Hono on @hono/node-server', 'hono-node');
const nodeHttp2 = node('node-http2', 'node:http2 (raw handler, h2c)', 'node-http2');
const nodeHttp2Stream = node('node-http2-stream', "node:http2's stream API (raw, h2c)", 'node-http2-stream');
const honoUws = node('hono-uws', 'Hono on @tsgi/uws (fromFetchHandler)', 'hono-uws');
const asgiHonoNode = node('asgi-hono-node', 'ASGI-TS on @hono/node-server (toFetchHandler)', 'asgi-hono-node');
const uvicorn = python('uvicorn', 'uvicorn (httptools, uvloop)', (port) => [
  PYTHON, '-m', 'uvicorn', 'asgi_app:app', '--host', '127.0.0.1', '--port', String(port), '--loop', 'uvloop', '--http', 'httptools',
  '--ws', 'websockets', '--lifespan', 'off', '--no-access-log', '--log-level', 'warning',
]);

const pool = (threads: number) => node('pool', `WSGI-TS on @tsgi/pool (${threads} threads)`, 'pool', { THREADS: String(threads) });
const bridge = (threads: number) => node('bridge-uws', `WSGI-TS on @tsgi/uws via wsgiToAsgi (${threads} threads)`, 'bridge-uws', { THREADS: String(threads) });
const gunicorn = (threads: number) =>
  python('gunicorn', `gunicorn gthread (1 worker, ${threads} threads)`, (port) => [
    '/usr/bin/gunicorn', '--worker-class', 'gthread', '--workers', '1', '--threads', String(threads), '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', 'wsgi_app:app',
  ]);
const uvicornWorkers = (workers: number) =>
  python(`uvicorn-${workers}`, `uvicorn --workers ${workers}`, (port) => [
    PYTHON, '-m', 'uvicorn', 'asgi_app:app', '--host', '127.0.0.1', '--port', String(port), '--loop', 'uvloop', '--http', 'httptools',
    '--ws', 'websockets', '--lifespan', 'off', '--no-access-log', '--log-level', 'warning', '--workers', String(workers),
  ]);
const gunicornWorkers = (workers: number, threads: number) =>
  python(`gunicorn-${workers}`, `gunicorn gthread (${workers} workers, ${threads} threads)`, (port) => [
    '/usr/bin/gunicorn', '--worker-class', 'gthread', '--workers', String(workers), '--threads', String(threads), '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', 'wsgi_app:app',
  ]);
const waitress = (threads: number) =>
  python('waitress', `waitress (${threads} threads)`, (port) => ['/usr/bin/waitress-serve', `--listen=127.0.0.1:${port}`, `--threads=${threads}`, 'wsgi_app:app']);

const RPS: Metric = { key: 'rps', label: 'req/s', unit: 'req/s', higherIsBetter: true, digits: 0 };
const P50: Metric = { key: 'p50Ms', label: 'p50', unit: 'ms', higherIsBetter: false, digits: 2 };
const P99: Metric = { key: 'p99Ms', label: 'p99', unit: 'ms', higherIsBetter: false, digits: 2 };
const CPU_US: Metric = { key: 'cpuUsPerReq', label: 'server CPU/req', unit: 'us', higherIsBetter: false, digits: 1 };
const WRK_METRICS = [RPS, P50, P99, CPU_US];

const ratio = (a: string, b: string, metric = 'rps') => (m: (c: string, k: string) => number) => m(a, metric) / m(b, metric);
const fasterOf = (a: string, b: string) => (m: (c: string, k: string) => number) => Math.max(m(a, 'rps') || 0, m(b, 'rps') || 0);

/** Bytes moved each way in scenario 4 (the 1 GiB; --bytes changes it). */
export const GIB = 2 ** 30;

/** Builds the scenarios; `transferBytes` sets scenario 4's size. */
export function scenarios(transferBytes: number = GIB): Scenario[] {
  const syncPython = [gunicorn(8), waitress(8)];
  return [
    {
      id: 'hello-async',
      number: 1,
      title: 'hello world, async',
      pinned: true,
      load: { kind: 'wrk', path: '/', connections: 50 },
      contenders: [asgiUws, asgiNode, rawUws, rawUwsReads, nodeHttp, nodeHttpAsgiMin, honoNode, honoUws, honoTsgiNode, asgiHonoNode, uvicorn],
      metrics: WRK_METRICS,
      chart: ['rps'],
      targets: [
        { label: '@tsgi/uws / raw uWebSockets.js, req/s', value: ratio('asgi-uws', 'raw-uws'), op: '>=', threshold: 0.85, unit: 'x' },
        { label: 'raw uWebSockets.js / @tsgi/uws, server CPU per request', value: ratio('raw-uws', 'asgi-uws', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: 'raw uWebSockets.js + the reads a scope needs / raw uWebSockets.js, req/s (the ceiling of any ASGI adapter on this binding)', value: ratio('raw-uws-reads', 'raw-uws'), op: 'info', unit: 'x' },
        { label: '@tsgi/uws / raw uWebSockets.js + the reads a scope needs, req/s (the cost of tsgi itself)', value: ratio('asgi-uws', 'raw-uws-reads'), op: 'info', unit: 'x' },
        { label: '@tsgi/uws / uvicorn, req/s', value: ratio('asgi-uws', 'uvicorn'), op: '>=', threshold: 1.5, unit: 'x' },
        { label: 'Hono on @tsgi/uws / Hono on @hono/node-server, req/s', value: ratio('hono-uws', 'hono-node'), op: '>=', threshold: 1.3, unit: 'x' },
        { label: 'Hono on @hono/node-server / Hono on @tsgi/uws, server CPU per request', value: ratio('hono-node', 'hono-uws', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: 'ASGI-TS on @hono/node-server (toFetchHandler) / Hono on @hono/node-server, req/s (the other fetch direction)', value: ratio('asgi-hono-node', 'hono-node'), op: 'info', unit: 'x' },
        { label: '@tsgi/uws / node:http, req/s', value: ratio('asgi-uws', 'node-http'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / node:http (raw handler), req/s', value: ratio('asgi-node', 'node-http'), op: '>=', threshold: 0.9, unit: 'x' },
        { label: '@tsgi/node / Hono on @hono/node-server, req/s', value: ratio('asgi-node', 'hono-node'), op: '>=', threshold: 1, unit: 'x' },
        { label: 'node:http / @tsgi/node, server CPU per request', value: ratio('node-http', 'asgi-node', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: 'node:http + the least an ASGI adapter does / node:http, req/s (the ceiling of any ASGI adapter on node:http)', value: ratio('node-http-asgi-min', 'node-http'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / node:http + the least an ASGI adapter does, req/s (the cost of tsgi itself)', value: ratio('asgi-node', 'node-http-asgi-min'), op: 'info', unit: 'x' },
        { label: 'Hono on @tsgi/node / Hono on @hono/node-server, req/s', value: ratio('hono-tsgi-node', 'hono-node'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'hello-sync',
      number: 2,
      title: 'hello world, sync (8 threads)',
      pinned: true,
      load: { kind: 'wrk', path: '/', connections: 50 },
      contenders: [pool(8), bridge(8), ...syncPython],
      metrics: WRK_METRICS,
      chart: ['rps'],
      targets: [
        { label: '@tsgi/pool / the faster of gunicorn and waitress, req/s', value: (m) => m('pool', 'rps') / fasterOf('gunicorn', 'waitress')(m), op: '>=', threshold: 2, unit: 'x' },
        { label: 'wsgiToAsgi on @tsgi/uws / the faster of gunicorn and waitress, req/s', value: (m) => m('bridge-uws', 'rps') / fasterOf('gunicorn', 'waitress')(m), op: '>=', threshold: 2, unit: 'x' },
      ],
    },
    {
      id: 'blocking',
      number: 3,
      title: 'blocking handler, 10 ms per request (16 threads)',
      pinned: true,
      load: { kind: 'wrk', path: '/block', connections: 64 },
      contenders: [pool(16), bridge(16), gunicorn(16), waitress(16)],
      metrics: WRK_METRICS,
      chart: ['rps'],
      targets: [
        { label: '@tsgi/pool / ideal 1600 req/s', value: (m) => m('pool', 'rps') / 1600, op: '>=', threshold: 0.9, unit: 'x' },
        { label: 'wsgiToAsgi on @tsgi/uws / ideal 1600 req/s', value: (m) => m('bridge-uws', 'rps') / 1600, op: '>=', threshold: 0.9, unit: 'x' },
        { label: 'gunicorn / ideal 1600 req/s', value: (m) => m('gunicorn', 'rps') / 1600, op: 'info', unit: 'x' },
        { label: 'waitress / ideal 1600 req/s', value: (m) => m('waitress', 'rps') / 1600, op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'streaming',
      number: 4,
      title: `streaming, ${formatBytes(transferBytes)} up and down`,
      pinned: true,
      load: { kind: 'transfer', bytes: transferBytes },
      contenders: [asgiUws, asgiNode, pool(2), rawUws, nodeHttp],
      metrics: [
        { key: 'upMBps', label: 'upload', unit: 'MB/s', higherIsBetter: true, digits: 0 },
        { key: 'downMBps', label: 'download', unit: 'MB/s', higherIsBetter: true, digits: 0 },
        { key: 'peakRssMiB', label: 'peak RSS', unit: 'MiB', higherIsBetter: false, digits: 0 },
      ],
      chart: ['upMBps', 'downMBps', 'peakRssMiB'],
      targets: [
        { label: '@tsgi/uws peak RSS', value: (m) => m('asgi-uws', 'peakRssMiB'), op: '<=', threshold: 150, unit: 'MiB' },
        { label: '@tsgi/pool peak RSS', value: (m) => m('pool', 'peakRssMiB'), op: '<=', threshold: 150, unit: 'MiB' },
        { label: '@tsgi/node peak RSS', value: (m) => m('asgi-node', 'peakRssMiB'), op: '<=', threshold: 150, unit: 'MiB' },
        { label: '@tsgi/node / node:http, upload', value: ratio('asgi-node', 'node-http', 'upMBps'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / node:http, download', value: ratio('asgi-node', 'node-http', 'downMBps'), op: 'info', unit: 'x' },
        { label: '@tsgi/uws / raw uWebSockets.js, upload', value: ratio('asgi-uws', 'raw-uws', 'upMBps'), op: 'info', unit: 'x' },
        { label: '@tsgi/uws / raw uWebSockets.js, download', value: ratio('asgi-uws', 'raw-uws', 'downMBps'), op: 'info', unit: 'x' },
        { label: '@tsgi/pool / node:http, upload', value: ratio('pool', 'node-http', 'upMBps'), op: 'info', unit: 'x' },
        { label: '@tsgi/pool / node:http, download', value: ratio('pool', 'node-http', 'downMBps'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'ws-echo',
      number: 5,
      title: 'WebSocket echo, 50 connections',
      pinned: true,
      load: { kind: 'ws', connections: 50, payload: 32 },
      contenders: [asgiUws, asgiNode, rawUws, nodeHttp, uvicorn],
      metrics: [
        { key: 'msgsPerSec', label: 'messages/s', unit: 'msg/s', higherIsBetter: true, digits: 0 },
        { key: 'cpuUsPerMsg', label: 'server CPU/msg', unit: 'us', higherIsBetter: false, digits: 1 },
      ],
      chart: ['msgsPerSec'],
      targets: [
        { label: '@tsgi/uws / raw uWebSockets.js, messages/s', value: ratio('asgi-uws', 'raw-uws', 'msgsPerSec'), op: '>=', threshold: 0.8, unit: 'x' },
        { label: 'raw uWebSockets.js / @tsgi/uws, server CPU per message', value: ratio('raw-uws', 'asgi-uws', 'cpuUsPerMsg'), op: 'info', unit: 'x' },
        { label: '@tsgi/uws / uvicorn (websockets), messages/s', value: ratio('asgi-uws', 'uvicorn', 'msgsPerSec'), op: '>=', threshold: 3, unit: 'x' },
        { label: '@tsgi/node / ws on node:http (raw handler), messages/s', value: ratio('asgi-node', 'node-http', 'msgsPerSec'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / uvicorn (websockets), messages/s', value: ratio('asgi-node', 'uvicorn', 'msgsPerSec'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'multicore',
      number: 6,
      title: 'multi-core: workers=2 vs workers=1 on every server, and uvicorn and gunicorn (nothing pinned)',
      pinned: false,
      load: { kind: 'wrk', path: '/', connections: 50 },
      contenders: [
        node('asgi-uws', 'ASGI-TS on @tsgi/uws, workers=1', 'asgi-uws'),
        node('asgi-uws-2', 'ASGI-TS on @tsgi/uws, workers=2 (threads)', 'asgi-uws', { WORKERS: '2' }),
        node('asgi-node', 'ASGI-TS on @tsgi/node, workers=1', 'asgi-node'),
        node('asgi-node-2', 'ASGI-TS on @tsgi/node, workers=2 (processes)', 'asgi-node', { WORKERS: '2' }),
        node('pool', 'WSGI-TS on @tsgi/pool, workers=1 x 8 threads', 'pool', { THREADS: '8' }),
        node('pool-2', 'WSGI-TS on @tsgi/pool, workers=2 x 8 threads', 'pool', { THREADS: '8', WORKERS: '2' }),
        uvicorn,
        uvicornWorkers(2),
        gunicorn(8),
        gunicornWorkers(2, 8),
      ],
      metrics: WRK_METRICS,
      chart: ['rps'],
      targets: [
        { label: '@tsgi/uws workers=2 / workers=1, req/s', value: ratio('asgi-uws-2', 'asgi-uws'), op: 'info', unit: 'x' },
        { label: '@tsgi/node workers=2 / workers=1, req/s', value: ratio('asgi-node-2', 'asgi-node'), op: 'info', unit: 'x' },
        { label: '@tsgi/pool workers=2 / workers=1, req/s', value: ratio('pool-2', 'pool'), op: 'info', unit: 'x' },
        { label: 'uvicorn --workers 2 / 1, req/s', value: ratio('uvicorn-2', 'uvicorn'), op: 'info', unit: 'x' },
        { label: 'gunicorn -w 2 / -w 1, req/s', value: ratio('gunicorn-2', 'gunicorn'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'latency',
      number: 7,
      title: 'latency at a constant 5,000 req/s',
      pinned: true,
      load: { kind: 'rate', path: '/', rate: 5000, connections: 50 },
      contenders: [asgiUws, rawUws, nodeHttp, honoNode, honoUws, uvicorn],
      metrics: [
        { key: 'p50Ms', label: 'p50', unit: 'ms', higherIsBetter: false, digits: 2 },
        { key: 'p99Ms', label: 'p99', unit: 'ms', higherIsBetter: false, digits: 2 },
        { key: 'maxMs', label: 'max', unit: 'ms', higherIsBetter: false, digits: 1 },
        { key: 'rps', label: 'achieved', unit: 'req/s', higherIsBetter: true, digits: 0 },
        { key: 'unansweredPct', label: 'unanswered 2 s after the end', unit: '%', higherIsBetter: false, digits: 1 },
      ],
      chart: ['p99Ms'],
      targets: [],
    },
    {
      id: 'h2',
      number: 8,
      title: 'hello world over HTTP/2 (h2c), 10 connections x 10 streams',
      pinned: true,
      load: { kind: 'h2load', path: '/', connections: 10, streams: 10 },
      contenders: [asgiNode, nodeHttp2, nodeHttp2Stream],
      metrics: [RPS, { key: 'meanMs', label: 'mean', unit: 'ms', higherIsBetter: false, digits: 2 }, CPU_US],
      chart: ['rps'],
      targets: [
        { label: '@tsgi/node / raw node:http2, req/s', value: ratio('asgi-node', 'node-http2'), op: '>=', threshold: 0.85, unit: 'x' },
        { label: 'raw node:http2 / @tsgi/node, server CPU per request', value: ratio('node-http2', 'asgi-node', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: "@tsgi/node / raw node:http2's stream API, req/s", value: ratio('asgi-node', 'node-http2-stream'), op: 'info', unit: 'x' },
        { label: "raw node:http2's stream API / @tsgi/node, server CPU per request", value: ratio('node-http2-stream', 'asgi-node', 'cpuUsPerReq'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'tls',
      number: 9,
      title: 'hello world over TLS (HTTP/1.1), against raw uWebSockets.js SSLApp and node:https',
      pinned: true,
      load: { kind: 'wrk', path: '/', connections: 50, tls: true },
      contenders: [
        overTls(asgiUws, 'ASGI-TS on @tsgi/uws, TLS'),
        overTls(node('raw-uws-tls', 'raw uWebSockets.js SSLApp', 'raw-uws-tls')),
        overTls(asgiNode, 'ASGI-TS on @tsgi/node, TLS'),
        overTls(node('node-https', 'node:https (raw handler)', 'node-https')),
      ],
      metrics: WRK_METRICS,
      // req/s moves with whatever else the 2-core machine runs; CPU per request much less: it leads.
      chart: ['cpuUsPerReq', 'rps'],
      targets: [
        { label: '@tsgi/uws / raw uWebSockets.js SSLApp, req/s', value: ratio('asgi-uws', 'raw-uws-tls'), op: 'info', unit: 'x' },
        { label: 'raw uWebSockets.js SSLApp / @tsgi/uws, server CPU per request', value: ratio('raw-uws-tls', 'asgi-uws', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / raw node:https, req/s', value: ratio('asgi-node', 'node-https'), op: 'info', unit: 'x' },
        { label: 'raw node:https / @tsgi/node, server CPU per request', value: ratio('node-https', 'asgi-node', 'cpuUsPerReq'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'runtimes',
      number: 10,
      title: 'hello world, async, on Bun and Deno (@tsgi/bridge/bun and /deno) against their own servers',
      pinned: true,
      load: { kind: 'wrk', path: '/', connections: 50 },
      contenders: [
        onRuntime('bun', 'asgi-bun', 'ASGI-TS on Bun (@tsgi/bridge/bun)', 'asgi-bun'),
        onRuntime('bun', 'bun-raw', 'Bun.serve (raw handler)', 'bun-raw'),
        onRuntime('deno', 'asgi-deno', 'ASGI-TS on Deno (@tsgi/bridge/deno)', 'asgi-deno'),
        onRuntime('deno', 'deno-raw', 'Deno.serve (raw handler)', 'deno-raw'),
        asgiUws,
      ],
      metrics: WRK_METRICS,
      chart: ['rps'],
      targets: [
        { label: 'ASGI-TS on Bun / raw Bun.serve, req/s', value: ratio('asgi-bun', 'bun-raw'), op: 'info', unit: 'x' },
        { label: 'raw Bun.serve / ASGI-TS on Bun, server CPU per request', value: ratio('bun-raw', 'asgi-bun', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: 'ASGI-TS on Deno / raw Deno.serve, req/s', value: ratio('asgi-deno', 'deno-raw'), op: 'info', unit: 'x' },
        { label: 'raw Deno.serve / ASGI-TS on Deno, server CPU per request', value: ratio('deno-raw', 'asgi-deno', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: 'ASGI-TS on Bun / ASGI-TS on @tsgi/uws, req/s', value: ratio('asgi-bun', 'asgi-uws'), op: 'info', unit: 'x' },
      ],
    },
    {
      id: 'hello-close',
      number: 11,
      title: 'hello world, a connection per request (Connection: close, as nginx without upstream keepalive)',
      pinned: true,
      load: { kind: 'wrk', path: '/', connections: 10, close: true },
      // Not uWebSockets.js: it closes after the response as asked but does not say `Connection: close` in it, so wrk
      // writes its next request on the closed connection and counts a read error for every request.
      contenders: [asgiNode, nodeHttp, honoNode, uvicorn],
      metrics: WRK_METRICS,
      chart: ['cpuUsPerReq', 'rps'],
      targets: [
        { label: '@tsgi/node / node:http (raw handler), req/s', value: ratio('asgi-node', 'node-http'), op: 'info', unit: 'x' },
        { label: 'node:http / @tsgi/node, server CPU per request', value: ratio('node-http', 'asgi-node', 'cpuUsPerReq'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / Hono on @hono/node-server, req/s', value: ratio('asgi-node', 'hono-node'), op: 'info', unit: 'x' },
        { label: '@tsgi/node / uvicorn, req/s', value: ratio('asgi-node', 'uvicorn'), op: 'info', unit: 'x' },
        { label: 'uvicorn / node:http (raw handler), server CPU per request', value: ratio('uvicorn', 'node-http', 'cpuUsPerReq'), op: 'info', unit: 'x' },
      ],
    },
  ];
}

/** The ids of the contenders that run tsgi's own code (those an A/B against a baseline checkout compares). */
export const TSGI_CONTENDERS: readonly string[] = ['asgi-uws', 'asgi-node', 'pool', 'bridge-uws', 'hono-uws', 'hono-tsgi-node'];

/**
 * `scenario` with a twin of each tsgi contender that runs the same server
 * script from another built checkout (`baselineDir`, its bench/dist/servers),
 * and a target per twin: this checkout / the baseline. Both run in the same
 * alternating rounds, so the ratio is an A/B free of the VM's drift.
 */
export function withBaseline(scenario: Scenario, baselineDir: string): Scenario {
  const twins: Contender[] = [];
  const targets: Target[] = [];
  for (const c of scenario.contenders) {
    if (!TSGI_CONTENDERS.includes(c.id)) continue;
    const id = `${c.id}@baseline`;
    twins.push({
      id,
      label: `${c.label} (baseline)`,
      python: false,
      server: (port, profileDir) => {
        const spec = c.server(port, profileDir);
        return { ...spec, argv: spec.argv.map((a) => (a.startsWith(SERVERS_DIR) ? `${baselineDir}/bench/dist/servers/${a.slice(SERVERS_DIR.length)}` : a)) };
      },
    });
    const key = scenario.chart[0]!;
    targets.push({ label: `${c.label}: this checkout / baseline, ${key}`, value: ratio(c.id, id, key), op: 'info', unit: 'x' });
  }
  return { ...scenario, contenders: [...scenario.contenders, ...twins], targets: [...scenario.targets, ...targets] };
}

/** `1 GiB`, `64 MiB`. */
export function formatBytes(bytes: number): string {
  return bytes >= GIB && bytes % GIB === 0 ? `${bytes / GIB} GiB` : `${Math.round(bytes / 2 ** 20)} MiB`;
}
