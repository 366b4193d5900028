/**
 * The hostile-request corpus: malformed and hostile HTTP/1.1 requests as
 * data, each with the answer a careful server gives. Every entry must be
 * answered with a 4xx (or, where an RFC names another status, that status)
 * or have its connection closed, and must never reach the app: every path
 * in an entry, including a request smuggled inside its body, contains the
 * entry's id, so a request the app records can be traced to its entry.
 *
 * Sources of the shapes: RFC 9112 (§2.2 line endings, §3 request line, §5
 * field syntax and obs-fold, §6.1 and §6.3 Transfer-Encoding/Content-Length,
 * §7.1 chunk sizes), the request-smuggling classes (CL.TE, TE.CL, TE.TE),
 * and what the fuzzer of ./fuzz.ts turns up.
 */

/** One corpus entry. */
export interface HostileRequest {
  /** Stable id, also part of every path the entry sends (to trace it in the app's record). */
  id: string;
  /** The rule the request breaks. */
  why: string;
  /** The bytes sent, as a latin-1 string (one char per byte), or raw bytes. */
  bytes: string | Uint8Array;
  /** Statuses that count as a correct refusal besides closing; default any 4xx. */
  statuses?: readonly number[];
  /** A request with both Content-Length and Transfer-Encoding: if answered, the connection must close (RFC 9112 §6.1). */
  mustClose?: boolean;
}

const CRLF = '\r\n';

/** A request head from its lines (CRLF-terminated) followed by a body. */
function http(lines: string[], body = ''): string {
  return lines.map((l) => l + CRLF).join('') + CRLF + body;
}

/** A body hiding a second request, which must never reach the app. */
const smuggled = (id: string) => `GET /smuggled/${id} HTTP/1.1${CRLF}Host: localhost${CRLF}${CRLF}`;

/** A deterministic pseudo-random byte string (xorshift), for the garbage entries. */
function garbage(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The start of a TLS 1.2/1.3 ClientHello record, as a browser sends it to an https:// URL on this port. */
const TLS_CLIENT_HELLO = Uint8Array.from([
  0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, ...garbage(7, 32), 0x00, 0x00, 0x20, 0xc0, 0x2b,
  0xc0, 0x2f, 0x00, 0x9e, 0xcc, 0xa9, 0xcc, 0xa8, 0x00, 0x2f, 0x00, 0x35, 0x00, 0x0a, 0x01, 0x00, 0x00, 0x58, 0x00,
  0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68, 0x6f, 0x73, 0x74,
]);

const post = (id: string) => `POST /corpus/${id} HTTP/1.1`;
const get = (id: string) => `GET /corpus/${id} HTTP/1.1`;
const HOST = 'Host: localhost';

/** The corpus. */
export const HOSTILE_REQUESTS: readonly HostileRequest[] = [
  // --- Request smuggling: Content-Length and Transfer-Encoding disagreeing (CL.TE / TE.CL).
  {
    id: 'cl-te',
    why: 'Content-Length and Transfer-Encoding together (RFC 9112 §6.1, §6.3 rule 3)',
    bytes: http([post('cl-te'), HOST, 'Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\n' + smuggled('cl-te')),
    mustClose: true,
  },
  {
    id: 'te-cl',
    why: 'Transfer-Encoding before Content-Length, body framed for the Content-Length reader',
    bytes: http([post('te-cl'), HOST, 'Transfer-Encoding: chunked', 'Content-Length: 60'], '5\r\nhello\r\n0\r\n\r\n' + smuggled('te-cl')),
    mustClose: true,
  },
  {
    id: 'cl-te-obfuscated-case',
    why: 'Content-Length with an oddly cased Transfer-Encoding value',
    bytes: http([post('cl-te-obfuscated-case'), HOST, 'Content-Length: 4', 'Transfer-Encoding: ChUnKeD'], '0\r\n\r\n' + smuggled('cl-te-obfuscated-case')),
    mustClose: true,
  },
  // --- Content-Length values (RFC 9112 §6.3 rule 5, RFC 9110 §8.6).
  { id: 'cl-duplicate', why: 'two different Content-Length fields', bytes: http([post('cl-duplicate'), HOST, 'Content-Length: 3', 'Content-Length: 30'], 'abc') },
  { id: 'cl-list', why: 'list-valued Content-Length with different values', bytes: http([post('cl-list'), HOST, 'Content-Length: 3, 30'], 'abc') },
  { id: 'cl-plus', why: 'signed Content-Length (+)', bytes: http([post('cl-plus'), HOST, 'Content-Length: +3'], 'abc') },
  { id: 'cl-minus', why: 'negative Content-Length', bytes: http([post('cl-minus'), HOST, 'Content-Length: -3'], 'abc') },
  { id: 'cl-overflow', why: 'Content-Length past 2^64', bytes: http([post('cl-overflow'), HOST, 'Content-Length: 184467440737095516160'], 'abc') },
  { id: 'cl-hex', why: 'Content-Length in hex', bytes: http([post('cl-hex'), HOST, 'Content-Length: 0x3'], 'abc') },
  { id: 'cl-inner-space', why: 'Content-Length with a space between digits', bytes: http([post('cl-inner-space'), HOST, 'Content-Length: 1 2'], 'abcdefghijkl') },
  { id: 'cl-letters', why: 'Content-Length that is not a number', bytes: http([post('cl-letters'), HOST, 'Content-Length: abc'], 'abc') },
  // --- Transfer-Encoding values (RFC 9112 §6.1, §6.3 rule 4, §7).
  {
    id: 'te-not-final-chunked',
    why: 'request Transfer-Encoding whose final coding is not chunked: 400 and close (RFC 9112 §6.3 rule 4)',
    bytes: http([post('te-not-final-chunked'), HOST, 'Transfer-Encoding: gzip'], 'abc'),
  },
  {
    id: 'te-unknown-coding',
    why: 'an unknown transfer coding before chunked (RFC 9112 §6.1: 501 for a coding the server does not understand)',
    bytes: http([post('te-unknown-coding'), HOST, 'Transfer-Encoding: foo, chunked'], '3\r\nabc\r\n0\r\n\r\n'),
    statuses: [501],
  },
  { id: 'te-chunked-twice', why: 'chunked applied twice (RFC 9112 §6.1: chunked MUST NOT be applied more than once)', bytes: http([post('te-chunked-twice'), HOST, 'Transfer-Encoding: chunked, chunked'], '3\r\nabc\r\n0\r\n\r\n') },
  { id: 'te-two-fields', why: 'two Transfer-Encoding fields (TE.TE), chunked then identity', bytes: http([post('te-two-fields'), HOST, 'Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], '3\r\nabc\r\n0\r\n\r\n') },
  { id: 'te-xchunked', why: 'a coding that only looks like chunked', bytes: http([post('te-xchunked'), HOST, 'Transfer-Encoding: xchunked'], '3\r\nabc\r\n0\r\n\r\n') },
  { id: 'te-space-before-colon', why: 'whitespace between the field name and the colon (RFC 9112 §5.1: MUST reject with 400)', bytes: http([post('te-space-before-colon'), HOST, 'Transfer-Encoding : chunked'], '3\r\nabc\r\n0\r\n\r\n') },
  // --- Chunk framing (RFC 9112 §7.1).
  { id: 'chunk-size-not-hex', why: 'chunk size that is not hex', bytes: http([post('chunk-size-not-hex'), HOST, 'Transfer-Encoding: chunked'], 'zz\r\nabc\r\n0\r\n\r\n') },
  { id: 'chunk-size-overflow', why: 'chunk size past 2^64', bytes: http([post('chunk-size-overflow'), HOST, 'Transfer-Encoding: chunked'], '1ffffffffffffffff1\r\nabc\r\n0\r\n\r\n') },
  { id: 'chunk-size-negative', why: 'negative chunk size', bytes: http([post('chunk-size-negative'), HOST, 'Transfer-Encoding: chunked'], '-3\r\nabc\r\n0\r\n\r\n') },
  { id: 'chunk-missing-crlf', why: 'chunk data longer than its size (no CRLF where it must be)', bytes: http([post('chunk-missing-crlf'), HOST, 'Transfer-Encoding: chunked'], '3\r\nabcdef\r\n0\r\n\r\n') },
  { id: 'chunk-bare-lf', why: 'chunk size line ended by a bare LF', bytes: http([post('chunk-bare-lf'), HOST, 'Transfer-Encoding: chunked'], '3\nabc\r\n0\r\n\r\n') },
  // --- Line endings and folding (RFC 9112 §2.2, §5.2).
  { id: 'bare-lf-headers', why: 'header lines ended by a bare LF', bytes: `GET /corpus/bare-lf-headers HTTP/1.1\r\nHost: localhost\nX-A: b\r\n\r\n` },
  { id: 'bare-cr', why: 'a bare CR inside the head (RFC 9112 §2.2: MUST be rejected or replaced)', bytes: `GET /corpus/bare-cr HTTP/1.1\r\nHost: localhost\r\nX-A: a\rX-B: b\r\n\r\n` },
  { id: 'obs-fold', why: 'obs-fold line folding (RFC 9112 §5.2: a server MUST reject it or unfold it; tsgi rejects)', bytes: http([get('obs-fold'), HOST, 'X-Folded: a', ' b']) },
  { id: 'leading-whitespace-header', why: 'whitespace before the first header line (RFC 9112 §2.2)', bytes: http([get('leading-whitespace-header'), ' X-A: b', HOST]) },
  // --- Tokens (RFC 9110 §5.6.2, §9.1).
  { id: 'method-bad-token', why: 'a method with a character outside tchar', bytes: http(['G(T /corpus/method-bad-token HTTP/1.1', HOST]) },
  { id: 'method-nul', why: 'NUL in the method', bytes: http(['GE\x00T /corpus/method-nul HTTP/1.1', HOST]) },
  { id: 'header-name-space', why: 'a space inside a field name', bytes: http([get('header-name-space'), HOST, 'Bad Name: x']) },
  { id: 'header-name-ctl', why: 'a control character in a field name', bytes: http([get('header-name-ctl'), HOST, 'X-\x01A: x']) },
  { id: 'header-name-separator', why: 'a separator character in a field name', bytes: http([get('header-name-separator'), HOST, 'X(A): x']) },
  { id: 'header-name-empty', why: 'an empty field name', bytes: http([get('header-name-empty'), HOST, ': x']) },
  { id: 'header-no-colon', why: 'a header line without a colon', bytes: http([get('header-no-colon'), HOST, 'X-A b']) },
  { id: 'value-nul', why: 'NUL in a field value (RFC 9110 §5.5: MUST reject or replace)', bytes: http([get('value-nul'), HOST, 'X-A: a\x00b']) },
  { id: 'value-ctl', why: 'a control character (0x01) in a field value', bytes: http([get('value-ctl'), HOST, 'X-A: a\x01b']) },
  { id: 'target-space', why: 'a space inside the request target', bytes: http(['GET /corpus/target space HTTP/1.1', HOST]) },
  { id: 'target-ctl', why: 'a control character in the request target', bytes: http(['GET /corpus/target-ctl\x01 HTTP/1.1', HOST]) },
  // --- Host (RFC 9112 §3.2: 400 for a missing Host, more than one, or an invalid one).
  { id: 'host-missing', why: 'no Host field in HTTP/1.1', bytes: http([get('host-missing')]) },
  { id: 'host-twice', why: 'two Host fields', bytes: http([get('host-twice'), HOST, 'Host: evil.example']) },
  // --- Sizes.
  { id: 'huge-request-line', why: 'a 100 KiB request target', bytes: http([`GET /corpus/huge-request-line?${'a'.repeat(100 * 1024)} HTTP/1.1`, HOST]) },
  { id: 'huge-header-value', why: 'one 100 KiB header value', bytes: http([get('huge-header-value'), HOST, `X-Big: ${'b'.repeat(100 * 1024)}`]) },
  { id: 'huge-header-block', why: '1,000 header fields of 100 bytes', bytes: http([get('huge-header-block'), HOST, ...Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${'c'.repeat(92)}`)]) },
  // --- Versions.
  { id: 'version-2', why: 'HTTP/2.0 in an HTTP/1 request line (505 names it exactly)', bytes: http(['GET /corpus/version-2 HTTP/2.0', HOST]), statuses: [505] },
  { id: 'version-9', why: 'HTTP/9.9', bytes: http(['GET /corpus/version-9 HTTP/9.9', HOST]), statuses: [505] },
  { id: 'version-garbage', why: 'a version that is not HTTP/x.y', bytes: http(['GET /corpus/version-garbage HTTP/1.1.1', HOST]), statuses: [505] },
  { id: 'version-lowercase', why: 'a lower-case protocol name (RFC 9112 §2.3: case-sensitive)', bytes: http(['GET /corpus/version-lowercase http/1.1', HOST]), statuses: [505] },
  { id: 'version-missing', why: 'an HTTP/0.9-style request line without a version', bytes: http(['GET /corpus/version-missing', HOST]), statuses: [505] },
  { id: 'h2-preface', why: 'the HTTP/2 prior-knowledge preface on an HTTP/1.1 port', bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', statuses: [505] },
  // --- Not HTTP at all.
  { id: 'tls-client-hello', why: 'a TLS ClientHello on the plain port', bytes: TLS_CLIENT_HELLO },
  { id: 'binary-garbage', why: '4 KiB of random bytes', bytes: garbage(42, 4096) },
  { id: 'nul-bytes', why: '1 KiB of NUL bytes', bytes: new Uint8Array(1024) },
];

/** The bytes of an entry. */
export function bytesOf(entry: HostileRequest): Uint8Array {
  return typeof entry.bytes === 'string' ? Buffer.from(entry.bytes, 'latin1') : entry.bytes;
}
