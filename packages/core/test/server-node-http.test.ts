import { mkdtemp, readFile, rm, writeFile, link, lstat } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RequestHead } from '@tsgi/core';
import {
  answerClientError,
  clientErrorFault,
  HeadRules,
  listenNode,
  parseTrustedHosts,
  rawAnswer,
  readNodeRequestHead,
  type Logger,
  type NodeHeadOptions,
} from '@tsgi/core/server';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => lines.push(`debug: ${m}`),
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    access: (m) => lines.push(`access: ${m}`),
  };
}

function listening(server: Server | ReturnType<typeof createNetServer>, target: number | string = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof target === 'string') server.listen(target, () => resolve());
    else server.listen(target, '127.0.0.1', () => resolve());
  });
}

function closed(server: Server | ReturnType<typeof createNetServer>): Promise<void> {
  return new Promise((resolve) => {
    (server as Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** Sends raw bytes on a fresh connection and collects everything the server sends until it closes. */
function exchange(where: { port: number } | { path: string }, data: Buffer | string, halfClose = true): Promise<{ response: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let localPort = 0;
    const c: Socket = 'port' in where ? connect(where.port, '127.0.0.1') : connect(where.path);
    c.on('connect', () => {
      localPort = c.localPort ?? 0;
      if (halfClose) c.end(data);
      else c.write(data);
    });
    c.on('data', (d) => chunks.push(d));
    c.on('error', reject);
    c.on('close', () => resolve({ response: Buffer.concat(chunks).toString('latin1'), localPort }));
    setTimeout(() => {
      c.destroy();
      reject(new Error(`no close after ${Buffer.concat(chunks).toString('latin1')}`));
    }, 3000).unref();
  });
}

describe('readNodeRequestHead against node:http', () => {
  let server: Server;
  let port: number;
  let onRequest: (req: IncomingMessage) => void = () => {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      onRequest(req);
      res.end('ok');
    });
    await listening(server);
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => closed(server));

  /** Sends `raw` and returns what readNodeRequestHead made of it, with the rules it used and the client's own port. */
  async function readHead(raw: Buffer | string, options: NodeHeadOptions = { trustedHosts: null, uds: null }) {
    let result: { head: RequestHead; rules: HeadRules } | undefined;
    onRequest = (req) => {
      const rules = new HeadRules();
      result = { head: readNodeRequestHead(req, rules, options), rules };
    };
    const { response, localPort } = await exchange({ port }, raw);
    expect(response).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(result).toBeDefined();
    return { ...result!, localPort };
  }

  it('keeps latin-1 header bytes exact (0xE9 stays one char with code 0xE9)', async () => {
    const raw = Buffer.concat([Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf'), Buffer.from([0xe9]), Buffer.from('\r\nConnection: close\r\n\r\n')]);
    const { head, rules } = await readHead(raw);
    const value = head.headers.find(([n]) => n === 'x-name')![1];
    expect(value.length).toBe(4);
    expect(value.charCodeAt(3)).toBe(0xe9);
    expect(Buffer.from(value, 'latin1')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(rules.fault).toBeNull();
  });

  it('keeps the order and the duplicates of the raw header fields, names lower-cased and values as sent', async () => {
    const { head } = await readHead('POST /p?q=1 HTTP/1.1\r\nHost: a\r\nX-B: 1\r\nX-Mixed-Case: VaLuE\r\nX-B: 3\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    expect(head.method).toBe('POST');
    expect(head.target).toBe('/p?q=1');
    expect(head.httpVersion).toBe('1.1');
    expect(head.scheme).toBe('http');
    expect(head.headers).toEqual([
      ['host', 'a'],
      ['x-b', '1'],
      ['x-mixed-case', 'VaLuE'],
      ['x-b', '3'],
      ['cookie', 'a=1'],
      ['cookie', 'b=2'],
      ['content-length', '0'],
      ['connection', 'close'],
    ]);
  });

  it('gives the client as [address, its real port] and the server as the bound address', async () => {
    const { head, localPort } = await readHead('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(localPort).toBeGreaterThan(0);
    expect(head.client).toEqual(['127.0.0.1', localPort]);
    expect(head.server).toEqual(['127.0.0.1', port]);
  });

  it("gives the server as [path, null] when listening on a unix socket (options.uds)", async () => {
    const { head } = await readHead('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { trustedHosts: null, uds: '/run/app.sock' });
    expect(head.server).toEqual(['/run/app.sock', null]);
  });

  it("reads an HTTP/1.0 request as httpVersion '1.0' (no Host needed)", async () => {
    const { head, rules } = await readHead('GET /old HTTP/1.0\r\n\r\n');
    expect(head.httpVersion).toBe('1.0');
    expect(head.target).toBe('/old');
    expect(rules.fault).toBeNull();
  });

  it('applies proxy headers only when the peer is trusted', async () => {
    const raw = 'GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n';
    const trusted = await readHead(raw, { trustedHosts: parseTrustedHosts('127.0.0.1'), uds: null });
    expect(trusted.rules.proxyHeader).toBe(true);
    expect(trusted.head.client).toEqual(['203.0.113.7', 0]);
    expect(trusted.head.scheme).toBe('https');

    const untrusted = await readHead(raw, { trustedHosts: parseTrustedHosts('10.0.0.1'), uds: null });
    expect(untrusted.head.client).toEqual(['127.0.0.1', untrusted.localPort]);
    expect(untrusted.head.scheme).toBe('http');

    const off = await readHead(raw, { trustedHosts: null, uds: null });
    expect(off.head.client).toEqual(['127.0.0.1', off.localPort]);
    expect(off.head.scheme).toBe('http');
    // The proxy headers themselves stay in the head either way.
    expect(trusted.head.headers.map(([n]) => n)).toContain('x-forwarded-for');
  });

  it('sets rules.fault for a head node:http lets through but the rules refuse', async () => {
    const twoHosts = await readHead('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
    expect(twoHosts.rules.fault?.status).toBe(400);
    expect(twoHosts.rules.fault?.reason).toMatch(/Host/);
    // node:http takes HTTP/2.0 on an HTTP/1 connection; the rules answer 505.
    const http2 = await readHead('GET / HTTP/2.0\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(http2.rules.fault?.status).toBe(505);
    expect(http2.rules.fault?.reason).toContain('"2.0"');
  });
});

describe('clientErrorFault', () => {
  const err = (code: string, rawPacket?: string) => Object.assign(new Error(code), { code, ...(rawPacket === undefined ? {} : { rawPacket: Buffer.from(rawPacket, 'latin1') }) });

  it('maps a header overflow to 431', () => {
    expect(clientErrorFault(err('HPE_HEADER_OVERFLOW')).status).toBe(431);
  });

  it('maps an unknown method in a well-formed request line to 501', () => {
    expect(clientErrorFault(err('HPE_INVALID_METHOD', 'BREW / HTTP/1.1\r\nHost: a\r\n\r\n')).status).toBe(501);
    expect(clientErrorFault(err('HPE_INVALID_METHOD', 'X-CUSTOM_M3 /a/b?c HTTP/1.0\n\n')).status).toBe(501);
  });

  it('maps an invalid method in a malformed line to 400, naming the code', () => {
    for (const raw of ['\x01\x02garbage\r\n\r\n', 'BREW /\r\n\r\n', 'BR(EW / HTTP/1.1\r\n', 'BREW / HTTP/2.0\r\n', 'BREW  / HTTP/1.1\r\n']) {
      const f = clientErrorFault(err('HPE_INVALID_METHOD', raw));
      expect(f.status, JSON.stringify(raw)).toBe(400);
      expect(f.reason).toContain('HPE_INVALID_METHOD');
    }
    expect(clientErrorFault(err('HPE_INVALID_METHOD')).status).toBe(400);
  });

  it('maps an invalid version to 505 and a head timeout to 408', () => {
    expect(clientErrorFault(err('HPE_INVALID_VERSION')).status).toBe(505);
    expect(clientErrorFault(err('ERR_HTTP_REQUEST_TIMEOUT')).status).toBe(408);
  });

  it('maps anything else to 400, naming the code (or the message when there is none)', () => {
    const f = clientErrorFault(err('HPE_INVALID_HEADER_TOKEN'));
    expect(f.status).toBe(400);
    expect(f.reason).toContain('HPE_INVALID_HEADER_TOKEN');
    expect(clientErrorFault(new Error('weird parser state')).reason).toContain('weird parser state');
  });
});

describe("answerClientError as a real server's 'clientError' handler", () => {
  let server: Server;
  let port: number;
  const logger = recordingLogger();

  beforeAll(async () => {
    // `/slow` answers after a while, so a refused request pipelined behind it arrives while its response is pending.
    server = createServer((req, res) => (req.url === '/slow' ? setTimeout(() => res.end('slow'), 200) : res.end('ok')));
    server.on('clientError', (e: NodeJS.ErrnoException, socket: Socket) => answerClientError(e, socket, logger));
    await listening(server);
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => closed(server));

  it('answers an unknown method with 501 Not Implemented and closes the connection', async () => {
    // The client does not end its side: the close comes from the server.
    const { response } = await exchange({ port }, 'BREW / HTTP/1.1\r\nHost: a\r\n\r\n', false);
    expect(response.startsWith('HTTP/1.1 501 Not Implemented\r\n')).toBe(true);
    expect(response.toLowerCase()).toContain('\r\nconnection: close\r\n');
    expect(response.endsWith('\r\n\r\nNot Implemented')).toBe(true);
    expect(logger.lines.some((l) => l.startsWith('warning: Invalid HTTP request received:'))).toBe(true);
  });

  it('answers an oversized head with 431', async () => {
    const { response } = await exchange({ port }, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, false);
    expect(response.startsWith('HTTP/1.1 431 Request Header Fields Too Large\r\n')).toBe(true);
  });

  it('answers a garbage request line with 400', async () => {
    const { response } = await exchange({ port }, '\x01\x02 nonsense\r\n\r\n', false);
    expect(response.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
  });

  it('answers a refused request pipelined behind pending ones only after their responses, naming its own line', async () => {
    for (const [tail, status] of [
      ['G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
      ['BREW / HTTP/1.1\r\nHost: a\r\n\r\n', 'HTTP/1.1 501 Not Implemented'],
    ] as const) {
      const { response } = await exchange({ port }, `GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /slow HTTP/1.1\r\nHost: a\r\n\r\n${tail}`, false);
      const statusLines = response.split('\r\n').filter((l) => l.includes('HTTP/1.1 '));
      expect(statusLines.map((l) => l.slice(l.indexOf('HTTP/1.1 ')))).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK', status]);
      expect(response.split('slow').length - 1).toBe(2); // both responses whole, before the refusal
    }
  });

  it('destroys a socket that is already gone without writing', () => {
    let destroyed = false;
    let written = false;
    const fake = { destroyed: true, writable: false, destroy: () => (destroyed = true), end: () => (written = true), destroySoon: () => {} } as unknown as Socket;
    answerClientError(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' }), fake, recordingLogger());
    expect(destroyed).toBe(true);
    expect(written).toBe(false);
  });
});

describe('rawAnswer', () => {
  /** Serves `answer` as raw bytes and reads it back with node's HTTP client. */
  async function parsed(answer: string) {
    const sockets: Socket[] = [];
    const srv = createNetServer((s) => {
      sockets.push(s);
      s.end(answer);
    });
    await listening(srv);
    const port = (srv.address() as { port: number }).port;
    try {
      return await new Promise<{ status: number; message: string; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          let body = '';
          res.setEncoding('latin1');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, message: res.statusMessage!, headers: res.headers, body }));
        }).on('error', reject);
      });
    } finally {
      for (const s of sockets) s.destroy();
      await closed(srv);
    }
  }

  it('is a complete HTTP/1.1 answer with the reason phrase as its plain-text body', async () => {
    const r = await parsed(rawAnswer(413, true));
    expect(r.status).toBe(413);
    expect(r.message).toBe('Content Too Large');
    expect(r.body).toBe('Content Too Large');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(r.body.length));
    expect(r.headers.connection).toBe('close');
  });

  it('carries extra header lines, and no Connection: close unless asked', async () => {
    const r = await parsed(rawAnswer(503, false, 'retry-after: 1\r\n'));
    expect(r.status).toBe(503);
    expect(r.body).toBe('Service Unavailable');
    expect(r.headers['retry-after']).toBe('1');
    expect(rawAnswer(503, false).toLowerCase()).not.toContain('connection:');
  });
});

describe('listenNode', () => {
  let dir: string;
  const servers: Array<Server | ReturnType<typeof createNetServer>> = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsgi-listen-'));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) if (s.listening) await closed(s);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('binds a TCP port (0 picks one) and returns host and port', async () => {
    const server = createServer((_q, r) => r.end('tcp'));
    servers.push(server);
    const address = await listenNode(server, { host: '127.0.0.1', port: 0, uds: null, backlog: 511 });
    expect(address).toEqual({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    expect((address as { port: number }).port).toBeGreaterThan(0);
  });

  it('rejects with the bind error when the port is taken', async () => {
    const first = createServer();
    servers.push(first);
    const { port } = (await listenNode(first, { host: '127.0.0.1', port: 0, uds: null, backlog: 511 })) as { port: number };
    const second = createServer();
    await expect(listenNode(second, { host: '127.0.0.1', port, uds: null, backlog: 511 })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('replaces a stale socket file at the unix socket path', async () => {
    const path = join(dir, 'stale.sock');
    // A socket file nobody listens on: a hard link to a live socket outlives the server that made it.
    const old = createNetServer();
    const livePath = join(dir, 'live.sock');
    await listening(old, livePath);
    await link(livePath, path);
    await closed(old);
    expect((await lstat(path)).isSocket()).toBe(true);

    let seen: RequestHead | undefined;
    const server = createServer((req, res) => {
      seen = readNodeRequestHead(req, new HeadRules(), { trustedHosts: null, uds: path });
      res.end('unix');
    });
    servers.push(server);
    expect(await listenNode(server, { host: '127.0.0.1', port: 0, uds: path, backlog: 511 })).toEqual({ path });
    const { response } = await exchange({ path }, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 200 [^]*\r\n\r\nunix$/);
    expect(seen?.server).toEqual([path, null]);
    expect(seen?.client).toBeNull();
  });

  it('refuses a regular file at the unix socket path and leaves it alone', async () => {
    const path = join(dir, 'not-a-socket');
    await writeFile(path, 'precious');
    const server = createServer();
    await expect(listenNode(server, { host: '127.0.0.1', port: 0, uds: path, backlog: 511 })).rejects.toThrow(/not a socket/);
    expect(server.listening).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('precious');
  });
});
