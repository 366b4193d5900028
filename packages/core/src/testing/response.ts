/**
 * The response both test clients hand back: status, headers, the whole body
 * and its chunks as the app produced them, so a test can check streaming as
 * well as content.
 */
import { bytesToLatin1, concatBytes, type ByteString } from '../bytes.js';

/** Response headers in the order the app sent them, with case-insensitive lookup. */
export class ResponseHeaders implements Iterable<[ByteString, ByteString]> {
  /** The pairs exactly as the app sent them (ASGI names are lower-case; WSGI names keep their case). */
  readonly raw: ReadonlyArray<readonly [ByteString, ByteString]>;

  constructor(raw: ReadonlyArray<readonly [ByteString, ByteString]>) {
    this.raw = raw;
  }

  /** Every value of `name` (any case), joined with ", "; null when absent. */
  get(name: string): ByteString | null {
    const all = this.getAll(name);
    return all.length === 0 ? null : all.join(', ');
  }

  /** Every value of `name` (any case), in order; for headers that must not be joined, like set-cookie. */
  getAll(name: string): ByteString[] {
    const wanted = name.toLowerCase();
    const out: ByteString[] = [];
    for (const [n, v] of this.raw) if (n.toLowerCase() === wanted) out.push(v);
    return out;
  }

  /** True when `name` (any case) is present. */
  has(name: string): boolean {
    const wanted = name.toLowerCase();
    return this.raw.some(([n]) => n.toLowerCase() === wanted);
  }

  /** The pairs, lower-cased names; what `toEqual` compares in tests. */
  *[Symbol.iterator](): Iterator<[ByteString, ByteString]> {
    for (const [n, v] of this.raw) yield [n.toLowerCase(), v];
  }

  /** A plain object (lower-case names, duplicates joined with ", "), handy in assertions. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [n, v] of this) out[n] = n in out ? `${out[n]}, ${v}` : v;
    return out;
  }
}

/** What a test client returns for one request. */
export interface TestResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The whole body. */
  readonly body: Uint8Array;
  /** The non-empty body chunks, one per http.response.body event (ASGI) or per iterated/written chunk (WSGI). */
  readonly chunks: readonly Uint8Array[];
  /** The body decoded as UTF-8. */
  text(): string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

const decoder = new TextDecoder();

/** Base of the concrete responses: the decoding helpers over `body`. */
export class BaseTestResponse implements TestResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Uint8Array;
  readonly chunks: readonly Uint8Array[];

  constructor(status: number, headers: ResponseHeaders, chunks: readonly Uint8Array[]) {
    this.status = status;
    this.headers = headers;
    this.chunks = chunks;
    this.body = concatBytes(chunks);
  }

  text(): string {
    return decoder.decode(this.body);
  }

  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** The body as a byte string (latin-1), for byte-exact comparisons in tests. */
  latin1(): ByteString {
    return bytesToLatin1(this.body);
  }
}

/** The response ended early: the app returned or failed after starting it, and a server would close the connection. */
export class IncompleteResponseError extends Error {
  override name = 'IncompleteResponseError';
}

/** The body of the 500 a server sends when the app fails before responding: generic, nothing of the error leaks. */
export const INTERNAL_ERROR_BODY: Uint8Array = new TextEncoder().encode('Internal Server Error');

/** The headers of that 500. */
export const INTERNAL_ERROR_HEADERS: ReadonlyArray<readonly [ByteString, ByteString]> = [
  ['content-type', 'text/plain; charset=utf-8'],
  ['content-length', String(INTERNAL_ERROR_BODY.byteLength)],
];
