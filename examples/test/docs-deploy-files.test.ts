/**
 * The deployment files of docs/deploying.md that no tool here can run whole (no Docker daemon,
 * no Kubernetes cluster) are checked for what tsgi does with them: the Dockerfile's CMD serves
 * with the ENV's WEB_CONCURRENCY workers and answers the Kubernetes probes' path, the manifest's
 * grace period covers its preStop sleep plus the CMD's --timeout-graceful-shutdown, and the
 * systemd unit with workers reloads (ExecReload's SIGHUP) and stops (SIGTERM) cleanly.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, repoRoot, startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';

const docs = join(repoRoot, 'examples', 'docs');
const dockerfile = readFileSync(join(docs, 'Dockerfile'), 'utf8');
const manifest = readFileSync(join(docs, 'kubernetes.yaml'), 'utf8');
const unit = readFileSync(join(docs, 'tsgi-workers.service'), 'utf8');

const running: TsgiProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

/** The CMD's argv after the tsgi binary. */
const cmd = (JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[]).slice(1);
const flag = (args: string[], name: string) => args[args.indexOf(name) + 1]!;

describe('the container image recipe and the Kubernetes manifest', () => {
  it('the CMD serves the app with WEB_CONCURRENCY workers, answers the probe path, and drains on SIGTERM (exit 0)', async () => {
    const webConcurrency = /WEB_CONCURRENCY=(\d+)/.exec(dockerfile)![1]!;
    const port = await freePort();
    // In the image the app is app.ts in WORKDIR; here the guide's async app stands in for it.
    const args = cmd.map((a) => (a === 'app.ts:app' ? 'examples/docs/proxied-async.ts:app' : a === '8000' ? String(port) : a));
    const tsgi = await startTsgi(args, { WEB_CONCURRENCY: webConcurrency });
    running.push(tsgi);
    expect(tsgi.stderr()).toContain(`${webConcurrency} worker processes) running on http://0.0.0.0:${port}`);
    const probePath = /readinessProbe:\s+httpGet:\s+path: (\S+)\s+port: (\d+)/.exec(manifest)!;
    expect(/livenessProbe:\s+httpGet:\s+path: (\S+)/.exec(manifest)![1]).toBe(probePath[1]);
    expect(Number(probePath[2])).toBe(Number(flag(cmd, '--port')));
    expect((await fetch(`http://127.0.0.1:${port}${probePath[1]}`)).status).toBe(200);
    expect(await tsgi.stop()).toBe(0);
  }, 60_000);

  it('the grace period is longer than preStop plus the graceful shutdown timeout', () => {
    const grace = Number(/terminationGracePeriodSeconds: (\d+)/.exec(manifest)![1]);
    const preStop = Number(/command: \["sleep", "(\d+)"\]/.exec(manifest)![1]);
    expect(grace).toBeGreaterThan(preStop + Number(flag(cmd, '--timeout-graceful-shutdown')));
    expect(Number(/containerPort: (\d+)/.exec(manifest)![1])).toBe(Number(/^EXPOSE (\d+)$/m.exec(dockerfile)![1]));
  });
});

describe('the systemd unit with workers', () => {
  it('systemctl reload (SIGHUP) replaces every worker; systemctl stop (SIGTERM) exits 0', async () => {
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    const line = /^ExecStart=\S+\/tsgi (.*)$/m.exec(unit)![1]!;
    const port = await freePort();
    const args = line.split(' ').map((a) => (a === '8001' ? String(port) : a));
    const tsgi = await startTsgi(args);
    running.push(tsgi);
    const workers = Number(flag(args, '--workers'));
    tsgi.child.kill('SIGHUP');
    await expect.poll(() => tsgi.stderr(), { timeout: 60_000, interval: 100 }).toContain(`Restarted ${workers} worker(s).`);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(await tsgi.stop()).toBe(0);
  }, 90_000);
});
