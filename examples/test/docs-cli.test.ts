/**
 * docs/cli.md cannot drift from the `tsgi` command: its flag table is the
 * set of flags `tsgi serve --help` prints (both ways), with the defaults the
 * parser applies; its commands are run and answer; its interface rule and
 * the combinations it says are refused are tried.
 */
import { detectInterface, checkInterface, main, parseServeArgs, readLogConfig, serveUsage, type ServeConfig } from '@tsgi/cli';
import { afterEach, describe, expect, it } from 'vitest';
import { startTsgi, type TsgiProcess } from '../docs/support/tsgi-process.js';
import { pageCommands, pageProblems, readPage, tsgiArgs } from './docs-page-checks.js';
import { runRefused } from './tsgi-refusal.js';

const PAGE = 'docs/cli.md';
const text = readPage(PAGE);

/** The rows of the first table after `heading`, each as its cells. */
function tableAfter(heading: string): string[][] {
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `${PAGE} has no section ${heading}`).toBeGreaterThan(-1);
  const lines = text.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    // Cells split on `|` not escaped as `\|`.
    rows.push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|')));
  }
  return rows;
}

/** `tsgi serve --help` as the command prints it. */
async function serveHelp(): Promise<string> {
  const out: string[] = [];
  const code = await main(['serve', '--help'], { out: (l) => out.push(l), err: (l) => out.push(`stderr: ${l}`) });
  expect(code).toBe(0);
  return out.join('\n');
}

/** Flag name (without `--`) to the metavar `--help` shows for it ('' for a switch). */
async function helpFlags(): Promise<Map<string, string>> {
  const help = await serveHelp();
  const options = help.slice(help.indexOf('Options:'), help.indexOf('Interface detection'));
  return new Map([...options.matchAll(/^ {2}--([a-z0-9-]+)(?: (\S+))?/gm)].map((m) => [m[1]!, m[2] ?? '']));
}

describe(PAGE, () => {
  it('has only checked samples, links and paths that exist', () => {
    expect(pageProblems(PAGE)).toEqual([]);
  });

  describe('the flag table', () => {
    const rows = tableAfter('## Flags');
    /** The flags a row documents, each with the values the doc shows (`uws|pool`) or ''. */
    const documented = new Map(
      rows.flatMap(([cell]) => [...cell!.matchAll(/`--([a-z0-9-]+)(?: ([^`]+))?`/g)].map((m) => [m[1]!, m[2] ?? ''] as const)),
    );

    it('lists exactly the flags tsgi serve --help prints', async () => {
      const help = await helpFlags();
      expect([...documented.keys()].sort()).toEqual([...help.keys()].sort());
    });

    it('shows the same choices as --help', async () => {
      const help = await helpFlags();
      for (const [flag, values] of documented) {
        if (values !== '') expect(values, `--${flag}`).toBe(help.get(flag));
      }
      const logLevels = rows.find(([cell]) => cell === '`--log-level`')![2]!;
      expect(help.get('log-level')).toBe('LEVEL');
      expect([...logLevels.matchAll(/`(\w+)`/g)].map((m) => m[1])).toEqual(/Log level: ([\w|]+)/.exec(serveUsage())![1]!.split('|'));
    });

    it('gives the defaults the parser applies', () => {
      const config = (env: NodeJS.ProcessEnv = {}): ServeConfig => {
        const parsed = parseServeArgs(['app.ts'], env);
        if (parsed.help) throw new Error('unexpected --help or --version');
        return parsed.config;
      };
      const defaults = config() as unknown as Record<string, unknown>;
      // Defaults the table words rather than writes as a value: the server (or the environment) decides.
      const decidedElsewhere: Record<string, () => void> = {
        '`$WEB_CONCURRENCY` or 1': () => {
          expect(defaults.workers).toBe(1);
          expect(config({ WEB_CONCURRENCY: '3' }).workers).toBe(3);
        },
        '`$FORWARDED_ALLOW_IPS` or `127.0.0.1`': () => {
          expect(defaults.forwardedAllowIps).toEqual(['127.0.0.1']);
          expect(config({ FORWARDED_ALLOW_IPS: '10.0.0.1,10.0.0.2' }).forwardedAllowIps).toEqual(['10.0.0.1', '10.0.0.2']);
        },
        // No --reload-dir: reload.ts's reloadDirs() decides (its test checks what is watched).
        "the working directory, and the app's if outside it": () => expect(defaults.reloadDir).toEqual([]),
        // Undecided until the logger sees whether its stream is a terminal (server-logger.test.ts).
        'on a terminal': () => expect(defaults.useColors).toBeUndefined(),
      };
      let checked = 0;
      for (const [cell, fallback] of rows) {
        const flag = /`--([a-z0-9-]+)/.exec(cell!)![1]!;
        if (flag === 'help' || flag === 'version') continue;
        const key = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
        const where = `--${flag}: default ${JSON.stringify(fallback)}`;
        expect(key in defaults, `${where}: no such key in the parsed config`).toBe(true);
        const value = defaults[key];
        if (fallback! in decidedElsewhere) decidedElsewhere[fallback!]!();
        // A list: its items as the table writes them (`*.ts`, `*.js`), or 'none'.
        else if (Array.isArray(value)) expect(value.map((v) => `\`${String(v)}\``).join(', ') || 'none', where).toBe(fallback);
        else if (fallback === 'on') expect(value, where).toBe(true);
        else if (fallback === 'off') expect(value, where).toBe(false);
        else if (['', 'none', 'the server\'s', 'by interface', '8 per core'].includes(fallback!)) expect(value, where).toBeUndefined();
        else expect(String(value), where).toBe(fallback!.replace(/^`(.*)`$/, '$1').replace(/^''$/, ''));
        checked++;
      }
      expect(checked).toBe(rows.length - 2);
    });
  });

  it('shows a --log-config file that --log-config takes, with the settings its table lists', () => {
    const settings = tableAfter('## Logs').map((r) => r[0]!.replace(/`/g, ''));
    expect(settings).toEqual(['level', 'format', 'colors', 'accessLog']);
    expect(readLogConfig('examples/docs/log-config.json')).toEqual({ level: 'info', format: 'json', accessLog: true });
  });

  it('states the interface rule that --interface auto applies', () => {
    const asgi = async (_scope: unknown, _receive: unknown, _send: unknown) => {};
    expect(detectInterface({ fetch: () => new Response('') })).toEqual({ ok: true, interface: 'fetch' }); // 1. a fetch() method
    expect(detectInterface(async () => {})).toEqual({ ok: true, interface: 'asgi' }); // 2. async
    expect(detectInterface(function (_a: unknown, _b: unknown, _c: unknown) {})).toEqual({ ok: true, interface: 'asgi' }); // 3. three parameters
    expect(detectInterface((_a: unknown, _b: unknown) => [])).toEqual({ ok: true, interface: 'wsgi' }); // 4. two parameters
    const refused = detectInterface((_a: unknown) => {}); // 5. anything else
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.reason).toContain('--interface asgi|wsgi|fetch');
    // Function.length does not count rest and defaulted parameters: these need an explicit --interface.
    expect(detectInterface((...args: unknown[]) => args).ok).toBe(false);
    expect(detectInterface(function (_scope: unknown, _receive: unknown, _send: unknown = null) {})).toEqual({ ok: true, interface: 'wsgi' });
    // An explicit --interface wins, and is still checked.
    expect(checkInterface((_a: unknown, _b: unknown) => [], 'asgi')).toEqual({ ok: true, interface: 'asgi' });
    expect(checkInterface(asgi, 'wsgi')).toEqual({ ok: true, interface: 'wsgi' });
    expect(checkInterface({}, 'asgi').ok).toBe(false);
  });

  describe('the commands of the page', () => {
    const running: TsgiProcess[] = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((p) => p.stop()));
    });

    // What each app the page serves is and answers; a new command on the page needs an entry here.
    const apps: Record<string, { iface: string; answers: (url: string) => Promise<void> }> = {
      'examples/hello/app.ts': {
        iface: 'ASGI-TS',
        answers: async (url) => expect(await (await fetch(`${url}/`)).text()).toBe('Hello, world!\n'),
      },
      'examples/hono/app.ts:default': {
        iface: 'fetch handler',
        answers: async (url) => expect(await (await fetch(`${url}/`)).text()).toBe('Hello from Hono on tsgi\n'),
      },
      'examples/docs/hello-sync.ts:app': {
        iface: 'WSGI-TS',
        answers: async (url) => expect(await (await fetch(`${url}/upload`, { method: 'POST', body: 'abc' })).text()).toBe('POST /upload: 3 bytes\n'),
      },
    };
    // How the "Serving … with <server> on" line names each interface of the table.
    const labels: Record<string, string> = { 'ASGI-TS': 'ASGI-TS app', 'fetch handler': 'fetch handler', 'WSGI-TS': 'WSGI-TS app' };
    const serverTable = tableAfter('## Which server runs it');
    const commands = pageCommands(PAGE).map(tsgiArgs).filter((a): a is string[] => a !== null);
    const serveCommands = commands.filter((a) => !a.includes('--help'));
    const appOf = (args: string[]): string => {
      const parsed = parseServeArgs(args.slice(1), {});
      if (parsed.help) throw new Error('unexpected --help');
      return parsed.config.app;
    };

    it('shows a help command whose output is serve --help', async () => {
      expect(commands.filter((a) => a.includes('--help'))).toEqual([['serve', '--help']]);
      expect(await serveHelp()).toBe(serveUsage());
    });

    it('serves each kind of app of the server table', () => {
      expect(serverTable.map((r) => r[0])).toEqual(Object.keys(labels));
      const shown = serveCommands.map((a) => apps[appOf(a)]?.iface);
      for (const iface of Object.keys(labels)) expect(shown, `no command of the page serves a ${iface} app`).toContain(iface);
    });

    it.each(serveCommands.map((args) => ({ command: args.join(' '), args })))('tsgi $command serves the app on the server the table says', async ({ args }) => {
      const app = apps[appOf(args)];
      expect(app, `no check for ${appOf(args)}: add one to this test`).toBeDefined();
      // Only the address is changed (loopback, a free port), and fewer pool threads than 8 per core: each imports the app through tsx.
      const server = await startTsgi([...args, '--host', '127.0.0.1', '--port', '0', '--threads', '2']);
      running.push(server);
      await app!.answers(server.url);
      const defaultServer = serverTable.find((r) => r[0] === app!.iface)![1]!.replace(/`/g, '');
      expect(server.stderr()).toMatch(new RegExp(`Serving ${labels[app!.iface]} \\S+ with ${defaultServer} on `));
      expect(await server.stop()).toBe(0);
    });
  });

  it('refuses the combinations it says cannot run, with one line and exit 2', async () => {
    const sync = 'examples/docs/hello-sync.ts:app';
    const results = await Promise.all([
      runRefused(['serve', '--server', 'pool', '--limit-max-requests', '5', sync]),
      runRefused(['serve', '--server', 'pool', '--limit-concurrency', '5', sync]),
      runRefused(['serve', '--server', 'uws', '--workers', '2', sync]),
      runRefused(['serve', sync], { WEB_CONCURRENCY: 'two' }),
    ]);
    const messages = [
      /--limit-max-requests is not supported by --server pool/,
      /--limit-concurrency is not supported by --server pool/,
      /--workers > 1 needs an ASGI-TS app; for a WSGI-TS app use --threads/,
      /WEB_CONCURRENCY must be a positive integer .*; got "two"/,
    ];
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(messages[i]!);
      expect(r.stderr.split('\n').filter((l) => l.startsWith('tsgi: error:'))).toHaveLength(1);
    });
  });

  it('starts with one worker and the warning it quotes when $WEB_CONCURRENCY cannot apply', async () => {
    const quoted = /`(WARNING: {2}WEB_CONCURRENCY=2 is ignored: [^`]+)`/.exec(text);
    expect(quoted, `${PAGE} quotes no WEB_CONCURRENCY warning`).not.toBeNull();
    const server = await startTsgi(['serve', 'examples/docs/hello-sync.ts:app', '--server', 'uws', '--port', '0', '--threads', '2'], { WEB_CONCURRENCY: '2' });
    try {
      expect(await (await fetch(`${server.url}/`)).status).toBe(200);
      expect(server.stderr().split('\n').filter((l) => l.startsWith('WARNING:'))).toEqual([quoted![1]]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
