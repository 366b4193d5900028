/**
 * Proxy headers are honored only from trusted peers (every server): a
 * spoofed X-Forwarded-For / X-Forwarded-Proto / Forwarded from an untrusted
 * peer changes neither the client address nor the scheme the app sees, and
 * through a trusted proxy a client cannot forge its address by prepending
 * entries to the chain.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SERVER_KINDS, simpleGet, startRecorded, type RecordedServer } from '../src/index.js';

let server: RecordedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function whoami(port: number, headers: string): Promise<{ client: string | null; scheme: string }> {
  const r = await simpleGet(port, '/whoami', headers);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as { client: string | null; scheme: string };
}

const SPOOF = 'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n';

describe.each(SERVER_KINDS)('proxy headers on %s', (kind) => {
  test('from an untrusted peer, spoofed X-Forwarded-For/-Proto change nothing', async () => {
    // The test client connects from 127.0.0.1, which this list does not trust.
    server = await startRecorded(kind, { forwardedAllowIps: '10.0.0.1' });
    expect(await whoami(server.port, SPOOF)).toEqual({ client: '127.0.0.1', scheme: 'http' });
  });

  test('from an untrusted peer, a spoofed Forwarded header changes nothing', async () => {
    server = await startRecorded(kind, { forwardedAllowIps: '10.0.0.0/8' });
    expect(await whoami(server.port, 'Forwarded: for=203.0.113.7;proto=https\r\n')).toEqual({ client: '127.0.0.1', scheme: 'http' });
  });

  test('with proxyHeaders off, even a trusted peer changes nothing', async () => {
    server = await startRecorded(kind, { proxyHeaders: false, forwardedAllowIps: '*' });
    expect(await whoami(server.port, SPOOF)).toEqual({ client: '127.0.0.1', scheme: 'http' });
  });

  test('from a trusted proxy the headers are honored (so the tests above can fail)', async () => {
    server = await startRecorded(kind, { forwardedAllowIps: '127.0.0.1' });
    expect(await whoami(server.port, SPOOF)).toEqual({ client: '203.0.113.7', scheme: 'https' });
  });

  test('through a trusted proxy, entries the client prepended to the chain are not believed', async () => {
    // The proxy (127.0.0.1) appended the real client 203.0.113.7 to what the client sent ("6.6.6.6").
    server = await startRecorded(kind, { forwardedAllowIps: '127.0.0.1' });
    const seen = await whoami(server.port, 'X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n');
    expect(seen.client).toBe('203.0.113.7');
  });
});
