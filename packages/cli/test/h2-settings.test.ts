/**
 * --h2-max-concurrent-streams and --h2-max-header-list-size (hypercorn's
 * h2_max_* settings) reach the wire: HTTP/2 clients (node:http2, and
 * nghttp from Debian's nghttp2-client; h2c with prior knowledge) read them in
 * the SETTINGS frame @tsgi/node sends, with one worker and with worker
 * processes; on another server, or with a value SETTINGS cannot carry, the
 * CLI stops with one line and exit 2. --no-http2 leaves HTTP/1.x alone.
 */
import { execFile } from 'node:child_process';
import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { needTools } from '../../../scripts/system-tools.js';
import { RawClient } from '../../core/test/support/server-tests.js';
import { fixtures, killedAfterEach, runCli, startCli, waitForUrl } from './helpers/spawn-cli.js';

const running = killedAfterEach();
const nghttp = needTools('packages/cli/test/h2-settings.test.ts', 'nghttp');
const APP = join(fixtures, 'asgi-app.ts');

/** The SETTINGS the server at `url` sends, and the body of GET /h2 over the same session. */
async function serverSettings(url: string): Promise<{ settings: Settings; body: string }> {
  const session: ClientHttp2Session = connect(url);
  try {
    const [settings] = (await once(session, 'remoteSettings')) as [Settings];
    const stream = session.request({ ':path': '/h2' });
    stream.setEncoding('utf8');
    let body = '';
    stream.on('data', (d: string) => (body += d));
    await once(stream, 'end');
    return { settings, body };
  } finally {
    session.close();
  }
}

describe('tsgi serve --h2-max-*, --no-http2', () => {
  it.each([['1 worker', []], ['2 worker processes', ['--workers', '2']]])('--server node sends them in its SETTINGS frame (%s)', async (_, extra) => {
    const run = startCli(['serve', '--port', '0', '--server', 'node', '--h2-max-concurrent-streams', '1', '--h2-max-header-list-size', '4096', ...extra, APP]);
    running.push(run);
    const { settings, body } = await serverSettings(await waitForUrl(run));
    expect(settings.maxConcurrentStreams).toBe(1);
    expect(settings.maxHeaderListSize).toBe(4096);
    expect(body).toBe('asgi |/h2');
  });

  it.skipIf(nghttp.skip)(`nghttp -v sees them in the SETTINGS frame${nghttp.note}`, async () => {
    const run = startCli(['serve', '--port', '0', '--server', 'node', '--h2-max-concurrent-streams', '1', '--h2-max-header-list-size', '4096', APP]);
    running.push(run);
    const { stdout } = await promisify(execFile)('nghttp', ['-nv', '-t', '10', `${await waitForUrl(run)}/h2`], { encoding: 'utf8' });
    // The server's own SETTINGS (flags 0x00; the ACK of the client's has flags 0x01), one entry a line.
    const frame = /recv SETTINGS frame <length=\d+, flags=0x00, stream_id=0>\n((?:\s+[(\[].*\n)+)/.exec(stdout);
    expect(frame, stdout).not.toBeNull();
    const settings = frame![1]!;
    expect(settings).toContain('[SETTINGS_MAX_CONCURRENT_STREAMS(0x03):1]');
    expect(settings).toContain('[SETTINGS_MAX_HEADER_LIST_SIZE(0x06):4096]');
  });

  it("without them, the server's defaults (hypercorn's: 100 streams, 65536 bytes)", async () => {
    const run = startCli(['serve', '--port', '0', '--server', 'node', APP]);
    running.push(run);
    const { settings } = await serverSettings(await waitForUrl(run));
    expect(settings.maxConcurrentStreams).toBe(100);
    expect(settings.maxHeaderListSize).toBe(65536);
  });

  it('--no-http2: HTTP/1.x only, the HTTP/2 preface on plain TCP answered as a malformed HTTP/1 request', async () => {
    const run = startCli(['serve', '--port', '0', '--server', 'node', '--no-http2', APP]);
    running.push(run);
    const url = new URL(await waitForUrl(run));
    expect(await (await fetch(new URL('/h1', url))).text()).toBe('asgi |/h1');
    // What an h2c client sends first: node:http's parser refuses it, and the connection gets a 400, not HTTP/2 frames.
    const c = new RawClient(url.port, url.hostname);
    await c.ready;
    c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const reply = await c.response();
    expect([reply.httpVersion, reply.status]).toEqual(['1.1', 400]);
    await c.waitClosed();
  });

  it.each([
    [['--server', 'uws', '--http2'], /^tsgi: error: --http2 applies to --server node, the only one that serves HTTP\/2; this is --server uws$/m],
    [['--server', 'node', '--http2', '--no-http2'], /^tsgi: error: --http2 and --no-http2 contradict each other$/m],
    [['--h2-max-concurrent-streams', '8'], /^tsgi: error: --h2-max-concurrent-streams 8 applies to --server node, the only one that serves HTTP\/2; this is --server uws$/m],
    [['--server', 'uws', '--h2-max-header-list-size', '4096'], /^tsgi: error: --h2-max-header-list-size 4096 applies to --server node, .*; this is --server uws$/m],
    [['--server', 'node', '--h2-max-concurrent-streams', '0'], /^tsgi: error: --h2-max-concurrent-streams must be between 1 and 4294967295; got 0$/m],
    [['--server', 'node', '--h2-max-header-list-size', '2.5'], /^tsgi: error: --h2-max-header-list-size must be a whole number; got "2\.5"$/m],
  ])('%j: one line naming the flag and the value, exit 2', async (flags, message) => {
    const r = await runCli(['serve', '--port', '0', ...flags, APP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('tsgi: error:'))).toHaveLength(1);
  });
});
