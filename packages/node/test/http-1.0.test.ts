import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { AsgiApplication } from '@tsgi/core';
import { needTools } from '../../../scripts/system-tools.js';
import { RawClient, closeAll, rawRequest, start } from './helpers.js';

afterEach(closeAll);

/** Streams "ab" in two body events (no Content-Length): chunked on 1.1, close-delimited on 1.0. */
const streamed: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: Buffer.from('a'), more_body: true });
  await send({ type: 'http.response.body', body: Buffer.from('b') });
};

/** One body event: gets a computed Content-Length. */
const oneShot: AsgiApplication = async (scope, _receive, send) => {
  if (scope.type !== 'http') return;
  await send({ type: 'http.response.start', status: 200, headers: [] });
  await send({ type: 'http.response.body', body: Buffer.from(`one ${scope.http_version}`) });
};

describe('HTTP/1.0 clients', () => {
  it('a streamed body is close-delimited, never chunked, and the connection closes', async () => {
    const s = await start(streamed);
    const r = await rawRequest(s.port, 'GET / HTTP/1.0\r\n\r\n');
    expect(r.framing).toBe('close');
    expect(r.header('transfer-encoding')).toBeUndefined();
    expect(r.header('connection')?.toLowerCase()).toBe('close');
    expect(r.body.toString()).toBe('ab');
  });

  it('stays close-delimited for a 1.0 client that sends TE: chunked', async () => {
    const s = await start(streamed);
    const r = await rawRequest(s.port, 'GET / HTTP/1.0\r\nTE: chunked\r\n\r\n');
    expect(r.framing).toBe('close');
    expect(r.body.toString()).toBe('ab');
  });

  it('closes after the response unless the client asked for keep-alive', async () => {
    const s = await start(oneShot);
    const c = new RawClient(s.port);
    await c.ready;
    c.write('GET / HTTP/1.0\r\n\r\n');
    const r = await c.response();
    expect(r.body.toString()).toBe('one 1.0');
    await c.waitClosed();
  });

  it('keeps the connection for a 1.0 client that asked for keep-alive when the length is known', async () => {
    const s = await start(oneShot);
    const c = new RawClient(s.port);
    await c.ready;
    for (let i = 0; i < 3; i++) {
      c.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      const r = await c.response();
      expect(r.header('content-length')).toBe('7');
      expect(r.header('connection')?.toLowerCase()).toBe('keep-alive');
    }
    expect(c.isClosed).toBe(false);
    c.close();
  });

  const tools = needTools('packages/node/test/http-1.0.test.ts', 'curl');
  it.skipIf(tools.skip)(`serves curl --http1.0${tools.note}`, async () => {
    const s = await start(streamed);
    const { stdout } = await promisify(execFile)('curl', ['-sS', '--http1.0', '-D', '-', `${s.url}/`]);
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(stdout).not.toMatch(/transfer-encoding/i);
    expect(stdout.endsWith('\r\n\r\nab')).toBe(true);
  });
});
