/**
 * The tests the Bun and Deno hosts share (bun-host.test.ts, deno-host.test.ts):
 * the runtime serves test/fixtures/runtime-app.ts through the shipped host
 * script, and real clients from Node (fetch, the `ws` package) check HTTP,
 * lifespan and WebSocket. The runtimes are the pinned `bun` and `deno` npm
 * packages (devDependencies of the repo's root), run by their binaries
 * (deno's npm bin is a Node wrapper that would not pass a signal on).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RUN_ARGS, runtimeBinary, type JsRuntime } from '../../../scripts/js-runtimes.js';

const APP = fileURLToPath(new URL('./fixtures/runtime-app.ts', import.meta.url));

/** The shipped host script of `runtime`. */
const hostScript = (runtime: JsRuntime): string => fileURLToPath(new URL(`../hosts/${runtime}-host.js`, import.meta.url));

/** A host script running one export of the fixture app. */
interface Started {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts the host script on a free port; resolves once it logged its address, rejects with its output if it exits first. */
function startHost(runtime: JsRuntime, exportName: string): Promise<Started> {
  // The host scripts import the package's dist: the repo's `tsc -b` builds it before the tests run.
  const child = spawn(runtimeBinary(runtime), [...RUN_ARGS[runtime], hostScript(runtime), `${APP}:${exportName}`, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise<Started>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /Listening on (http:\/\/[^\s]+:(\d+))/.exec(out);
      if (m !== null) resolve({ url: m[1]!, port: Number(m[2]), child, output: () => out, exited });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`the ${runtime} host exited (code ${code}) before listening:\n${out}`)));
  });
}

/**
 * Runs the host serving `exportName` around the tests of the enclosing describe (started before the first, killed
 * after the last, if still running); call the result for it.
 */
function hostAround(runtime: JsRuntime, exportName: string): () => Started {
  let host: Started | undefined;
  beforeAll(async () => {
    host = await startHost(runtime, exportName);
  }, 30_000);
  afterAll(() => {
    if (host?.child.exitCode === null) host.child.kill('SIGKILL');
  });
  return () => host!;
}

interface WsOutcome {
  protocol: string;
  messages: Array<{ binary: boolean; data: Buffer }>;
  close: { code: number; reason: string } | null;
  status: number | null;
}

/** Opens a WebSocket, runs `script` once it is open, and resolves when it closed (or was refused). */
function wsSession(url: string, protocols: string[], script: (ws: WebSocket, got: WsOutcome) => void): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const got: WsOutcome = { protocol: '', messages: [], close: null, status: null };
    const ws = new WebSocket(url, protocols);
    ws.on('unexpected-response', (_req, res) => {
      got.status = res.statusCode ?? null;
      res.resume();
      resolve(got);
    });
    ws.on('open', () => {
      got.protocol = ws.protocol;
      script(ws, got);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => got.messages.push({ binary: isBinary, data }));
    ws.on('close', (code, reason) => {
      got.close = { code, reason: reason.toString() };
      resolve(got);
    });
    ws.on('error', (e) => {
      if (got.status === null) reject(e);
    });
  });
}

/** The whole suite against one runtime; skipped, saying why, when its binary is missing. */
export function describeRuntimeHost(runtime: JsRuntime): void {
  let binary: string | null;
  try {
    binary = runtimeBinary(runtime);
    if (!existsSync(binary)) binary = null;
  } catch {
    binary = null;
  }
  describe.skipIf(binary === null)(`@tsgi/bridge/${runtime} (hosts/${runtime}-host.js, ${runtime} from the npm registry)`, () => {
    const host = hostAround(runtime, 'app');

    describe('HTTP', () => {
      it('answers a GET', async () => {
        const res = await fetch(`${host().url}/hello`);
        expect([res.status, await res.text()]).toEqual([200, 'hello']);
      });

      it('echoes a POST body', async () => {
        const body = new Uint8Array(300_000).map((_, i) => i % 251);
        const res = await fetch(`${host().url}/echo`, { method: 'POST', body });
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(body))).toBe(true);
      });

      it('streams a response: the first chunk arrives before the app sent the last', async () => {
        const started = Date.now();
        const res = await fetch(`${host().url}/stream`);
        const reader = res.body!.getReader();
        const first = await reader.read();
        const firstAfter = Date.now() - started;
        let text = new TextDecoder().decode(first.value);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
        expect(text).toBe('one two three');
        expect(res.headers.get('content-length')).toBeNull();
        // The app waits 100 ms after each of its three chunks.
        expect(firstAfter).toBeLessThan(250);
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      });
    });

    describe('lifespan', () => {
      it('runs startup before listening: its state is in every scope', async () => {
        const res = await fetch(`${host().url}/state`);
        expect(await res.json()).toEqual({ started: 'yes' });
      });

      it('a failed startup ends the host, which never listened', async () => {
        await expect(startHost(runtime, 'failingApp')).rejects.toThrow(/exited \(code 1\) before listening[\s\S]*no database here/);
      });
    });

    describe('WebSocket', () => {
      it('accepts with the subprotocol the app picks and echoes text and bytes', async () => {
        const got = await wsSession(`ws://127.0.0.1:${host().port}/ws/echo`, ['chat', 'superchat'], (ws, g) => {
          ws.send('hello');
          ws.send(Buffer.from([0, 1, 2, 255]));
          const wait = (): void => void (g.messages.length < 2 ? setTimeout(wait, 5) : ws.close(1000));
          wait();
        });
        expect(got.protocol).toBe('superchat');
        expect(got.messages.map((m) => [m.binary, m.binary ? [...m.data] : m.data.toString()])).toEqual([
          [false, 'hello'],
          [true, [0, 1, 2, 255]],
        ]);
      });

      it("sends the app's close code and reason to the client", async () => {
        const got = await wsSession(`ws://127.0.0.1:${host().port}/ws/echo`, [], (ws) => ws.send('close please'));
        expect(got.close).toEqual({ code: 4001, reason: 'asked to' });
      });

      it("hands the client's close code and reason to the app as websocket.disconnect", async () => {
        await wsSession(`ws://127.0.0.1:${host().port}/ws/echo`, [], (ws) => ws.close(4002, 'client leaves'));
        let seen: unknown = null;
        for (let i = 0; i < 50 && seen === null; i++) {
          const res = await fetch(`${host().url}/last-disconnect`);
          const last = (await res.json()) as { code: number; reason: string } | null;
          if (last?.code === 4002) seen = last;
          else await new Promise((r) => setTimeout(r, 20));
        }
        expect(seen).toEqual({ code: 4002, reason: 'client leaves' });
      });

      it('answers a websocket.http.response denial with its status, headers and body', async () => {
        const answer = await new Promise<{ status: number; why: unknown; body: string }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${host().port}/ws/deny-response`);
          ws.on('unexpected-response', (_req, res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, why: res.headers['x-why'], body }));
          });
          ws.on('open', () => reject(new Error('the handshake was accepted')));
          ws.on('error', () => {});
        });
        expect(answer).toEqual({ status: 401, why: 'no token', body: 'go away' });
      });

      it("holds the app's send() while the client does not read (backpressure), and delivers everything once it does", async () => {
        let received = 0;
        let closed!: () => void;
        const done = new Promise<void>((r) => (closed = r));
        const ws = new WebSocket(`ws://127.0.0.1:${host().port}/ws/flood`);
        ws.on('message', () => received++);
        ws.on('close', () => closed());
        await new Promise<void>((resolve) => ws.once('open', () => resolve()));
        ws.pause(); // stops reading the socket
        await new Promise((r) => setTimeout(r, 500));
        const sentWhilePaused = Number(await (await fetch(`${host().url}/flood-sent`)).text());
        // 12.5 MiB offered: the kernel's and the runtime's buffers take some, then send() waits.
        expect(sentWhilePaused).toBeGreaterThan(0);
        expect(sentWhilePaused).toBeLessThan(200);
        ws.resume();
        await done;
        expect(received).toBe(200);
        expect(await (await fetch(`${host().url}/flood-sent`)).text()).toBe('200');
      });

      it('answers websocket.close before accept with 403', async () => {
        const got = await wsSession(`ws://127.0.0.1:${host().port}/ws/deny`, [], () => {});
        expect(got.status).toBe(403);
      });
    });

    describe("beside a fetch handler (the global Response made fromFetchHandler's LightResponse)", () => {
      const besideFetch = hostAround(runtime, 'appBesideFetch');

      it("the host's own answers and the app's responses still reach the client", async () => {
        const fetched = await fetch(`${besideFetch().url}/fetch`);
        expect([fetched.status, await fetched.text()]).toEqual([200, 'from a fetch handler']);
        const hello = await fetch(`${besideFetch().url}/hello`);
        expect([hello.status, await hello.text()]).toEqual([200, 'hello']);
        const denied = await wsSession(`ws://127.0.0.1:${besideFetch().port}/ws/deny`, [], () => {});
        expect(denied.status).toBe(403);
      });
    });

    // Last: it stops the host.
    it('close() (on SIGTERM) lets an open request finish, closes WebSockets with 1012, then runs lifespan shutdown', async () => {
      let opened!: () => void;
      const open = new Promise<void>((r) => (opened = r));
      const socket = wsSession(`ws://127.0.0.1:${host().port}/ws/echo`, [], () => opened());
      await open;
      const res = await fetch(`${host().url}/stream`);
      const reader = res.body!.getReader();
      await reader.read(); // the request is open
      host().child.kill('SIGTERM');
      expect((await socket).close).toEqual({ code: 1012, reason: 'server shutting down' });
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toBe('two three');
      expect(await host().exited).toBe(0);
      expect(host().output()).toContain('lifespan shutdown ran');
      await expect(fetch(`${host().url}/hello`)).rejects.toThrow();
    });
  });
}
