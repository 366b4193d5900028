/** The TLS options as every server resolves them: a setup that cannot work is refused at start, naming the option. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMON_OPTION_NAMES, OptionError, resolveCommonOptions, resolveTlsOptions, type TlsServeOptions } from '@tsgi/core/server';
import { needTools } from '../../../scripts/system-tools.js';

const tools = needTools('packages/core/test/server-tls.test.ts', 'openssl');
let dir = '';
const f = (name: string) => join(dir, name);

function errorOf(o: TlsServeOptions): OptionError {
  try {
    resolveTlsOptions(o);
  } catch (e) {
    if (e instanceof OptionError) return e;
    throw e;
  }
  throw new Error('resolveTlsOptions accepted the options');
}

describe('resolveTlsOptions without files', () => {
  it('is null (plain HTTP) without sslCertfile, and every server takes the options', () => {
    expect(resolveTlsOptions({})).toBeNull();
    expect(resolveCommonOptions({ sslCertReqs: 0 }, new Set(COMMON_OPTION_NAMES), { keepAliveDefault: 5 }).tls).toBeNull();
  });

  it('refuses a TLS option without sslCertfile, which would be ignored', () => {
    expect(errorOf({ sslKeyfile: '/k.pem' }).message).toBe('serve(): sslKeyfile needs sslCertfile (TLS is served only with a certificate)');
    expect(errorOf({ sslCertReqs: 2 }).option).toBe('sslCertReqs');
  });

  it('refuses an sslCertReqs other than 0, 1, 2', () => {
    expect(errorOf({ sslCertfile: '/c.pem', sslCertReqs: 3 as 0 }).message).toMatch(/option 'sslCertReqs' must be 0 \(none\), 1 \(optional\) or 2 \(required\).*; got number 3/);
  });
});

describe.skipIf(tools.skip)(`resolveTlsOptions with files${tools.note}`, () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsgi-tls-opts-'));
    const openssl = (...args: string[]) => expect(spawnSync('openssl', args, { cwd: dir }).status).toBe(0);
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'a.key', '-out', 'a.pem', '-days', '1', '-subj', '/CN=a');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'b.key', '-out', 'b.pem', '-days', '1', '-subj', '/CN=b');
    openssl('pkey', '-in', 'a.key', '-aes256', '-passout', 'pass:pw', '-out', 'a-enc.key');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the files once; the key may be in the certificate file', () => {
    const t = resolveTlsOptions({ sslCertfile: f('a.pem'), sslKeyfile: f('a-enc.key'), sslKeyfilePassword: 'pw' })!;
    expect(t).toMatchObject({ certfile: f('a.pem'), keyfile: f('a-enc.key'), passphrase: 'pw', certReqs: 0, ciphers: null });
    expect(t.serverCertPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('names the option of each file that cannot serve', () => {
    expect(errorOf({ sslCertfile: f('none.pem'), sslKeyfile: f('a.key') }).option).toBe('sslCertfile');
    expect(errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('none.key') }).option).toBe('sslKeyfile');
    expect(errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('b.key') }).message).toMatch(/sslKeyfile .*not a private key of sslCertfile's certificate/);
    expect(errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('a-enc.key') }).message).toMatch(/sslKeyfilePassword is needed: .* is encrypted/);
    const wrong = errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('a-enc.key'), sslKeyfilePassword: 'nope' });
    expect(wrong.option).toBe('sslKeyfilePassword');
    expect(wrong.message).not.toContain('nope');
    expect(errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('a.key'), sslCiphers: 'NO-SUCH-CIPHER' }).option).toBe('sslCiphers');
    expect(errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('a.key'), sslCertReqs: 2 }).message).toMatch(/sslCertReqs needs sslCaCerts/);
    expect(errorOf({ sslCertfile: f('a.pem'), sslKeyfile: f('a.key'), sslCertReqs: 1, sslCaCerts: f('a.key') }).option).toBe('sslCaCerts');
  });
});
