/**
 * A zero-downtime deploy as docs/deploying.md describes it: Debian's HAProxy, configured with
 * examples/docs/haproxy.cfg (only its addresses changed, and a stats socket added for the test to
 * see the checks), in front of two `tsgi serve` instances; under continuous keep-alive load
 * through HAProxy, each instance in turn gets SIGTERM, drains, exits 0 and is started again, and
 * HAProxy marks it UP before the next one goes. Every request must get a 200, on uws, node and
 * pool. The figures are printed for the docs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { needTools } from '../../scripts/system-tools.js';
import { freePort, repoRoot, startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';
import { startSteadyLoad } from '../../packages/cli/test/helpers/steady-load.js';

const CONFIG = readFileSync(join(repoRoot, 'examples', 'docs', 'haproxy.cfg'), 'utf8');
const tools = needTools('examples/test/haproxy-rolling.test.ts', 'haproxy');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`examples/docs/haproxy.cfg no longer has ${JSON.stringify(from)}: update this test`);
  return text.replace(from, to);
}

/** The `status` HAProxy's `show stat` gives server `name` of backend tsgi (UP, DOWN, …). */
function serverStatus(socket: string, name: string): Promise<string> {
  return new Promise((resolve) => {
    let csv = '';
    const s = connect(socket, () => s.end('show stat\n'));
    s.setEncoding('utf8').on('data', (d: string) => (csv += d));
    s.on('error', () => resolve('unreachable'));
    s.on('close', () => {
      const [header, ...rows] = csv.trim().split('\n');
      const columns = (header ?? '').replace(/^# /, '').split(',');
      const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'tsgi' && r[1] === name);
      resolve(row?.[columns.indexOf('status')] ?? 'missing');
    });
  });
}

const APPS = { uws: 'examples/docs/proxied-async.ts:app', node: 'examples/docs/proxied-async.ts:app', pool: 'examples/docs/proxied-sync.ts:app' };

describe.skipIf(tools.skip)(`HAProxy in front of two tsgi instances, each restarted in turn with SIGTERM under load${tools.note}`, () => {
  it.each(['uws', 'node', 'pool'] as const)('%s: every request gets a 200', async (kind) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-haproxy-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const [front, port1, port2] = [await freePort(), await freePort(), await freePort()];
    const ports = { app1: port1, app2: port2 };
    const args = (port: number) => ['serve', APPS[kind], '--server', kind, '--port', String(port), '--no-access-log', ...(kind === 'pool' ? ['--threads', '2'] : [])];
    const instances: Record<'app1' | 'app2', TsgiProcess> = {
      app1: await startTsgi(args(port1)),
      app2: await startTsgi(args(port2)),
    };
    cleanups.push(async () => {
      for (const p of Object.values(instances)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    });

    const statsSocket = join(dir, 'haproxy.sock');
    let config = replaceOnce(CONFIG, 'bind 127.0.0.1:8080', `bind 127.0.0.1:${front}`);
    config = replaceOnce(config, 'server app1 127.0.0.1:8001', `server app1 127.0.0.1:${port1}`);
    config = replaceOnce(config, 'server app2 127.0.0.1:8002', `server app2 127.0.0.1:${port2}`);
    config = `global\n    stats socket ${statsSocket} level admin\n\n${config}`;
    writeFileSync(join(dir, 'haproxy.cfg'), config);
    let haproxyLog = '';
    const haproxy: ChildProcess = spawn('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.setEncoding('utf8').on('data', (d: string) => (haproxyLog += d));
    haproxy.stderr!.setEncoding('utf8').on('data', (d: string) => (haproxyLog += d));
    cleanups.push(async () => {
      if (haproxy.exitCode === null) {
        haproxy.kill('SIGTERM');
        await once(haproxy, 'exit');
      }
    });
    const up = (name: 'app1' | 'app2') => expect.poll(() => serverStatus(statsSocket, name), { timeout: 30_000, interval: 100 }).toBe('UP');
    await up('app1');
    await up('app2');

    const load = startSteadyLoad(front, 8);
    await expect.poll(() => load.ok.length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(300);
    for (const name of ['app1', 'app2'] as const) {
      // What systemctl restart does: SIGTERM, wait for the exit, start again.
      expect(await instances[name].stop(), instances[name].stderr()).toBe(0);
      instances[name] = await startTsgi(args(ports[name]));
      await up(name);
      const at = load.ok.length;
      await expect.poll(() => load.ok.length, { timeout: 30_000, interval: 20 }).toBeGreaterThan(at + 300);
    }
    await load.stop();
    const total = load.ok.length + load.failures.length;
    console.log(`HAProxy, ${kind}: ${total} requests, ${load.failures.length} failed, ${load.retried.reused + load.retried.fresh} sent again by the client`);
    expect(load.failures, haproxyLog).toEqual([]);
    // HAProxy itself must have done the retrying: the client never saw a connection close early.
    expect(load.retried, haproxyLog).toEqual({ reused: 0, fresh: 0 });
  }, 120_000);
});
