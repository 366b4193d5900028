/**
 * TLS in the server, with uvicorn's options (--ssl-keyfile, --ssl-certfile,
 * --ssl-keyfile-password, --ssl-ca-certs, --ssl-cert-reqs, --ssl-ciphers):
 * resolved and checked once here (files read, the key decrypted, key and
 * certificate matched) so every server refuses a bad setup with the same
 * words before it binds anything; plus the ASGI `tls` extension of a
 * connection, for the transports that can see the TLS session (node:tls).
 */
import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket, TlsOptions } from 'node:tls';

// node:tls and node:crypto are loaded on first use, not at import: every isolate that imports the server
// layer (each pool thread) would pay for them, TLS or not.
const createSecureContext = (options: TlsOptions) => process.getBuiltinModule('node:tls').createSecureContext(options);
const x509 = (pem: string | Buffer) => new (process.getBuiltinModule('node:crypto').X509Certificate)(pem);
import type { TlsExtension } from '../asgi/types.js';
import { describe } from '../bytes.js';
import { OptionError, optionError } from './options.js';

/** Client certificates, as Python's ssl.CERT_NONE (0), CERT_OPTIONAL (1), CERT_REQUIRED (2). */
export type CertReqs = 0 | 1 | 2;

/** The TLS options of every server (uvicorn's --ssl-*). TLS is on when sslCertfile is given. */
export interface TlsServeOptions {
  /** PEM private key file; default: the key is in sslCertfile. */
  sslKeyfile?: string | null;
  /** PEM certificate (chain) file; serving TLS needs it. */
  sslCertfile?: string | null;
  /** Password of an encrypted sslKeyfile. */
  sslKeyfilePassword?: string | null;
  /** PEM file of the CAs client certificates are verified against. */
  sslCaCerts?: string | null;
  /** Client certificates: 0 not asked for (default), 1 optional (a presented one must verify), 2 required. */
  sslCertReqs?: CertReqs;
  /** OpenSSL cipher list (TLS 1.2 and below); null: the TLS library's default. */
  sslCiphers?: string | null;
}

/** The names of TlsServeOptions. */
export const TLS_OPTION_NAMES: readonly string[] = ['sslKeyfile', 'sslCertfile', 'sslKeyfilePassword', 'sslCaCerts', 'sslCertReqs', 'sslCiphers'];

/** TlsServeOptions after validation: the paths, and the files' contents as read once at start. */
export interface ResolvedTls {
  keyfile: string;
  certfile: string;
  key: Buffer;
  cert: Buffer;
  passphrase: string | null;
  caCerts: string | null;
  ca: Buffer | null;
  certReqs: CertReqs;
  ciphers: string | null;
  /** The first certificate of certfile as PEM: the ASGI tls extension's server_cert. */
  serverCertPem: string;
}

function path(name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value === '' || value.includes('\0')) optionError(name, 'null or a file path', value);
  return value;
}

function readFile(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new OptionError(name, null, file, ` ${JSON.stringify(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Validates the TLS options and reads their files; null when TLS is off (no
 * sslCertfile). A missing file, a wrong key password, a key that does not
 * match the certificate or a cipher list OpenSSL rejects is an OptionError
 * naming the option.
 */
export function resolveTlsOptions(o: TlsServeOptions): ResolvedTls | null {
  const certfile = path('sslCertfile', o.sslCertfile);
  const keyfileGiven = path('sslKeyfile', o.sslKeyfile);
  const passphrase = o.sslKeyfilePassword ?? null;
  if (passphrase !== null && typeof passphrase !== 'string') optionError('sslKeyfilePassword', 'null or a string', passphrase);
  const caCerts = path('sslCaCerts', o.sslCaCerts);
  const certReqs = o.sslCertReqs ?? 0;
  if (certReqs !== 0 && certReqs !== 1 && certReqs !== 2) optionError('sslCertReqs', '0 (none), 1 (optional) or 2 (required), as ssl.CERT_NONE/OPTIONAL/REQUIRED', certReqs);
  const ciphers = o.sslCiphers ?? null;
  if (ciphers !== null && (typeof ciphers !== 'string' || ciphers === '')) optionError('sslCiphers', 'null or an OpenSSL cipher list', ciphers);
  if (certfile === null) {
    // Any other TLS option without a certificate would be silently ignored: plain HTTP is served.
    const stray = TLS_OPTION_NAMES.find((n) => n !== 'sslCertfile' && (o as Record<string, unknown>)[n] !== undefined && (o as Record<string, unknown>)[n] !== null && !(n === 'sslCertReqs' && certReqs === 0));
    if (stray !== undefined) throw OptionError.conflict(stray, (o as Record<string, unknown>)[stray], ' needs sslCertfile (TLS is served only with a certificate)');
    return null;
  }
  if (certReqs !== 0 && caCerts === null) throw OptionError.conflict('sslCertReqs', certReqs, ' needs sslCaCerts (the CAs client certificates are verified against)');
  const keyfile = keyfileGiven ?? certfile;
  const cert = readFile('sslCertfile', certfile);
  const key = keyfileGiven === null ? cert : readFile('sslKeyfile', keyfile);
  const ca = caCerts === null ? null : readFile('sslCaCerts', caCerts);
  const serverCertPem = firstPem(cert);
  if (serverCertPem === null) throw new OptionError('sslCertfile', null, certfile, ` ${JSON.stringify(certfile)} holds no PEM certificate`);
  try {
    x509(serverCertPem);
  } catch (e) {
    throw new OptionError('sslCertfile', null, certfile, ` ${JSON.stringify(certfile)} holds no valid certificate (${(e as Error).message})`);
  }
  checkContext({ key, cert, passphrase, ca, ciphers, keyfile, caCerts });
  return { keyfile, certfile, key, cert, passphrase, caCerts, ca, certReqs, ciphers, serverCertPem };
}

/** Builds a secure context once, as the server will, so a bad key, password, CA file or cipher list fails here with its option's name. */
function checkContext(t: { key: Buffer; cert: Buffer; passphrase: string | null; ca: Buffer | null; ciphers: string | null; keyfile: string; caCerts: string | null }): void {
  const base = { cert: t.cert, passphrase: t.passphrase ?? undefined };
  try {
    createSecureContext({ ...base, key: t.key });
  } catch (e) {
    const m = (e as Error).message;
    if (/bad decrypt|bad password|interrupted or cancelled|PEM_do_header/i.test(m)) {
      if (t.passphrase === null) throw OptionError.conflict('sslKeyfilePassword', null, ` is needed: ${JSON.stringify(t.keyfile)} is encrypted (${m})`);
      throw new OptionError('sslKeyfilePassword', null, '(hidden)', ` does not decrypt ${JSON.stringify(t.keyfile)} (${m})`);
    }
    throw new OptionError('sslKeyfile', null, t.keyfile, ` ${JSON.stringify(t.keyfile)}: not a private key of sslCertfile's certificate (${m})`);
  }
  if (t.ca !== null) {
    try {
      // node takes a file without certificates silently: then no client certificate could ever verify.
      if (firstPem(t.ca) === null) throw new Error('no BEGIN CERTIFICATE block');
      createSecureContext({ ca: t.ca });
    } catch (e) {
      throw new OptionError('sslCaCerts', null, t.caCerts, ` ${JSON.stringify(t.caCerts)} holds no valid PEM certificates (${(e as Error).message})`);
    }
  }
  if (t.ciphers !== null) {
    try {
      createSecureContext({ ciphers: t.ciphers });
    } catch (e) {
      throw new OptionError('sslCiphers', null, t.ciphers, ` ${describe(t.ciphers)} is not a cipher list OpenSSL takes (${(e as Error).message})`);
    }
  }
}

function firstPem(bytes: Buffer): string | null {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(bytes.toString('latin1'));
  return m === null ? null : `${m[0]}\n`;
}

/**
 * The node:tls server options of `tls`. CERT_OPTIONAL has no node:tls
 * equivalent (rejectUnauthorized refuses a client without a certificate
 * too): it asks for a certificate without rejecting, and rejectUnverified()
 * ends a connection whose presented certificate did not verify.
 */
export function nodeTlsOptions(tls: ResolvedTls): TlsOptions {
  return {
    key: tls.key,
    cert: tls.cert,
    ...(tls.passphrase !== null ? { passphrase: tls.passphrase } : {}),
    ...(tls.ca !== null && tls.certReqs !== 0 ? { ca: tls.ca } : {}),
    ...(tls.ciphers !== null ? { ciphers: tls.ciphers } : {}),
    requestCert: tls.certReqs !== 0,
    rejectUnauthorized: tls.certReqs === 2,
  };
}

/** For CERT_OPTIONAL on node:tls ('secureConnection'): true (and the socket destroyed) when the client presented a certificate that did not verify. */
export function rejectUnverified(tls: ResolvedTls, socket: TLSSocket): boolean {
  if (tls.certReqs !== 1 || socket.authorized) return false;
  if (socket.getPeerX509Certificate() === undefined) return false;
  socket.destroy();
  return true;
}

const TLS_VERSIONS: Record<string, number> = { 'TLSv1': 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 };

// node names the negotiated suite but gives no number: the IANA numbers of the suites its default list offers.
const CIPHER_SUITES: Record<string, number> = {
  TLS_AES_128_GCM_SHA256: 0x1301,
  TLS_AES_256_GCM_SHA384: 0x1302,
  TLS_CHACHA20_POLY1305_SHA256: 0x1303,
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 0xc02b,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 0xc02c,
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 0xc02f,
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 0xc030,
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca9,
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca8,
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 0x009e,
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 0x009f,
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 0xc027,
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 0xc028,
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 0xc013,
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 0xc014,
};

/** An X.509 subject as node prints it (one `K=V` a line, most significant first) in RFC 4514 form (reversed, comma-separated). */
function rfc4514(subject: string): string {
  return subject
    .split('\n')
    .filter(Boolean)
    .reverse()
    .map((rdn) => {
      const i = rdn.indexOf('=');
      const value = rdn.slice(i + 1).replace(/([,+"\\<>;])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
      return `${rdn.slice(0, i)}=${value}`;
    })
    .join(',');
}

/** The `tls` extension of a TLS connection, read once per connection (its certificates and session do not change). */
export function tlsExtension(socket: TLSSocket, serverCertPem: string | null): TlsExtension {
  const peer = socket.getPeerX509Certificate();
  const chain: string[] = [];
  for (let c = peer, n = 0; c !== undefined && n < 16; n++) {
    chain.push(c.toString());
    const issuer: X509Certificate | undefined = c.issuerCertificate;
    if (issuer === undefined || issuer.fingerprint256 === c.fingerprint256) break;
    c = issuer;
  }
  const cipher = socket.getCipher();
  const protocol = socket.getProtocol();
  const error = socket.authorizationError as unknown;
  return {
    server_cert: serverCertPem,
    client_cert_chain: chain,
    client_cert_name: peer === undefined ? null : rfc4514(peer.subject),
    client_cert_error: peer === undefined || socket.authorized || error === null || error === undefined ? null : String(error),
    tls_version: protocol === null ? null : (TLS_VERSIONS[protocol] ?? null),
    cipher_suite: CIPHER_SUITES[(cipher as { standardName?: string }).standardName ?? ''] ?? null,
  };
}
