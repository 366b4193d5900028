import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtures, runCli } from './helpers/spawn-cli.js';

describe('tsgi (the command, as a child process)', () => {
  it('--help lists the serve flags and the detection rule, exit 0', async () => {
    const r = await runCli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tsgi serve/);
    expect(r.stdout).toMatch(/--ws-ping-timeout/);
    expect(r.stdout).toMatch(/Interface detection/);
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tsgi 0\.1\.0 /);
  });

  it('no command: usage on stderr, exit 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: tsgi <command>/);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['serve', '--bogus', 'app.ts'], /unknown option --bogus/],
    [['serve', '--port', 'eighty', 'app.ts'], /--port must be a whole number/],
    [['serve', join(fixtures, 'missing.ts')], /cannot find the app module .*missing\.ts/],
    [['serve', `${join(fixtures, 'asgi-app.ts')}:nope`], /has no export named "nope"/],
    [['serve', join(fixtures, 'not-an-app.ts')], /export "app" of .* is not an app: .* got a number/],
    [['serve', `${join(fixtures, 'not-an-app.ts')}:oneParam`], /declaring 1 parameter.*--interface/],
    [['serve', '--server', 'pool', join(fixtures, 'asgi-app.ts')], /--server pool hosts WSGI-TS apps only/],
    [['serve', '--root-path', '/app/', join(fixtures, 'wsgi-app.ts')], /--root-path must start with "\/" and not end with "\/" .*\(asgi\.http\.scope\.9\).*\(wsgi\.environ\.path\.1\); got "\/app\/"/],
  ])('%j: one line naming the problem, exit 2', async (args, message) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('tsgi: error:'));
    expect(errorLines).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a module that throws while importing: its error, exit 1', async () => {
    const r = await runCli(['serve', join(fixtures, 'throws-on-import.ts')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error while importing .*config missing/);
  });
});
