import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ASGI_OPTION_NAMES,
  COMMON_OPTION_NAMES,
  MAX_WS_MAX_SIZE,
  OptionError,
  SERVER_HEADER_VALUE,
  resolveAsgiOptions,
  resolveCommonOptions,
  type TransportRules,
} from '@tsgi/core/server';

const RULES: TransportRules = { keepAliveDefault: 5 };
const ENV = 'FORWARDED_ALLOW_IPS';
let savedEnv: string | undefined;
beforeEach(() => {
  savedEnv = process.env[ENV];
  delete process.env[ENV];
});
afterEach(() => {
  if (savedEnv === undefined) delete process.env[ENV];
  else process.env[ENV] = savedEnv;
});

/** The OptionError resolving `options` throws (fails the test if it throws anything else, or nothing). */
function optionErrorOf(fn: () => unknown): OptionError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected an OptionError').toBeInstanceOf(OptionError);
  return thrown as OptionError;
}

describe('resolveAsgiOptions: defaults', () => {
  it("applies uvicorn's defaults", () => {
    const o = resolveAsgiOptions({}, RULES);
    expect(o).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      uds: null,
      fd: null,
      backlog: 2048,
      rootPath: '',
      proxyHeaders: true,
      forwardedAllowIps: ['127.0.0.1'],
      limitMaxBodySize: null,
      h11MaxIncompleteEventSize: 16384,
      timeoutKeepAlive: 5,
      timeoutGracefulShutdown: null,
      accessLog: true,
      logLevel: 'info',
      limitConcurrency: null,
      lifespan: 'auto',
      wsMaxSize: 16777216,
      wsPingInterval: 20,
      wsPingTimeout: 20,
      workers: 1,
    });
    expect(o.trustedHosts?.has('127.0.0.1')).toBe(true);
    expect(o.trustedHosts?.has('10.0.0.1')).toBe(false);
  });

  it("takes timeoutKeepAlive's default from the transport's rules", () => {
    expect(resolveAsgiOptions({}, { keepAliveDefault: 7 }).timeoutKeepAlive).toBe(7);
    expect(resolveCommonOptions({}, new Set(COMMON_OPTION_NAMES), { keepAliveDefault: 0 }).timeoutKeepAlive).toBe(0);
  });

  it('takes forwardedAllowIps from FORWARDED_ALLOW_IPS when set, split on commas', () => {
    process.env[ENV] = '10.0.0.1, 192.168.0.0/16,,fd00::1';
    const o = resolveAsgiOptions({}, RULES);
    expect(o.forwardedAllowIps).toEqual(['10.0.0.1', '192.168.0.0/16', 'fd00::1']);
    expect(o.trustedHosts?.has('192.168.3.4')).toBe(true);
    expect(o.trustedHosts?.has('127.0.0.1')).toBe(false);
  });

  it('lets the option win over FORWARDED_ALLOW_IPS, and splits array entries on commas too', () => {
    process.env[ENV] = '10.0.0.1';
    expect(resolveAsgiOptions({ forwardedAllowIps: '1.1.1.1' }, RULES).forwardedAllowIps).toEqual(['1.1.1.1']);
    const o = resolveAsgiOptions({ forwardedAllowIps: ['1.1.1.1, 2.2.2.2', '3.3.3.3'] }, RULES);
    expect(o.forwardedAllowIps).toEqual(['1.1.1.1', '2.2.2.2', '3.3.3.3']);
    expect(o.trustedHosts?.has('2.2.2.2')).toBe(true);
    expect(o.trustedHosts?.has('10.0.0.1')).toBe(false);
  });

  it('trusts nobody when proxyHeaders is off', () => {
    expect(resolveAsgiOptions({ proxyHeaders: false }, RULES).trustedHosts).toBeNull();
  });

  it('keeps good values as given', () => {
    const o = resolveAsgiOptions(
      {
        host: '::1', port: 0, uds: '/tmp/x.sock', rootPath: '/app', limitMaxBodySize: 0, timeoutKeepAlive: 0.5, timeoutGracefulShutdown: 0,
        accessLog: false, logLevel: 'trace', limitConcurrency: 1, lifespan: 'off', wsMaxSize: MAX_WS_MAX_SIZE, wsPingInterval: 0, wsPingTimeout: null, workers: 256,
        logger: { debug() {}, info() {}, warning() {}, error() {}, access() {} },
      },
      RULES,
    );
    expect(o).toMatchObject({
      host: '::1', port: 0, uds: '/tmp/x.sock', rootPath: '/app', limitMaxBodySize: 0, timeoutKeepAlive: 0.5, timeoutGracefulShutdown: 0,
      accessLog: false, logLevel: 'trace', limitConcurrency: 1, lifespan: 'off', wsMaxSize: MAX_WS_MAX_SIZE, wsPingInterval: null, wsPingTimeout: null, workers: 256,
    });
  });
});

describe('resolveAsgiOptions: bad values', () => {
  // [option, value, what the message shows of the value]
  const cases: Array<[string, unknown, string]> = [
    ['host', '', '""'],
    ['host', 'my host', '"my host"'],
    ['host', 'a/b', '"a/b"'],
    ['host', 5, 'number 5'],
    ['port', -1, 'number -1'],
    ['port', 65536, 'number 65536'],
    ['port', 80.5, 'number 80.5'],
    ['port', '8000', '"8000"'],
    ['port', Number.NaN, 'number NaN'],
    ['uds', '', '""'],
    ['uds', 'a\0b', '"a\\u0000b"'],
    ['uds', 5, 'number 5'],
    ['rootPath', 'app', '"app"'],
    ['rootPath', '/app/', '"/app/"'],
    ['rootPath', '/', '"/"'],
    ['rootPath', '/a?b', '"/a?b"'],
    ['rootPath', '/a#b', '"/a#b"'],
    ['rootPath', 5, 'number 5'],
    ['proxyHeaders', 'yes', '"yes"'],
    ['forwardedAllowIps', 5, 'number 5'],
    ['forwardedAllowIps', [1], 'array(1)'],
    ['limitMaxBodySize', -1, 'number -1'],
    ['limitMaxBodySize', 1.5, 'number 1.5'],
    ['limitMaxBodySize', '10', '"10"'],
    ['fd', -1, 'number -1'],
    ['fd', '3', '"3"'],
    ['backlog', 0, 'number 0'],
    ['backlog', 1.5, 'number 1.5'],
    ['h11MaxIncompleteEventSize', 1023, 'number 1023'],
    ['h11MaxIncompleteEventSize', 1024 * 1024 + 1, `number ${1024 * 1024 + 1}`],
    ['h11MaxIncompleteEventSize', 20000.5, 'number 20000.5'],
    ['timeoutKeepAlive', -1, 'number -1'],
    ['timeoutKeepAlive', Number.POSITIVE_INFINITY, 'number Infinity'],
    ['timeoutKeepAlive', '5', '"5"'],
    ['timeoutGracefulShutdown', -1, 'number -1'],
    ['timeoutGracefulShutdown', Number.POSITIVE_INFINITY, 'number Infinity'],
    ['timeoutGracefulShutdown', '5', '"5"'],
    ['accessLog', 1, 'number 1'],
    ['logLevel', 'verbose', '"verbose"'],
    ['logLevel', 'INFO', '"INFO"'],
    ['logger', 'console', '"console"'],
    ['logger', {}, 'Object object'],
    ['limitConcurrency', 0, 'number 0'],
    ['limitConcurrency', 2.5, 'number 2.5'],
    ['lifespan', 'yes', '"yes"'],
    ['lifespan', true, 'boolean true'],
    ['wsMaxSize', 0, 'number 0'],
    ['wsMaxSize', 2 ** 31, `number ${2 ** 31}`],
    ['wsMaxSize', 1.5, 'number 1.5'],
    ['wsPingInterval', -1, 'number -1'],
    ['wsPingInterval', '20', '"20"'],
    ['wsPingInterval', 2 ** 31, `number ${2 ** 31}`],
    ['wsPingTimeout', -1, 'number -1'],
    ['wsPingTimeout', Number.NaN, 'number NaN'],
    ['workers', 0, 'number 0'],
    ['workers', 257, 'number 257'],
    ['workers', 1.5, 'number 1.5'],
  ];

  it.each(cases)("refuses %s = %j with an OptionError naming the option and the value", (option, value, shown) => {
    const e = optionErrorOf(() => resolveAsgiOptions({ [option]: value }, RULES));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.name).toBe('OptionError');
    expect(e.option).toBe(option);
    expect(Object.is(e.value, value)).toBe(true);
    expect(e.rule?.length).toBeGreaterThan(0);
    expect(e.message).toBe(`serve(): option '${option}' must be ${e.rule}; got ${shown}`);
  });

  it('names the first bad option when several are bad', () => {
    expect(optionErrorOf(() => resolveAsgiOptions({ port: -1, workers: 0 }, RULES)).option).toBe('port');
  });

  it('refuses a malformed forwardedAllowIps entry with an OptionError naming the option and the entry', () => {
    const e = optionErrorOf(() => resolveAsgiOptions({ forwardedAllowIps: '10.0.0.0/33' }, RULES));
    expect(e.option).toBe('forwardedAllowIps');
    expect(e.message).toContain('10.0.0.0/33');
  });

  it('refuses unknown option names with an OptionError whose option is the empty string', () => {
    const e = optionErrorOf(() => resolveAsgiOptions({ prot: 8000 }, RULES));
    expect(e.option).toBe('');
    expect(e.message).toBe('serve(): unknown option "prot"');
    // A name the transport checks itself is known once it is passed as extra.
    expect(() => resolveAsgiOptions({ threads: 4 }, RULES, ['threads'])).not.toThrow();
    expect(optionErrorOf(() => resolveAsgiOptions({ threads: 4 }, RULES)).option).toBe('');
    // The ASGI-only names are unknown to a server taking only the common options.
    expect(optionErrorOf(() => resolveCommonOptions({ workers: 2 }, new Set(COMMON_OPTION_NAMES), RULES)).option).toBe('');
    expect(ASGI_OPTION_NAMES).toEqual(expect.arrayContaining([...COMMON_OPTION_NAMES, 'workers', 'lifespan']));
  });

  it('refuses options that are not an object with an OptionError whose option is the empty string', () => {
    for (const bad of [null, 8000, 'port=8000']) {
      const e = optionErrorOf(() => resolveAsgiOptions(bad, RULES));
      expect(e.option).toBe('');
      expect(e.message.startsWith('serve(): ')).toBe(true);
    }
  });
});

describe('resolveCommonOptions: transport rules', () => {
  const known = new Set(COMMON_OPTION_NAMES);
  const onlyRule: TransportRules = { keepAliveDefault: 10, keepAliveOnly: { values: [0, 10], rule: '0 or 10 (what the library can honor)' } };

  it('backlogFixed is the default and the only backlog taken, naming its reason', () => {
    const fixed: TransportRules = { keepAliveDefault: 5, backlogFixed: { value: 512, why: 'the library listens so' } };
    expect(resolveCommonOptions({}, known, fixed).backlog).toBe(512);
    expect(resolveCommonOptions({ backlog: 512 }, known, fixed).backlog).toBe(512);
    expect(optionErrorOf(() => resolveCommonOptions({ backlog: 2048 }, known, fixed)).message).toBe("serve(): option 'backlog' must be 512 (the library listens so); got number 2048");
  });

  it('maxHead bounds h11MaxIncompleteEventSize, naming its reason', () => {
    const small: TransportRules = { keepAliveDefault: 5, maxHead: { bytes: 65536, why: 'what the parser lets through' } };
    expect(resolveCommonOptions({ h11MaxIncompleteEventSize: 65536 }, known, small).h11MaxIncompleteEventSize).toBe(65536);
    const e = optionErrorOf(() => resolveCommonOptions({ h11MaxIncompleteEventSize: 65537 }, known, small));
    expect(e.message).toBe("serve(): option 'h11MaxIncompleteEventSize' must be an integer from 1024 to 65536 (bytes; what the parser lets through); got number 65537");
  });

  it('keepAliveOnly accepts only its values, naming its rule', () => {
    expect(resolveCommonOptions({}, known, onlyRule).timeoutKeepAlive).toBe(10);
    expect(resolveCommonOptions({ timeoutKeepAlive: 0 }, known, onlyRule).timeoutKeepAlive).toBe(0);
    const e = optionErrorOf(() => resolveCommonOptions({ timeoutKeepAlive: 5 }, known, onlyRule));
    expect(e.option).toBe('timeoutKeepAlive');
    expect(e.message).toBe("serve(): option 'timeoutKeepAlive' must be 0 or 10 (what the library can honor); got number 5");
  });

  it.each([[''], ['/app'], ['/a/b'], ['/caf%C3%A9']])('accepts rootPath %j', (rootPath) => {
    expect(resolveCommonOptions({ rootPath }, known, RULES).rootPath).toBe(rootPath);
  });

  it.each([['app'], ['/app/'], ['/a?b'], ['/a#b']])('refuses rootPath %j', (rootPath) => {
    const e = optionErrorOf(() => resolveCommonOptions({ rootPath }, known, RULES));
    expect(e.option).toBe('rootPath');
    expect(e.message).toContain(JSON.stringify(rootPath));
  });
});

describe('resolveCommonOptions: the response headers of every response', () => {
  const known = new Set(COMMON_OPTION_NAMES);

  it("defaults to uvicorn's: a server header (tsgi's) and a date header", () => {
    const o = resolveCommonOptions({}, known, RULES);
    expect(o.defaultHeaders).toEqual([['server', SERVER_HEADER_VALUE]]);
    expect(SERVER_HEADER_VALUE).toBe('tsgi');
    expect(o.dateHeader).toBe(true);
  });

  it('adds headers after the server header, names in lower case; a server header of one\'s own replaces the default', () => {
    expect(resolveCommonOptions({ headers: [['X-Frame-Options', 'DENY']] }, known, RULES).defaultHeaders).toEqual([
      ['server', 'tsgi'],
      ['x-frame-options', 'DENY'],
    ]);
    expect(resolveCommonOptions({ headers: [['Server', 'edge']] }, known, RULES).defaultHeaders).toEqual([['server', 'edge']]);
    expect(resolveCommonOptions({ serverHeader: false, headers: [['x-a', '1']] }, known, RULES).defaultHeaders).toEqual([['x-a', '1']]);
  });

  it.each([
    [{ headers: [['bad name', 'v']] }, 'headers', '"bad name"'],
    [{ headers: [['x-a', 'a\r\nb']] }, 'headers', 'CR, LF'],
    [{ headers: 'x-a: 1' }, 'headers', 'an array of [name, value] pairs'],
    [{ serverHeader: 'no' }, 'serverHeader', 'a boolean'],
    [{ dateHeader: 0 }, 'dateHeader', 'a boolean'],
  ])('refuses %j naming the option', (options, option, words) => {
    const e = optionErrorOf(() => resolveCommonOptions(options, known, RULES));
    expect(e.option).toBe(option);
    expect(e.message).toContain(words);
  });

  it('dateHeader: false is refused by a transport that always writes Date, with its reason', () => {
    const e = optionErrorOf(() => resolveCommonOptions({ dateHeader: false }, known, { keepAliveDefault: 10, dateHeaderAlways: 'the library writes it' }));
    expect(e.message).toBe("serve(): option 'dateHeader' must be true (the library writes it); got boolean false");
  });
});

describe('resolveCommonOptions: the console logger', () => {
  const known = new Set(COMMON_OPTION_NAMES);

  it("defaults to uvicorn's text lines, colored when the stream is a terminal (null)", () => {
    expect(resolveCommonOptions({}, known, RULES)).toMatchObject({ logFormat: 'text', useColors: null });
    expect(resolveCommonOptions({ logFormat: 'json', useColors: false }, known, RULES)).toMatchObject({ logFormat: 'json', useColors: false });
  });

  it.each([
    [{ logFormat: 'xml' }, 'logFormat', "'text' or 'json'"],
    [{ useColors: 'yes' }, 'useColors', 'null or a boolean'],
  ])('refuses %j naming the option', (options, option, words) => {
    const e = optionErrorOf(() => resolveCommonOptions(options, known, RULES));
    expect(e.option).toBe(option);
    expect(e.message).toContain(words);
  });
});
