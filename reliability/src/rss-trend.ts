/**
 * The RSS trend of a `tsgi serve` process under vanishing clients, longer
 * than the tests run it: batches of 100 clients of one scenario (or all),
 * printing RSS, open descriptors and (uws, node) what JavaScript holds after
 * a full collection after each, then 20 s idle. A leak grows
 * by batch without levelling off. Run (after `npx tsc -b`):
 *
 *   npx tsx --conditions=source reliability/src/rss-trend.ts <uws|node|pool> [batches] [mid-headers|mid-upload|mid-download]
 */
import { exposeGcEnv } from './apps/gc.js';
import { startCliServer } from './cli-process.js';
import { openFds, rssMiB } from './proc-stats.js';
import { simpleGet } from './raw-exchange.js';
import { HTTP_VANISH_SCENARIOS, type HttpVanishScenario } from './vanish.js';

const kind = process.argv[2];
if (kind !== 'uws' && kind !== 'node' && kind !== 'pool') throw new Error(`rss-trend: the server must be uws, node or pool; got ${String(kind)}`);
const batches = Number(process.argv[3] ?? 10);
const only = process.argv[4] as HttpVanishScenario | undefined;
if (only !== undefined && !(only in HTTP_VANISH_SCENARIOS)) throw new Error(`rss-trend: unknown scenario ${only}; one of ${Object.keys(HTTP_VANISH_SCENARIOS).join(', ')}`);
const app = new URL(kind === 'pool' ? './apps/wsgi-app.ts' : './apps/asgi-app.ts', import.meta.url).pathname;
// uws and node run the ASGI app, whose GET /gc collects garbage and answers what JavaScript still holds.
const collects = kind !== 'pool';
const proc = await startCliServer(app, ['--server', kind, ...(kind === 'pool' ? ['--threads', '4'] : [])], collects ? exposeGcEnv() : {});
const pid = proc.child.pid!;
const scenarios = Object.entries(HTTP_VANISH_SCENARIOS).filter(([name]) => only === undefined || name === only);
const line = async (label: string) => {
  const held = collects ? `, JavaScript holds ${(Number((await simpleGet(proc.port, '/gc')).body) / 2 ** 20).toFixed(2)} MiB after a collection` : '';
  console.log(`${label}: RSS ${rssMiB(pid).toFixed(1)} MiB, ${openFds(pid)} descriptors${held}`);
};
try {
  for (const [, run] of scenarios) await run(proc.port);
  await simpleGet(proc.port, '/ok');
  await line('warm');
  for (let b = 0; b < batches; b++) {
    for (const [, run] of scenarios) for (let i = 0; i < 100; i += 10) await Promise.all(Array.from({ length: 10 }, () => run(proc.port)));
    await new Promise((r) => setTimeout(r, 300));
    await line(`after ${(b + 1) * 100 * scenarios.length} clients`);
  }
  await new Promise((r) => setTimeout(r, 20_000));
  await line('20 s idle');
} finally {
  await proc.dispose();
}
