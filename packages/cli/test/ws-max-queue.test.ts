/**
 * --ws-max-queue (uvicorn's flag): on --server node, the WebSocket messages a
 * client may have waiting for the app before the server stops reading its
 * socket; the debug log says when reading pauses. uWebSockets.js cannot stop
 * reading a WebSocket, so on uws the CLI refuses the flag with one line.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixtures, killedAfterEach, runCli, startCli, waitForStderr, waitForUrl } from './helpers/spawn-cli.js';

const running = killedAfterEach();
const APP = join(fixtures, 'ws-app.ts');

describe('tsgi serve --ws-max-queue', () => {
  it('--server node: reading pauses once that many messages wait for the app; every message still arrives', async () => {
    const run = startCli(['serve', '--port', '0', '--server', 'node', '--ws-max-queue', '2', '--log-level', 'debug', APP]);
    running.push(run);
    const url = (await waitForUrl(run)).replace('http:', 'ws:');
    const ws = new WebSocket(`${url}/slow`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const echoed: string[] = [];
    const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => echoed.push(d.toString()) === 3 && resolve()));
    for (const m of ['a', 'b', 'c']) ws.send(m);
    expect((await waitForStderr(run, /WebSocket \/slow: the app left (\d+) messages unreceived .*reading paused/))[1]).toBe('2');
    await all;
    expect(echoed).toEqual(['a', 'b', 'c']);
    ws.close();
  });

  it('--server uws: refused with one line naming the flag, exit 2', async () => {
    const r = await runCli(['serve', '--port', '0', '--ws-max-queue', '8', APP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^tsgi: error: --ws-max-queue 8 applies to --server node: uWebSockets\.js cannot stop reading a WebSocket, so @tsgi\/uws closes a client that outruns the app with 1008 instead$/m);
  });
});
