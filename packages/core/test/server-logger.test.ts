import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLogger } from '@tsgi/core/server';

afterEach(() => {
  vi.restoreAllMocks();
});

/** What consoleLogger() wrote to stderr and stdout while `fn` ran. */
function captured(fn: () => void): { err: string; out: string } {
  let err = '';
  let out = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  fn();
  vi.restoreAllMocks();
  return { err, out };
}

describe('consoleLogger', () => {
  it("writes uvicorn's lines: the level padded to 9 columns, messages on stderr, access lines on stdout", () => {
    const { err, out } = captured(() => {
      const log = consoleLogger({ level: 'debug', colors: false });
      log.debug('d');
      log.info('i');
      log.warning('w');
      log.error('e');
      log.access('127.0.0.1:1 - "GET / HTTP/1.1" 200 1.0ms');
    });
    expect(err).toBe('DEBUG:    d\nINFO:     i\nWARNING:  w\nERROR:    e\n');
    expect(out).toBe('INFO:     127.0.0.1:1 - "GET / HTTP/1.1" 200 1.0ms\n');
  });

  it("colors the level names with uvicorn's colors when asked", () => {
    const { err } = captured(() => {
      const log = consoleLogger({ colors: true });
      log.info('i');
      log.warning('w');
      log.error('e');
    });
    expect(err).toBe('\x1b[32mINFO\x1b[0m:     i\n\x1b[33mWARNING\x1b[0m:  w\n\x1b[31mERROR\x1b[0m:    e\n');
  });

  it('colors by default only on a terminal', () => {
    const tty = process.stderr.isTTY;
    try {
      process.stderr.isTTY = false;
      expect(captured(() => consoleLogger().info('x')).err).toBe('INFO:     x\n');
      process.stderr.isTTY = true;
      expect(captured(() => consoleLogger().info('x')).err).toBe('\x1b[32mINFO\x1b[0m:     x\n');
    } finally {
      process.stderr.isTTY = tty;
    }
  });

  it('format json: one object per line with time, level, logger and message (and the error\'s stack)', () => {
    const { err, out } = captured(() => {
      const log = consoleLogger({ format: 'json' });
      log.info('hello');
      log.error('boom', new Error('bad'));
      log.access('line');
    });
    const [info, error] = err.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(info).toMatchObject({ level: 'info', logger: 'tsgi.error', message: 'hello' });
    expect(Number.isNaN(Date.parse(info!.time!))).toBe(false);
    expect(error).toMatchObject({ level: 'error', message: 'boom' });
    expect(error!.exc_info).toMatch(/^Error: bad\n\s+at /);
    expect(JSON.parse(out)).toMatchObject({ level: 'info', logger: 'tsgi.access', message: 'line' });
  });

  it('drops records below the level; the old (level, prefix) form still works', () => {
    const { err } = captured(() => {
      const log = consoleLogger('warning', '[worker 1] ');
      log.info('dropped');
      log.warning('kept');
    });
    expect(err).toBe('WARNING:  [worker 1] kept\n');
  });
});
