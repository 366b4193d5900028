/**
 * Byte strings: where Python has `bytes` in headers,
 * `raw_path` and `query_string`, and where PEP 3333 has latin-1 "native
 * strings", tsgi uses JS strings whose code units are all <= 0xFF, one char
 * per byte. Bodies are Uint8Array. These helpers convert and validate.
 */

/** A JS string whose every code unit is <= 0xFF: one char per byte (latin-1). */
export type ByteString = string;

// Any code unit above 0xFF makes a string unusable as a byte string.
const NON_LATIN1 = /[^\u0000-\u00ff]/;

/** True when every char of `s` is <= 0xFF, so it maps 1:1 to bytes. */
export function isByteString(s: unknown): s is ByteString {
  return typeof s === 'string' && !NON_LATIN1.test(s);
}

/** Throws a TypeError naming `what` when `s` is not a byte string; never mangles silently. */
export function assertByteString(s: unknown, what: string): asserts s is ByteString {
  if (typeof s !== 'string') {
    throw new TypeError(`${what} must be a byte string (string of chars <= 0xFF); got ${describe(s)}`);
  }
  const m = NON_LATIN1.exec(s);
  if (m) {
    const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new TypeError(`${what} must be a byte string (chars <= 0xFF); got U+${code} at index ${m.index} in ${JSON.stringify(s)}`);
  }
}

/** Bytes of a byte string (latin-1 encode). Throws on chars > 0xFF. */
export function latin1ToBytes(s: ByteString): Uint8Array {
  assertByteString(s, 'value');
  return Buffer.from(s, 'latin1');
}

/** Byte string of some bytes (latin-1 decode); lossless for every byte. */
export function bytesToLatin1(b: Uint8Array): ByteString {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Joins byte chunks into one Uint8Array (`total`: their length, when the caller kept count); no copy when there is just one. */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let size = total ?? 0;
  if (total === undefined) for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** UTF-8 bytes re-read as a byte string: how a Unicode path becomes PEP 3333's "native string". */
export function utf8ToLatin1(s: string): ByteString {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** The Unicode text whose UTF-8 bytes are the given byte string (inverse of utf8ToLatin1). */
export function latin1ToUtf8(s: ByteString): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

// RFC 9110 token: header field names and methods.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True for an RFC 9110 token (header names, methods). */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

// RFC 9110 field-value: visible chars, obs-text (0x80-0xFF), SP and HTAB; never CR, LF or NUL.
const FIELD_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;

/** True for a header value that can go on the wire as is (no CR, LF, NUL or other controls). */
export function isHeaderValue(s: string): boolean {
  return FIELD_VALUE.test(s);
}

/** Short, safe description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 77) + '...' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.byteLength})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  const name = (v as object).constructor?.name;
  return name ? `${name} object` : 'object';
}
