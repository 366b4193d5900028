import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Http1Server, type Http1Handlers } from '../src/http1-connection.js';
import { RawClient, recordingLogger } from './helpers.js';

const servers: Array<{ net: Server; http1: Http1Server }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.http1.closeAll();
    await new Promise((resolve) => s.net.close(resolve));
  }
});

/** An Http1Server alone behind a net.Server, answering each request with `handlers.request`. */
async function engine(request: Http1Handlers['request']) {
  const log = recordingLogger();
  const http1 = new Http1Server(
    { maxHeaderSize: 16384, keepAliveMs: 5000, headersTimeoutS: 60, sendDate: false, logger: log },
    { request, upgrade: (_req, socket) => socket.destroy(), h2c: null },
  );
  const net = createServer((socket) => http1.accept(socket));
  await new Promise<void>((resolve) => net.listen(0, '127.0.0.1', resolve));
  servers.push({ net, http1 });
  return { port: (net.address() as { port: number }).port, log };
}

describe('Http1Server, the HTTP/1.x engine on its own', () => {
  it('a handler that throws is logged as an internal error and closes only its connection; the next connection is served', async () => {
    const { port, log } = await engine((_conn, res, _method, target) => {
      if (target === '/boom') throw new Error('boom');
      res.writeHead(200, 'OK', ['content-length', '2']);
      res.end('ok', 'latin1');
    });
    const bad = new RawClient(port);
    await bad.ready;
    bad.write('GET /boom HTTP/1.1\r\nHost: x\r\n\r\n');
    await bad.waitClosed();
    expect(log.errors().map((r) => r.message)).toEqual(['Internal error while reading an HTTP/1.x connection']);
    expect((log.errors()[0]!.error as Error).message).toBe('boom');
    const good = new RawClient(port);
    await good.ready;
    good.write('GET /fine HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await good.response();
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('ok');
  });

  it('answers pipelined requests in order even when a later response is ready first', async () => {
    const { port } = await engine((_conn, res, _method, target) => {
      const answer = (): void => {
        res.writeHead(200, 'OK', ['content-length', String(target.length)]);
        res.end(target, 'latin1');
      };
      // The first request's response comes last.
      if (target === '/first') setTimeout(answer, 50);
      else answer();
    });
    const c = new RawClient(port);
    await c.ready;
    c.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\nGET /third HTTP/1.1\r\nHost: x\r\n\r\n');
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await c.response()).body.toString());
    expect(bodies).toEqual(['/first', '/second', '/third']);
  });
});
