/**
 * CI check of the harness itself: builds bench/, runs two scenarios with
 * their Node contenders for one 1-second round each (`--smoke`), and checks
 * that every contender was measured and that the JSON, Markdown and SVG
 * reports hold what the docs are built from. Needs wrk (scripts/system-deps.txt).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTools } from '../../scripts/system-tools.js';
import type { BenchReport } from '../src/report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'tsgi-bench-smoke-'));
let report: BenchReport;
const tools = needTools('bench/test/smoke.test.ts', 'wrk');

beforeAll(() => {
  if (tools.skip) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'bench'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, ['bench/dist/src/main.js', 'hello-async', 'ws-echo', '--smoke', '--no-python', '--no-install', '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 150_000,
  });
  report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
}, 180_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.skipIf(tools.skip)(`bench --smoke${tools.note}`, () => {
  it('records the machine and the command', () => {
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(Number.isFinite(report.machine.loadAverageAtStart)).toBe(true);
    expect(report.command).toContain('--smoke');
  });

  it('measures every Node contender of both scenarios with finite figures', () => {
    expect(report.scenarios.map((s) => s.id)).toEqual(['hello-async', 'ws-echo']);
    const [hello, ws] = report.scenarios;
    expect(hello!.contenders.map((c) => c.id)).toEqual(['asgi-uws', 'asgi-node', 'raw-uws', 'raw-uws-reads', 'node-http', 'node-http-asgi-min', 'hono-node', 'hono-uws', 'hono-tsgi-node', 'asgi-hono-node']);
    expect(ws!.contenders.map((c) => c.id)).toEqual(['asgi-uws', 'asgi-node', 'raw-uws', 'node-http']);
    for (const scenario of report.scenarios) {
      for (const c of scenario.contenders) {
        expect(c.errors, `${scenario.id} ${c.id}`).toEqual([]);
        expect(c.samples).toHaveLength(1);
        for (const m of scenario.metrics) {
          expect(c.summary[m.key]!.n, `${scenario.id} ${c.id} ${m.key}`).toBe(1);
          expect(c.summary[m.key]!.median, `${scenario.id} ${c.id} ${m.key}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('judges the targets whose contenders ran and leaves the others uncomputed', () => {
    const hello = report.scenarios[0]!;
    const vsRaw = hello.targets.find((t) => t.label.startsWith('@tsgi/uws / raw uWebSockets.js'))!;
    expect(vsRaw.value).toBeGreaterThan(0);
    expect(typeof vsRaw.met).toBe('boolean');
    const vsUvicorn = hello.targets.find((t) => t.label.includes('uvicorn'))!;
    expect(vsUvicorn.value).toBeNull(); // NaN in JSON: uvicorn was left out
    expect(vsUvicorn.met).toBeNull();
  });

  it('draws every contender in the SVG chart and the Markdown table', () => {
    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(svg.startsWith('<svg ')).toBe(true);
    for (const c of report.scenarios.flatMap((s) => s.contenders)) {
      expect(svg).toContain(`>${c.label.replaceAll('&', '&amp;')}</text>`);
      expect(md).toContain(`| ${c.label} |`);
    }
    expect((svg.match(/<rect /g) ?? []).length).toBe(1 + 10 + 4); // background + one bar per contender
  });

  it('leaves latest.* alone on an --only run, which writes its own JSON', () => {
    const before = readdirSync(out);
    const latest = readFileSync(join(out, 'latest.json'), 'utf8');
    execFileSync(process.execPath, ['bench/dist/src/main.js', 'hello-async', '--smoke', '--no-python', '--no-install', '--only', 'node-http', '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 60_000,
    });
    expect(readFileSync(join(out, 'latest.json'), 'utf8')).toBe(latest);
    const added = readdirSync(out).filter((f) => !before.includes(f));
    expect(added).toHaveLength(1);
    const partial = JSON.parse(readFileSync(join(out, added[0]!), 'utf8')) as BenchReport;
    expect(partial.scenarios[0]!.contenders.map((c) => c.id)).toEqual(['node-http']);
  }, 90_000);
});
