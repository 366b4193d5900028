/** `tsgi serve --threads N` sizes the runner syncToAsync calls run on, as it sizes a WSGI-TS app's. */
import { expect, it } from 'vitest';
import { killedAfterEach, startCli, waitForUrl } from '../../cli/test/helpers/spawn-cli.js';

const running = killedAfterEach();
const VIEWS = `${new URL('./fixtures/calls-views.ts', import.meta.url).pathname}:views`;

it('--threads 3: eight blocking calls at once land on at most 3 threads (the default would be 8 per core)', async () => {
  const run = startCli(['serve', '--port', '0', '--threads', '3', VIEWS]);
  running.push(run);
  const url = await waitForUrl(run);
  const body = (await (await fetch(`${url}/spread?n=8&ms=200`)).json()) as { threads: number };
  expect(body.threads).toBeGreaterThan(0);
  expect(body.threads).toBeLessThanOrEqual(3);
});
