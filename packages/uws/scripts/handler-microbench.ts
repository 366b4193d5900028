/**
 * The JavaScript cost of one request through @tsgi/uws, without sockets:
 * the HTTP handler is driven with stand-ins for uWebSockets.js's
 * HttpRequest/HttpResponse (their native costs left out), so the figure is
 * what tsgi adds per request, and a --cpu-prof of this script shows where.
 *
 *   node --import tsx packages/uws/scripts/handler-microbench.ts [requests]
 */
import type { AsgiApplication } from '@tsgi/core';
import { createHttpHandler } from '../src/http-handler.js';
import type { HttpResponse } from '../src/binding.js';
import { StandInResponse, standInContext, standInRequest } from '../test/stand-ins.js';

const BODY = Buffer.from('Hello, world!');
const app: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: BODY });
};

const handler = createHttpHandler(standInContext(app));

let ended = 0;
const req = standInRequest('127.0.0.1:8000');
class CountingResponse extends StandInResponse {
  override end(): this {
    ended++;
    return this;
  }
}
const makeRes = () => new CountingResponse() as unknown as HttpResponse;

const n = Number(process.argv[2] ?? 200_000);
async function run(count: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    handler(makeRes(), req);
    if ((i & 63) === 63) await new Promise<void>((r) => setImmediate(r)); // let the app's promises settle
  }
  await new Promise<void>((r) => setImmediate(r));
  return ((performance.now() - t0) * 1000) / count;
}
await run(20_000); // warm-up
const times: number[] = [];
for (let i = 0; i < 5; i++) times.push(await run(n));
if (ended !== 20_000 + 5 * n) throw new Error(`only ${ended} responses ended`);
times.sort((a, b) => a - b);
console.log(`JS per request through the HTTP handler: best ${times[0]!.toFixed(2)} us, median ${times[2]!.toFixed(2)} us (${n} requests x 5)`);
