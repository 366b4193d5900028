/**
 * The TLS scenario's certificate: self-signed for 127.0.0.1 and made with
 * openssl on first use, in a temporary folder removed when the harness
 * exits, so no key is ever committed. Every TLS contender of a run gets the
 * same one, so all pay the same handshake and cipher.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The environment a TLS server of bench/servers reads its key and certificate from. */
export interface CertEnv {
  SSL_KEYFILE: string;
  SSL_CERTFILE: string;
}

let made: CertEnv | null = null;

/** The run's key and certificate paths, made on the first call (ECDSA P-256, as most sites serve today). */
export function benchCertificate(): CertEnv {
  if (made !== null) return made;
  const dir = mkdtempSync(join(tmpdir(), 'tsgi-bench-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const env = { SSL_KEYFILE: join(dir, 'key.pem'), SSL_CERTFILE: join(dir, 'cert.pem') };
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', env.SSL_KEYFILE, '-out', env.SSL_CERTFILE,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  made = env;
  return env;
}
