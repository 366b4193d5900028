/**
 * docs/choosing-a-server.md cannot drift from @tsgi/uws: the page has no code
 * block to run, so its concrete claims are: the root_path table (the page's
 * own example request), the extensions announced and not, the response
 * headers and framing, the error answers, the client port and the
 * keep-alive values, each asked of `tsgi serve` on the uws server.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';
import { pageProblems, readPage } from './docs-page-checks.js';
import { runRefused } from './tsgi-refusal.js';

const PAGE = 'docs/choosing-a-server.md';
const text = readPage(PAGE);
const APP = 'examples/test/fixtures/scope-report.ts:app';

/** The text of a `## heading` section, up to the next one. */
function section(heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  expect(start, `${PAGE} has no section ${heading}`).toBeGreaterThan(-1);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end === -1 ? undefined : end);
}

/** The extension names in the bold list items of `part`. */
const extensionNames = (part: string): string[] => [...part.matchAll(/^- \*\*`([\w.]+)`\*\*/gm)].map((m) => m[1]!);

describe(PAGE, () => {
  it('has only checked samples, links and paths that exist', () => {
    expect(pageProblems(PAGE)).toEqual([]);
  });

  describe('on @tsgi/uws, as the page says', () => {
    let server: TsgiProcess;
    let unixServer: TsgiProcess;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tsgi-docs-'));
      const started = await Promise.allSettled([
        startTsgi(['serve', APP, '--root-path', '/api', '--host', '127.0.0.1', '--port', '0']),
        startTsgi(['serve', APP, '--uds', join(dir, 'app.sock')]),
      ]);
      const [tcp, unix] = started;
      if (tcp.status === 'fulfilled') server = tcp.value;
      if (unix.status === 'fulfilled') unixServer = unix.value;
      for (const r of started) if (r.status === 'rejected') throw r.reason;
    });
    afterAll(async () => {
      // Either is undefined if it failed to start (that error is reported already); the other is still stopped.
      const codes = await Promise.all([server, unixServer].filter((p): p is TsgiProcess => p !== undefined).map((p) => p.stop()));
      expect(codes.every((c) => c === 0), `exit codes ${codes.join(', ')}`).toBe(true);
      rmSync(dir, { recursive: true, force: true });
    });

    it('path includes root_path: the page\'s example request gives the page\'s table', async () => {
      const part = section('`path` includes `root_path`');
      const [, rootPath, target] = /`rootPath: '([^']+)'` and a proxy that forwards `([^`]+)`/.exec(part)!;
      expect(rootPath).toBe('/api'); // what the server was started with
      const table = Object.fromEntries([...part.matchAll(/^\| `(\w+)` \| `([^`]+)`/gm)].map((m) => [m[1]!, m[2]!]));
      expect(Object.keys(table)).toEqual(['root_path', 'path', 'raw_path', 'query_string']);
      const report = (await (await fetch(`${server.url}${target}`)).json()) as Record<string, unknown>;
      for (const [key, value] of Object.entries(table)) expect(report[key], key).toBe(value);
    });

    it('announces the extensions the page lists as working, and none of those it lists as not announced', async () => {
      const part = section('Extensions');
      const cut = part.indexOf('Not announced');
      const announced = extensionNames(part.slice(0, cut));
      const notAnnounced = extensionNames(part.slice(cut));
      expect(announced).toEqual(['http.response.pathsend', 'http.response.zerocopysend', 'http.response.reason_phrase']);
      expect(notAnnounced.length).toBe(5);
      const { extensions } = (await (await fetch(`${server.url}/`)).json()) as { extensions: string[] };
      expect([...extensions].sort()).toEqual([...announced].sort());
    });

    it('reports HTTP/1.1 and client port 0; adds Date and uWebSockets: 20; frames one body with Content-Length, a stream chunked', async () => {
      const res = await fetch(`${server.url}/`);
      const report = (await res.json()) as { http_version: string; client: [string, number] };
      expect(report.http_version).toBe('1.1');
      expect(report.client).toEqual(['127.0.0.1', 0]);
      expect(res.headers.get('date')).toMatch(/GMT$/);
      expect(res.headers.get('uwebsockets')).toBe('20');
      expect(res.headers.get('content-length')).not.toBeNull();
      const streamed = await fetch(`${server.url}/stream`);
      expect(streamed.headers.get('transfer-encoding')).toBe('chunked');
      expect(await streamed.text()).toBe('one,two');
    });

    it('answers 500 to an app that raises before responding (logging it, sending none of it) and to one that returns without responding', async () => {
      const raised = await fetch(`${server.url}/raise`);
      expect(raised.status).toBe(500);
      expect(await raised.text()).not.toContain('raised'); // the exception is logged server-side only
      await expect.poll(() => server.stderr()).toContain('raised before any response byte');
      expect((await fetch(`${server.url}/silent`)).status).toBe(500);
    });

    it('over a unix socket: client is null and server is [path, null]', async () => {
      const uds = join(dir, 'app.sock');
      const body = await new Promise<string>((resolve, reject) => {
        request({ socketPath: uds, path: '/' }, (res) => {
          let data = '';
          res.setEncoding('utf8').on('data', (d: string) => (data += d)).on('end', () => resolve(data));
        }).on('error', reject).end();
      });
      expect(JSON.parse(body)).toMatchObject({ client: null, server: [uds, null] });
    });
  });

  it('refuses a keep-alive time other than 10 or 0', async () => {
    expect(section('Other differences from uvicorn')).toContain('`timeoutKeepAlive` accepts 10 (the default) or 0');
    const r = await runRefused(['serve', APP, '--port', '0', '--timeout-keep-alive', '5']);
    expect(r.code).toBe(2);
    // The page names the serve() option; tsgi serve reports it under the flag typed.
    expect(r.stderr).toMatch(/--timeout-keep-alive must be 10 .* or 0 .*; got 5/);
  });
});
