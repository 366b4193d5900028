/**
 * WSGI-TS types: the synchronous callable of PEP 3333. Environ keys are
 * exactly PEP 3333's; "native strings" are latin-1 byte
 * strings and body chunks are Uint8Array.
 */
import type { ByteString } from '../bytes.js';

/** `environ['wsgi.input']`: a blocking reader of the request body. */
export interface WsgiInput extends Iterable<Uint8Array> {
  /** Up to `size` bytes (all remaining when omitted or negative); empty at the end. Blocks until data arrives. */
  read(size?: number): Uint8Array;
  /** One line, LF included, or at most `size` bytes of it; empty at the end. */
  readline(size?: number): Uint8Array;
  /** The remaining lines; stops once `hint` bytes have been read when given. */
  readlines(hint?: number): Uint8Array[];
}

/** `environ['wsgi.errors']`: a text stream that goes to the server log. */
export interface WsgiErrors {
  write(s: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/** A readable file-like object, as `wsgi.file_wrapper` takes it. */
export interface FileLike {
  read(size: number): Uint8Array;
  close?(): void;
  /** An OS file descriptor, when the object wraps one; lets the server stream it natively. */
  fileno?(): number;
}

/** `environ['wsgi.file_wrapper']`: turns a file-like object into a response iterable. */
export type FileWrapper = (file: FileLike, blockSize?: number) => WsgiResponse;

/** The `write()` callable returned by start_response (legacy, unbuffered). */
export type WriteCallable = (data: Uint8Array) => void;

/** Response headers: [name, value] pairs of byte strings, names in any case. */
export type WsgiHeaders = Array<[ByteString, ByteString]>;

/**
 * `start_response(status, response_headers, exc_info?)`. `exc_info` is the
 * caught error; when given and headers were already sent, it is rethrown.
 */
export type StartResponse = (status: ByteString, headers: WsgiHeaders, excInfo?: unknown) => WriteCallable;

/** The response: any sync iterable of byte chunks, optionally with `close()`. */
export type WsgiResponse = Iterable<Uint8Array> & { close?(): void };

/** The CGI keys and `wsgi.*` keys of PEP 3333; HTTP_* and extension keys via the index signature. */
export interface WsgiEnviron {
  REQUEST_METHOD: ByteString;
  SCRIPT_NAME: ByteString;
  PATH_INFO: ByteString;
  QUERY_STRING: ByteString;
  CONTENT_TYPE?: ByteString;
  CONTENT_LENGTH?: ByteString;
  SERVER_NAME: ByteString;
  SERVER_PORT: ByteString;
  SERVER_PROTOCOL: ByteString;
  REMOTE_ADDR?: ByteString;
  REMOTE_PORT?: ByteString;
  'wsgi.version': readonly [1, 0];
  'wsgi.url_scheme': 'http' | 'https' | (string & {});
  'wsgi.input': WsgiInput;
  'wsgi.errors': WsgiErrors;
  'wsgi.multithread': boolean;
  'wsgi.multiprocess': boolean;
  'wsgi.run_once': boolean;
  'wsgi.file_wrapper'?: FileWrapper;
  /** True when reading wsgi.input to the end is safe even without CONTENT_LENGTH. */
  'wsgi.input_terminated'?: boolean;
  [key: string]: unknown;
}

/** A WSGI-TS application. */
export type WsgiApplication = (environ: WsgiEnviron, startResponse: StartResponse) => WsgiResponse;
