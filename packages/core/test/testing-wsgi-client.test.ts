import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  IncompleteResponseError,
  WsgiTestClient,
  isClientDisconnected,
  isProtocolError,
  openFile,
  type WsgiApplication,
  type WsgiEnviron,
} from '@tsgi/core';

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

/** Answers with the environ's string and boolean values as JSON. */
const environEcho: WsgiApplication = (environ, startResponse) => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(environ)) if (typeof v === 'string' || typeof v === 'boolean') out[k] = v;
  out['wsgi.version'] = environ['wsgi.version'];
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [bytes(JSON.stringify(out))];
};

/** Reads wsgi.input `size` bytes at a time and echoes what it read, one response chunk per read. */
function readEcho(size: number, log: string[] = []): WsgiApplication {
  return (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
    const parts: Uint8Array[] = [];
    for (;;) {
      const chunk = environ['wsgi.input'].read(size);
      log.push(`read ${dec.decode(chunk)}`);
      if (chunk.byteLength === 0) break;
      parts.push(chunk);
    }
    return parts;
  };
}

describe('WsgiTestClient: plain requests', () => {
  it('builds the environ the pool server builds', async () => {
    const client = new WsgiTestClient(environEcho, { rootPath: '/app' });
    const res = await client.get('/caf\u00e9?q=1', { headers: { 'X-Thing': 'a', Cookie: 'a=1' } });
    expect(res.status).toBe(200);
    expect(res.reason).toBe('OK');
    expect(res.headers.get('content-type')).toBe('application/json');
    const env = res.json<Record<string, unknown>>();
    expect(env).toMatchObject({
      REQUEST_METHOD: 'GET',
      SCRIPT_NAME: '/app',
      // PATH_INFO is the UTF-8 bytes as a byte string, as PEP 3333 wants.
      PATH_INFO: '/caf\u00c3\u00a9',
      QUERY_STRING: 'q=1',
      SERVER_NAME: 'testserver',
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: 'testclient',
      REMOTE_PORT: '50000',
      HTTP_HOST: 'testserver',
      HTTP_X_THING: 'a',
      HTTP_COOKIE: 'a=1',
      'wsgi.url_scheme': 'http',
      'wsgi.multithread': false,
      'wsgi.multiprocess': false,
      'wsgi.run_once': false,
      'wsgi.version': [1, 0],
    });
    expect(env).not.toHaveProperty('CONTENT_LENGTH');
  });

  it('reads a known body with CONTENT_LENGTH set', async () => {
    let length: unknown;
    const app: WsgiApplication = (environ, startResponse) => {
      length = environ.CONTENT_LENGTH;
      const body = environ['wsgi.input'].read();
      startResponse('201 Created', [['Content-Length', String(body.byteLength)]]);
      return [body];
    };
    const client = new WsgiTestClient(app);
    const res = await client.post('/', { body: 'h\u00e9llo' });
    expect(res.status).toBe(201);
    expect(res.reason).toBe('Created');
    expect(res.text()).toBe('h\u00e9llo');
    expect(length).toBe('6');
  });

  it('sends json and drops the body of HEAD responses', async () => {
    const app: WsgiApplication = (environ, startResponse) => {
      const body = environ['wsgi.input'].read();
      startResponse('200 OK', [['Content-Type', String(environ.CONTENT_TYPE)]]);
      return [body.byteLength > 0 ? body : bytes('empty')];
    };
    const client = new WsgiTestClient(app);
    const res = await client.put('/', { json: [1, 2] });
    expect(res.json()).toEqual([1, 2]);
    expect(res.headers.get('content-type')).toBe('application/json');
    const head = await client.head('/');
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
  });
});

describe('WsgiTestClient: streamed request bodies', () => {
  it('pulls a chunked body from the iterable only as the app reads wsgi.input', async () => {
    const log: string[] = [];
    function* upload(): Generator<string> {
      log.push('pull ab');
      yield 'ab';
      log.push('pull cde');
      yield 'cde';
    }
    let env: WsgiEnviron | undefined;
    const inner = readEcho(2, log);
    const app: WsgiApplication = (environ, sr) => {
      env = environ;
      return inner(environ, sr);
    };
    const client = new WsgiTestClient(app);
    const res = await client.post('/upload', { body: upload() });
    expect(res.text()).toBe('abcde');
    expect(env!.CONTENT_LENGTH).toBeUndefined();
    expect(env!.HTTP_TRANSFER_ENCODING).toBe('chunked');
    expect(env!['wsgi.input_terminated']).toBe(true);
    expect(log).toEqual(['pull ab', 'read ab', 'pull cde', 'read cd', 'read e', 'read ']);
  });

  it('never reads past CONTENT_LENGTH of a streamed body', async () => {
    const client = new WsgiTestClient(readEcho(100));
    const res = await client.post('/', { body: ['abc', 'def'], headers: { 'Content-Length': '4' } });
    expect(res.text()).toBe('abcd');
  });

  it('reads an async iterable body whole before the inline call', async () => {
    async function* upload(): AsyncGenerator<Uint8Array> {
      yield bytes('line 1\n');
      yield bytes('line 2\n');
    }
    const app: WsgiApplication = (environ, startResponse) => {
      startResponse('200 OK', []);
      return environ['wsgi.input'].readlines().map((l) => bytes(`[${dec.decode(l).trim()}]`));
    };
    const client = new WsgiTestClient(app);
    expect((await client.post('/', { body: upload() })).text()).toBe('[line 1][line 2]');
  });
});

describe('WsgiTestClient: responses', () => {
  it('keeps the chunks of a streamed response, write() calls included, and calls close() once', async () => {
    let closed = 0;
    const app: WsgiApplication = (_environ, startResponse) => {
      const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
      write(bytes('written '));
      function* gen(): Generator<Uint8Array> {
        yield bytes('one ');
        yield new Uint8Array(0);
        yield bytes('two');
      }
      return Object.assign(gen(), { close: () => void closed++ });
    };
    const client = new WsgiTestClient(app);
    const res = await client.get('/');
    expect(res.chunks.map((c) => dec.decode(c))).toEqual(['written ', 'one ', 'two']);
    expect(res.text()).toBe('written one two');
    expect(closed).toBe(1);
  });

  it('serves wsgi.file_wrapper responses block by block', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsgi-wsgi-client-'));
    const path = join(dir, 'data.bin');
    writeFileSync(path, 'z'.repeat(10_000));
    const app: WsgiApplication = (environ, startResponse) => {
      startResponse('200 OK', [['Content-Length', '10000']]);
      return environ['wsgi.file_wrapper']!(openFile(path), 4096);
    };
    const res = await new WsgiTestClient(app).get('/file');
    expect(res.body.byteLength).toBe(10_000);
    expect(res.chunks.map((c) => c.byteLength)).toEqual([4096, 4096, 1808]);
  });

  it('captures what the app writes to wsgi.errors, per response and per client', async () => {
    const app: WsgiApplication = (environ, startResponse) => {
      environ['wsgi.errors'].write(`warning for ${environ.PATH_INFO}\n`);
      environ['wsgi.errors'].writelines(['a', 'b\n']);
      startResponse('204 No Content', []);
      return [];
    };
    const client = new WsgiTestClient(app);
    const first = await client.get('/one');
    await client.get('/two');
    expect(first.status).toBe(204);
    expect(first.errors).toBe('warning for /one\nab\n');
    expect(client.errors).toBe('warning for /one\nab\nwarning for /two\nab\n');
  });
});

describe('WsgiTestClient: client disconnects', () => {
  it('an aborted signal makes the next chunk throw ClientDisconnected into the app, which is closed, and the request rejects', async () => {
    const controller = new AbortController();
    const produced: string[] = [];
    let closed = 0;
    const app: WsgiApplication = (_environ, startResponse) => {
      startResponse('200 OK', []);
      function* gen(): Generator<Uint8Array> {
        for (const part of ['a', 'b', 'c', 'd']) {
          produced.push(part);
          // The client leaves once it got 'b'.
          if (part === 'c') controller.abort();
          yield bytes(part);
        }
      }
      return Object.assign(gen(), { close: () => void closed++ });
    };
    const client = new WsgiTestClient(app);
    await expect(client.get('/', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(produced).toEqual(['a', 'b', 'c']);
    expect(closed).toBe(1);
  });

  it('a wsgi.input read after the client left throws ClientDisconnected', async () => {
    const controller = new AbortController();
    let readError: unknown;
    const app: WsgiApplication = (environ, startResponse) => {
      environ['wsgi.input'].read(1);
      controller.abort();
      try {
        environ['wsgi.input'].read(1);
      } catch (e) {
        readError = e;
        throw e;
      }
      startResponse('200 OK', []);
      return [];
    };
    await expect(new WsgiTestClient(app).post('/', { body: ['x', 'y'], signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(isClientDisconnected(readError)).toBe(true);
  });
});

describe('WsgiTestClient: app errors and protocol mistakes', () => {
  const boom: WsgiApplication = () => {
    throw new Error('boom');
  };

  it('raises the app exception by default', async () => {
    await expect(new WsgiTestClient(boom).get('/')).rejects.toThrow('boom');
  });

  it('with raiseServerExceptions: false answers 500, logs the error to wsgi.errors and leaks nothing', async () => {
    const client = new WsgiTestClient(boom, { raiseServerExceptions: false });
    const res = await client.get('/');
    expect(res.status).toBe(500);
    expect(res.text()).not.toContain('boom');
    expect(res.errors).toContain('Error: boom');
  });

  it('an exception after the headers went out cuts the response; close() still runs', async () => {
    let closed = false;
    const app: WsgiApplication = (_environ, startResponse) => {
      startResponse('200 OK', []);
      function* gen(): Generator<Uint8Array> {
        yield bytes('partial');
        throw new Error('mid-stream');
      }
      return Object.assign(gen(), { close: () => void (closed = true) });
    };
    await expect(new WsgiTestClient(app).get('/')).rejects.toThrow('mid-stream');
    const quiet = new WsgiTestClient(app, { raiseServerExceptions: false });
    await expect(quiet.get('/')).rejects.toBeInstanceOf(IncompleteResponseError);
    expect(closed).toBe(true);
  });

  for (const validate of [true, false]) {
    it(`surfaces the clause id of a PEP 3333 mistake (validate: ${validate})`, async () => {
      const twice: WsgiApplication = (_environ, startResponse) => {
        startResponse('200 OK', []);
        startResponse('500 Oops', []);
        return [];
      };
      const tooLong: WsgiApplication = (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Length', '2']]);
        return [bytes('abc')];
      };
      await expect(new WsgiTestClient(twice, { validate }).get('/')).rejects.toSatisfy(
        (e: unknown) => isProtocolError(e) && e.clause === 'wsgi.start_response.once.1',
      );
      await expect(new WsgiTestClient(tooLong, { validate }).get('/')).rejects.toSatisfy(
        (e: unknown) => isProtocolError(e) && e.clause === 'wsgi.response.content_length.1',
      );
    });
  }

  it('the validator names the side that broke the rule', async () => {
    const badChunk: WsgiApplication = (_environ, startResponse) => {
      startResponse('200 OK', []);
      return ['not bytes' as unknown as Uint8Array];
    };
    const err = await new WsgiTestClient(badChunk).get('/').catch((e: unknown) => e);
    expect(isProtocolError(err)).toBe(true);
    expect(err).toMatchObject({ side: 'app', clause: 'wsgi.response.chunk.1' });
  });
});
