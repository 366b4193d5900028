/**
 * Runs one scenario: starts every contender (server pinned to CPU 0), warms
 * each up, then measures them in alternating rounds (A B C A B C …) with the
 * load generator pinned to CPU 1, so a neighbour's burst of load spreads
 * over all contenders instead of landing on one.
 */
import { execFile } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, onCpus, ServerProcess } from './process.js';
import type { Contender, Load, Sample, Scenario } from './scenarios.js';
import { summarize, type Summary } from './stats.js';
import { h2load } from './h2load.js';
import { wrk } from './wrk.js';

const run = promisify(execFile);
const LOADGEN_DIR = fileURLToPath(new URL('./loadgen/', import.meta.url));

/** Knobs of a run. */
export interface RunOptions {
  rounds: number;
  /** Seconds of load per round. */
  seconds: number;
  /** Seconds of warm-up load per contender before the first round. */
  warmup: number;
  /** Directory for the Node servers' CPU profiles, or null. */
  profileDir: string | null;
  log: (line: string) => void;
}

/** What one contender got in one scenario. */
export interface ContenderResult {
  id: string;
  label: string;
  samples: Sample[];
  summary: Record<string, Summary>;
  /** Why it has no (or fewer) samples: a refusal to start, a failed round. */
  errors: string[];
}

/** A target as judged in this run. */
export interface TargetResult {
  label: string;
  value: number;
  op: '>=' | '<=' | 'info';
  threshold?: number;
  unit: string;
  /** null for `info` targets and for values that could not be computed. */
  met: boolean | null;
}

/** The outcome of one scenario. */
export interface ScenarioResult {
  id: string;
  number: number;
  title: string;
  /** When the scenario started, and the 1-minute load average then (latest.json mixes scenarios of different runs). */
  measuredAt: string;
  loadAverageAtStart: number;
  load: Load;
  pinned: boolean;
  rounds: number;
  seconds: number;
  metrics: Scenario['metrics'];
  chart: string[];
  contenders: ContenderResult[];
  targets: TargetResult[];
}

const SERVER_CPU = '0';
const LOAD_CPU = '1';

async function node(cpus: string, script: string, args: string[], timeoutS: number): Promise<Record<string, number>> {
  const [cmd, ...rest] = onCpus(cpus, [process.execPath, `${LOADGEN_DIR}${script}`, ...args]);
  const { stdout } = await run(cmd!, rest, { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number>;
}

/** Puts one round of `load` on the server and returns what it measured. */
async function measure(load: Load, server: ServerProcess, seconds: number, loadCpus: string): Promise<Sample> {
  const base = `${load.kind === 'wrk' && load.tls === true ? 'https' : 'http'}://127.0.0.1:${server.port}`;
  const ticksBefore = server.cpuTicks();
  const cpuUs = () => (server.cpuTicks() - ticksBefore) * 10_000; // clock ticks are 10 ms
  switch (load.kind) {
    case 'wrk': {
      const r = await wrk({ url: base + load.path, seconds, connections: load.connections, cpus: loadCpus, close: load.close === true });
      if (r.errors > 0) throw new Error(`${r.errors} socket errors or non-2xx answers`);
      return { rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpuUsPerReq: cpuUs() / r.requests };
    }
    case 'rate': {
      const r = await node(loadCpus, 'rate.js', [base + load.path, String(load.rate), String(seconds), String(load.connections)], seconds + 30);
      // A server that falls behind the rate leaves requests unanswered: reported, since the percentiles cover answered ones only.
      return { p50Ms: r.p50Ms!, p99Ms: r.p99Ms!, maxMs: r.maxMs!, rps: r.completed! / r.seconds!, unansweredPct: (100 * (r.sent! - r.completed!)) / r.sent! };
    }
    case 'ws': {
      const r = await node(loadCpus, 'ws-echo.js', [`ws://127.0.0.1:${server.port}/`, String(load.connections), String(seconds), String(load.payload)], seconds + 30);
      return { msgsPerSec: r.messages! / r.seconds!, cpuUsPerMsg: cpuUs() / r.messages! };
    }
    case 'h2load': {
      const r = await h2load({ url: base + load.path, seconds, connections: load.connections, streams: load.streams, cpus: loadCpus });
      if (r.errors > 0) throw new Error(`${r.errors} HTTP/2 requests failed or errored`);
      return { rps: r.rps, meanMs: r.meanMs, cpuUsPerReq: cpuUs() / r.requests };
    }
    case 'transfer': {
      const up = await node(loadCpus, 'transfer.js', ['up', base, String(load.bytes)], 600);
      const down = await node(loadCpus, 'transfer.js', ['down', base, String(load.bytes)], 600);
      return { upMBps: up.bytes! / up.seconds! / 1e6, downMBps: down.bytes! / down.seconds! / 1e6, peakRssMiB: server.peakRssMiB() };
    }
  }
}

/** The warm-up variant of a load: shorter, and a smaller transfer. */
function warmupLoad(load: Load): Load {
  return load.kind === 'transfer' ? { kind: 'transfer', bytes: Math.min(load.bytes, 64 * 2 ** 20) } : load;
}

/** One line for the progress log: each metric of a sample with its unit. */
function describe(scenario: Scenario, sample: Sample): string {
  return scenario.metrics.map((m) => `${m.label} ${sample[m.key]!.toFixed(m.digits)} ${m.unit}`).join(', ');
}

/** Runs a scenario and returns its results. */
export async function runScenario(scenario: Scenario, contenders: Contender[], o: RunOptions): Promise<ScenarioResult> {
  const measuredAt = new Date().toISOString();
  const loadAverageAtStart = Number(loadavg()[0]!.toFixed(2));
  // One core (a small CI box) cannot be split: nothing is pinned then, and the JSON says so.
  const pinned = scenario.pinned && availableParallelism() >= 2;
  const serverCpus = pinned ? SERVER_CPU : '';
  const loadCpus = pinned ? LOAD_CPU : '';
  const results = new Map<string, ContenderResult>(contenders.map((c) => [c.id, { id: c.id, label: c.label, samples: [], summary: {}, errors: [] }]));
  const running = new Map<string, ServerProcess>();
  try {
    for (const c of contenders) {
      try {
        const port = await freePort();
        running.set(c.id, await ServerProcess.start(c.server(port, o.profileDir), port, serverCpus));
      } catch (e) {
        results.get(c.id)!.errors.push(`did not start: ${(e as Error).message}`);
        o.log(`  ${c.label}: did not start: ${(e as Error).message}`);
      }
    }
    for (const [id, server] of running) {
      try {
        if (o.warmup > 0) await measure(warmupLoad(scenario.load), server, o.warmup, loadCpus);
      } catch (e) {
        results.get(id)!.errors.push(`warm-up failed: ${(e as Error).message}`);
      }
    }
    for (let round = 1; round <= o.rounds; round++) {
      for (const [id, server] of running) {
        const result = results.get(id)!;
        try {
          const sample = await measure(scenario.load, server, o.seconds, loadCpus);
          result.samples.push(sample);
          o.log(`  round ${round} ${result.label}: ${describe(scenario, sample)}`);
        } catch (e) {
          result.errors.push(`round ${round}: ${(e as Error).message}`);
          o.log(`  round ${round} ${result.label}: FAILED ${(e as Error).message}`);
        }
      }
    }
  } finally {
    await Promise.all([...running.values()].map((s) => s.stop()));
  }
  for (const r of results.values()) {
    for (const m of scenario.metrics) r.summary[m.key] = summarize(r.samples.map((s) => s[m.key]!).filter((v) => Number.isFinite(v)));
  }
  const median = (contender: string, metric: string) => results.get(contender)?.summary[metric]?.median ?? Number.NaN;
  const targets: TargetResult[] = scenario.targets.map((t) => {
    const value = t.value(median);
    const met = t.op === 'info' || !Number.isFinite(value) ? null : t.op === '>=' ? value >= t.threshold! : value <= t.threshold!;
    return { label: t.label, value, op: t.op, ...(t.threshold !== undefined ? { threshold: t.threshold } : {}), unit: t.unit, met };
  });
  return {
    id: scenario.id,
    number: scenario.number,
    title: scenario.title,
    measuredAt,
    loadAverageAtStart,
    load: scenario.load,
    pinned,
    rounds: o.rounds,
    seconds: o.seconds,
    metrics: scenario.metrics,
    chart: scenario.chart,
    contenders: [...results.values()],
    targets,
  };
}
