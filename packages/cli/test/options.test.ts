import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '../src/errors.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childServeArgs, flagOfOption, parseServeArgs, serveUsage, type ServeConfig } from '../src/options.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): ServeConfig {
  const parsed = parseServeArgs(argv, env);
  if (parsed.help) throw new Error('unexpected --help or --version');
  return parsed.config;
}

function failure(argv: string[], env: NodeJS.ProcessEnv = {}): CliError {
  try {
    parseServeArgs(argv, env);
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error(`parseServeArgs(${argv.join(' ')}) did not fail`);
}

describe('tsgi serve flags', () => {
  it("defaults are uvicorn's", () => {
    expect(config(['app.ts'])).toEqual({
      app: 'app.ts',
      host: '127.0.0.1',
      port: 8000,
      uds: undefined,
      backlog: undefined,
      fd: undefined,
      server: undefined,
      interface: 'auto',
      workers: 1,
      workersFrom: 'default',
      threads: undefined,
      rootPath: '',
      proxyHeaders: true,
      forwardedAllowIps: ['127.0.0.1'],
      limitConcurrency: undefined,
      limitMaxRequests: undefined,
      timeoutWorkerHealthcheck: 5,
      timeoutKeepAlive: undefined,
      timeoutGracefulShutdown: undefined,
      wsMaxSize: 16777216,
      wsPingInterval: 20,
      wsPingTimeout: 20,
      wsPerMessageDeflate: false,
      wsMaxQueue: undefined,
      h11MaxIncompleteEventSize: undefined,
      http2: undefined,
      h2MaxConcurrentStreams: undefined,
      h2MaxHeaderListSize: undefined,
      lifespan: 'auto',
      accessLog: true,
      logLevel: 'info',
      appDir: '.',
      factory: false,
      reload: false,
      reloadDir: [],
      reloadInclude: ['*.ts', '*.mts', '*.cts', '*.tsx', '*.js', '*.mjs', '*.cjs'],
      reloadExclude: ['.*', '*~', '~*', 'node_modules'],
      reloadDelay: 0.25,
      envFile: undefined,
      envFileValues: {},
      logConfig: undefined,
      logFormat: 'text',
      useColors: undefined,
      header: [],
      serverHeader: true,
      dateHeader: true,
      sslKeyfile: undefined,
      sslCertfile: undefined,
      sslKeyfilePassword: undefined,
      sslCaCerts: undefined,
      sslCertReqs: 0,
      sslCiphers: undefined,
    });
  });

  it('every flag is parsed into its option', () => {
    const c = config([
      '--host', '0.0.0.0', '--port', '0', '--uds', '/tmp/x.sock', '--backlog', '100', '--fd', '3', '--server', 'pool', '--interface', 'wsgi',
      '--workers', '3', '--threads', '16', '--root-path', '/api', '--no-proxy-headers',
      '--forwarded-allow-ips', '10.0.0.0/8, 127.0.0.1', '--limit-concurrency', '100', '--limit-max-requests', '5000',
      '--timeout-keep-alive', '2.5', '--timeout-graceful-shutdown', '30', '--timeout-worker-healthcheck', '2.5', '--ws-max-size', '1024',
      '--ws-ping-interval', '0', '--ws-ping-timeout', '0.5', '--ws-per-message-deflate', '--ws-max-queue', '8', '--h11-max-incomplete-event-size', '32768',
      '--no-http2', '--h2-max-concurrent-streams', '1', '--h2-max-header-list-size', '4096', '--lifespan', 'off', '--no-access-log', '--log-level', 'debug',
      '--app-dir', '.', '--factory', '--reload', '--reload-dir', '.', '--reload-dir', 'packages', '--reload-include', '*.json', '--reload-exclude', '*.cjs', '--reload-delay', '1.5',
      '--use-colors', '--header', 'x-a: 1', '--header', 'X-B:two:parts', '--no-server-header', '--no-date-header',
      'mod.js:handler',
    ]);
    expect(c).toEqual({
      app: 'mod.js:handler', host: '0.0.0.0', port: 0, uds: '/tmp/x.sock', backlog: 100, fd: 3, server: 'pool', interface: 'wsgi',
      workers: 3, workersFrom: 'flag', threads: 16, rootPath: '/api', proxyHeaders: false, forwardedAllowIps: ['10.0.0.0/8', '127.0.0.1'],
      limitConcurrency: 100, limitMaxRequests: 5000, timeoutKeepAlive: 2.5, timeoutGracefulShutdown: 30, timeoutWorkerHealthcheck: 2.5,
      wsMaxSize: 1024, wsPingInterval: 0, wsPingTimeout: 0.5, wsPerMessageDeflate: true, wsMaxQueue: 8, h11MaxIncompleteEventSize: 32768,
      http2: false, h2MaxConcurrentStreams: 1, h2MaxHeaderListSize: 4096, lifespan: 'off', accessLog: false, logLevel: 'debug',
      appDir: '.', factory: true, reload: true, reloadDir: ['.', 'packages'],
      reloadInclude: ['*.ts', '*.mts', '*.cts', '*.tsx', '*.js', '*.mjs', '*.json'],
      reloadExclude: ['.*', '*~', '~*', 'node_modules', '*.cjs'],
      reloadDelay: 1.5,
      envFile: undefined, envFileValues: {}, logConfig: undefined, logFormat: 'text', useColors: true,
      header: [['x-a', '1'], ['X-B', 'two:parts']], serverHeader: false, dateHeader: false,
      sslKeyfile: undefined, sslCertfile: undefined, sslKeyfilePassword: undefined, sslCaCerts: undefined, sslCertReqs: 0, sslCiphers: undefined,
    });
  });

  it('--flag=value works as well as --flag value', () => {
    expect(config(['--port=9001', 'a.ts']).port).toBe(9001);
  });

  it('$WEB_CONCURRENCY and $FORWARDED_ALLOW_IPS give defaults, as in uvicorn', () => {
    const c = config(['a.ts'], { WEB_CONCURRENCY: '4', FORWARDED_ALLOW_IPS: '*' });
    expect(c).toMatchObject({ workers: 4, workersFrom: 'WEB_CONCURRENCY' });
    expect(c.forwardedAllowIps).toEqual(['*']);
    expect(config(['--workers', '2', 'a.ts'], { WEB_CONCURRENCY: '4' })).toMatchObject({ workers: 2, workersFrom: 'flag' });
    // An empty WEB_CONCURRENCY (a shell's `WEB_CONCURRENCY= tsgi …`) is unset.
    expect(config(['a.ts'], { WEB_CONCURRENCY: '' })).toMatchObject({ workers: 1, workersFrom: 'default' });
  });

  it.each(['0', '-2', 'four', '1.5', '1e3', '0x10'])('$WEB_CONCURRENCY=%j is refused, naming the variable and the value', (value) => {
    const e = failure(['a.ts'], { WEB_CONCURRENCY: value });
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(`WEB_CONCURRENCY must be a positive integer (the default number of --workers); got ${JSON.stringify(value)}`);
  });

  it('an explicit --workers does not read $WEB_CONCURRENCY at all (as uvicorn)', () => {
    expect(config(['--workers', '1', 'a.ts'], { WEB_CONCURRENCY: 'four' })).toMatchObject({ workers: 1, workersFrom: 'flag' });
  });

  it('maps the server options the flags set back to the flags, for serve() refusals', () => {
    expect(flagOfOption('timeoutKeepAlive')).toBe('--timeout-keep-alive');
    expect(flagOfOption('wsPingInterval')).toBe('--ws-ping-interval');
    expect(flagOfOption('rootPath')).toBe('--root-path');
    expect(flagOfOption('proxyHeaders')).toBe('--proxy-headers');
    expect(flagOfOption('workers')).toBe('--workers');
    expect(flagOfOption('h2MaxConcurrentStreams')).toBe('--h2-max-concurrent-streams');
    // Options no flag sets keep their own name.
    expect(flagOfOption('limitMaxBodySize')).toBeUndefined();
    expect(flagOfOption('help')).toBeUndefined();
  });

  it('--help wins over everything else', () => {
    expect(parseServeArgs(['--help'])).toEqual({ help: true });
    expect(parseServeArgs(['--port', 'x', '--help'], {})).toEqual({ help: true });
  });

  it.each([
    [['--bogus', 'a.ts'], /unknown option --bogus/],
    [[], /missing the app/],
    [['a.ts', 'b.ts'], /expected one app, got 2/],
    [['--port', 'x', 'a.ts'], /--port must be a whole number; got "x"/],
    [['--port', '70000', 'a.ts'], /--port must be between 0 and 65535; got 70000/],
    [['--port', '-1', 'a.ts'], /--port/],
    [['--workers', '0', 'a.ts'], /--workers must be between 1/],
    [['--server', 'gunicorn', 'a.ts'], /--server must be one of uws, node, pool; got "gunicorn"/],
    [['--interface', 'asgi2', 'a.ts'], /--interface must be one of auto, asgi, wsgi, fetch/],
    [['--lifespan', 'maybe', 'a.ts'], /--lifespan must be one of auto, on, off/],
    [['--log-level', 'loud', 'a.ts'], /--log-level must be one of critical/],
    [['--timeout-keep-alive', 'soon', 'a.ts'], /--timeout-keep-alive must be a number of seconds/],
    [['--ws-ping-timeout', '-1', 'a.ts'], /--ws-ping-timeout/],
    [['--ws-ping-timeout=-1', 'a.ts'], /--ws-ping-timeout must be a number of seconds >= 0; got "-1"/],
    [['--ws-max-size', '0', 'a.ts'], /--ws-max-size must be between 1/],
    [['--h2-max-concurrent-streams', '0', 'a.ts'], /^--h2-max-concurrent-streams must be between 1 and 4294967295; got 0$/],
    [['--h2-max-concurrent-streams', '1.5', 'a.ts'], /^--h2-max-concurrent-streams must be a whole number; got "1\.5"$/],
    [['--h2-max-header-list-size=-1', 'a.ts'], /^--h2-max-header-list-size must be a whole number; got "-1"$/],
    [['--h2-max-header-list-size', '4294967296', 'a.ts'], /^--h2-max-header-list-size must be between 1 and 4294967295; got 4294967296$/],
    [['--root-path', 'api', 'a.ts'], /--root-path must start with "\/"/],
    // a trailing '/' would become root_path '/api/' (asgi.http.scope.9: not ending with '/') and SCRIPT_NAME '/api/',
    // leaving PATH_INFO without its leading '/'; '/' alone is never a SCRIPT_NAME (wsgi.environ.path.1)
    [['--root-path', '/api/', 'a.ts'], /^--root-path must start with "\/" and not end with "\/" \(e\.g\. \/api\): it is root_path \(asgi\.http\.scope\.9\) and SCRIPT_NAME \(wsgi\.environ\.path\.1\); got "\/api\/"$/],
    [['--root-path=/', 'a.ts'], /--root-path must start with "\/" and not end with "\/" .*; got "\/"$/],
    [['--proxy-headers', '--no-proxy-headers', 'a.ts'], /contradict/],
    [['--port', 'a.ts'], /missing the app/],
    [['--no-access-log=yes', 'a.ts'], /does not take an argument/],
    [['--header', 'no-colon', 'a.ts'], /^--header must be name:value \(e\.g\. "x-frame-options: DENY"\); got "no-colon"$/],
    [['--header', ':v', 'a.ts'], /--header must be name:value/],
    [['--use-colors', '--no-use-colors', 'a.ts'], /--use-colors and --no-use-colors contradict each other/],
    [['--date-header', '--no-date-header', 'a.ts'], /--date-header and --no-date-header contradict each other/],
    [['--app-dir', '/nonexistent/x', 'a.ts'], /^--app-dir must be a directory; got "\/nonexistent\/x"$/],
    [['--env-file', '/nonexistent/.env', 'a.ts'], /^--env-file cannot be read: ENOENT/],
    [['--log-config', '/nonexistent/log.json', 'a.ts'], /^--log-config "\/nonexistent\/log\.json" is not a readable JSON file: ENOENT/],
  ])('%j is refused: %s', (argv, message) => {
    const e = failure(argv as string[]);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  });

  it('--help lists every flag of the issue and the detection rule', () => {
    const text = serveUsage();
    for (const flag of [
      'host', 'port', 'uds', 'server', 'interface', 'workers', 'threads', 'root-path', 'proxy-headers', 'no-proxy-headers',
      'forwarded-allow-ips', 'limit-concurrency', 'limit-max-requests', 'timeout-keep-alive', 'timeout-graceful-shutdown', 'timeout-worker-healthcheck',
      'ws-max-size', 'ws-ping-interval', 'ws-ping-timeout', 'lifespan', 'no-access-log', 'log-level',
    ]) {
      expect(text).toMatch(new RegExp(`^  --${flag}\\b`, 'm'));
    }
    expect(text).toMatch(/Interface detection/);
    expect(text).toMatch(/2 parameters .*WSGI-TS/);
  });

  describe('files the flags name', () => {
    let dir = '';
    const file = (name: string, text: string): string => {
      dir ||= mkdtempSync(join(tmpdir(), 'tsgi-flags-'));
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('--env-file: its variables, under those already set; read before $WEB_CONCURRENCY and $FORWARDED_ALLOW_IPS', () => {
      const env = file('.env', 'DB_URL=postgres://x\nFORWARDED_ALLOW_IPS=10.0.0.1\nSET=from-file\n');
      const c = config(['--env-file', env, 'a.ts'], { SET: 'from-env' });
      expect(c.envFile).toBe(env);
      expect(c.envFileValues).toEqual({ DB_URL: 'postgres://x', FORWARDED_ALLOW_IPS: '10.0.0.1', SET: 'from-file' });
      expect(c.forwardedAllowIps).toEqual(['10.0.0.1']);
      expect(config(['--env-file', env, 'a.ts'], { FORWARDED_ALLOW_IPS: '*' }).forwardedAllowIps).toEqual(['*']);
    });

    it('--log-config: level, format, colors and accessLog; flags given win', () => {
      const log = file('log.json', JSON.stringify({ level: 'debug', format: 'json', colors: true, accessLog: false }));
      expect(config(['--log-config', log, 'a.ts'])).toMatchObject({ logLevel: 'debug', logFormat: 'json', useColors: true, accessLog: false });
      expect(config(['--log-config', log, '--log-level', 'warning', '--no-use-colors', '--access-log', 'a.ts'])).toMatchObject({
        logLevel: 'warning',
        logFormat: 'json',
        useColors: false,
        accessLog: true,
      });
    });

    it.each([
      ['[1]', /must hold a JSON object; got \[1\]/],
      ['{"level": "loud"}', /: "level" must be one of critical, error, warning, info, debug, trace; got "loud"/],
      ['{"format": "xml"}', /: "format" must be one of text, json; got "xml"/],
      ['{"colors": "yes"}', /: "colors" must be true or false; got "yes"/],
      ['{"handlers": {}}', /: "handlers" is not a setting; the settings are level, format, colors, accessLog/],
      ['{level: 1}', /is not a readable JSON file/],
    ])('--log-config %s is refused, naming the key and the value', (text, message) => {
      const e = failure(['--log-config', file('bad.json', text), 'a.ts']);
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(message);
    });
  });

  it('--version, as uvicorn --version', () => {
    expect(parseServeArgs(['--version'])).toEqual({ help: true, version: true });
  });

  it('the server process of --reload gets the same flags without the --reload ones, and the port the supervisor chose', () => {
    const argv = ['--reload', '--reload-dir', 'src', '--reload-include=*.txt', '--port', '0', '--header', 'x-a: 1', '--no-access-log', 'app.ts:app'];
    expect(childServeArgs(argv)).toEqual(['--port=0', '--header=x-a: 1', '--no-access-log', 'app.ts:app']);
    expect(childServeArgs(argv, 41234)).toEqual(['--port=41234', '--header=x-a: 1', '--no-access-log', 'app.ts:app']);
  });
});
