/**
 * App faults on every server: exceptions at every point of a response,
 * hangs, process exits and thread crashes (pool), unread bodies and sends
 * after the client left. Each has the outcome docs/reliability.md gives, a
 * normal request running at the same time is served, and nothing of the
 * exception reaches the client.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SECRET } from '../src/apps/asgi-app.js';
import { ASGI_SERVER_KINDS, SERVER_KINDS, rawExchange, simpleGet, startRecorded, type ExchangeOutcome, type RecordedServer } from '../src/index.js';

/** One request on its own connection (Connection: close), read until the server closes. */
function request(port: number, path: string, body = ''): Promise<ExchangeOutcome> {
  const head = body === '' ? `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n` : `POST ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return rawExchange(port, Buffer.from(head, 'latin1'), { timeoutMs: 15_000, waitForClose: true });
}

/** Runs `fault` while a normal slow request is in flight, and checks the normal one is served. */
async function withBystander(port: number, fault: () => Promise<ExchangeOutcome>): Promise<ExchangeOutcome> {
  const bystander = request(port, '/slow?ms=300');
  const out = await fault();
  const normal = await bystander;
  expect(normal.status, `the concurrent normal request: ${normal.received}`).toBe(200);
  expect(normal.received).toContain('slow ok');
  return out;
}

/** Nothing of the exception (message, stack frames) is in what the client got. */
function expectNoLeak(out: ExchangeOutcome): void {
  expect(out.received).not.toContain(SECRET);
  expect(out.received).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(out.received).not.toContain('Error:');
}

const errorLogged = (server: RecordedServer) => server.log.some((l) => l.level === 'error' && (String(l.message).includes(SECRET) || String((l.error as Error | undefined)?.message ?? '').includes(SECRET)));

describe.each(SERVER_KINDS)('app faults on %s', (kind) => {
  let server: RecordedServer;
  beforeAll(async () => {
    // pool: a 2 s hang timeout; uws and node have none (as uvicorn), so close() gets a grace period for the hung request.
    server = await startRecorded(kind, { threads: 2, timeout: 2, timeoutGracefulShutdown: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  test('an exception before the response starts: fixed 500, logged with its stack server-side only', async () => {
    const out = await withBystander(server.port, () => request(server.port, '/raise-before-start'));
    expect(out.status).toBe(500);
    expectNoLeak(out);
    expect(errorLogged(server)).toBe(true);
  });

  test('an exception mid-stream: the response is cut (connection closed, body unterminated), nothing leaked', async () => {
    const out = await withBystander(server.port, () => request(server.port, '/raise-mid-stream'));
    expect(out.closed).toBe(true);
    if (kind !== 'uws') {
      // node:http (node, pool) ends the socket after what was sent: the head and the first chunk arrive.
      expect(out.status).toBe(200);
      expect(out.received).toContain('partial');
    } else {
      // uWS's only way to cut a response is res.close(), an abortive close: bytes still in flight may be lost with it.
      expect([null, 200]).toContain(out.status);
    }
    // A chunked body would end with the zero-size chunk; a cut one must not look complete.
    expect(out.received.endsWith('0\r\n\r\n')).toBe(false);
    expectNoLeak(out);
  });

  test('the server keeps serving after the faults, on fresh connections', async () => {
    const ok = await simpleGet(server.port, '/ok');
    expect(ok.status).toBe(200);
  });

  test('an app that never reads the body: answered, and the unread body is never parsed as a request', async () => {
    const smuggled = 'GET /smuggled/no-read HTTP/1.1\r\nHost: localhost\r\n\r\n';
    const body = smuggled + 'x'.repeat(200_000 - smuggled.length);
    const socket = connect(server.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    // Keep-alive: the server must either skip the unread body or close; a request after it gets its own answer.
    socket.write(`POST /no-read HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    socket.write('GET /after-no-read HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await closed;
    const text = Buffer.concat(received).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('did not read');
    const paths = server.seen().map((r) => r.path);
    expect(paths).not.toContain('/smuggled/no-read');
  });

  test('a client that leaves mid-response: the app learns it (send raises / close() is called), nothing is logged as an error', async () => {
    const errorsBefore = server.log.filter((l) => l.level === 'error').length;
    const socket = connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /send-after-disconnect HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    await expect.poll(() => server.seen().filter((r) => r.method === 'RESULT').map((r) => r.scheme), { timeout: 10_000 }).toEqual([kind === 'pool' ? 'closed' : 'ClientDisconnected']);
    expect(server.log.filter((l) => l.level === 'error').length).toBe(errorsBefore);
  });

  if (kind !== 'pool') {
    test('an exception after the response ended: the client got it whole; the exception is logged', async () => {
      const out = await request(server.port, '/raise-after-end');
      expect(out.status).toBe(200);
      expect(out.received).toContain('done');
      await expect.poll(() => errorLogged(server)).toBe(true);
    });

    test('an app that returns without responding: 500', async () => {
      const out = await withBystander(server.port, () => request(server.port, '/return-without-response'));
      expect(out.status).toBe(500);
    });

    test('an app that hangs: other requests are unaffected; the hung one waits (no per-request timeout, as uvicorn)', async () => {
      const hung = rawExchange(server.port, Buffer.from('GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n'), { timeoutMs: 1_000, waitForClose: true });
      const ok = await simpleGet(server.port, '/ok');
      expect(ok.status).toBe(200);
      const out = await hung;
      expect(out.status).toBeNull();
      expect(out.closed).toBe(false);
    });
  } else {
    test('an exception in close() of the response iterable: the client got the response whole; the exception is logged', async () => {
      const out = await withBystander(server.port, () => request(server.port, '/raise-in-close'));
      expect(out.status).toBe(200);
      expect(out.received).toContain('done');
      expectNoLeak(out);
      await expect.poll(() => errorLogged(server)).toBe(true);
    });

    test('an app that hangs past `timeout`: 504, its thread replaced, others served meanwhile', async () => {
      const out = await withBystander(server.port, () => request(server.port, '/hang'));
      expect(out.status).toBe(504);
      expectNoLeak(out);
      expect((await simpleGet(server.port, '/ok')).status).toBe(200);
    });

    test('an app that calls process.exit(): refused with a 500, the server process lives on', async () => {
      const out = await withBystander(server.port, () => request(server.port, '/exit'));
      expect(out.status).toBe(500);
      expect((await simpleGet(server.port, '/ok')).status).toBe(200);
    });

    test('an app that crashes its worker thread: the thread is replaced and the server keeps serving', async () => {
      await withBystander(server.port, () => request(server.port, '/crash-thread'));
      for (let i = 0; i < 4; i++) expect((await simpleGet(server.port, `/ok?after-crash=${i}`)).status).toBe(200);
    });
  }
});

describe.each(ASGI_SERVER_KINDS)('lifespan faults (%s)', (kind) => {
  test("an exception in lifespan startup with lifespan 'on': serve() rejects naming the failure", async () => {
    process.env.TSGI_RELIABILITY_LIFESPAN_FAIL = 'startup';
    try {
      await expect(startRecorded(kind, { lifespan: 'on' })).rejects.toThrow(/lifespan startup failed/);
    } finally {
      delete process.env.TSGI_RELIABILITY_LIFESPAN_FAIL;
    }
  });

  test("an exception in lifespan startup with lifespan 'auto': taken as 'no lifespan', requests are served", async () => {
    process.env.TSGI_RELIABILITY_LIFESPAN_FAIL = 'startup';
    let server: RecordedServer | undefined;
    try {
      server = await startRecorded(kind, { lifespan: 'auto' });
      expect((await simpleGet(server.port, '/ok')).status).toBe(200);
    } finally {
      delete process.env.TSGI_RELIABILITY_LIFESPAN_FAIL;
      await server?.close();
    }
  });
});
