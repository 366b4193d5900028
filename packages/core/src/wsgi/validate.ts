/**
 * validateWsgi(app): middleware that checks both sides of every WSGI-TS
 * interaction against spec/wsgi.md, as Python's wsgiref.validate does for
 * PEP 3333. It sits between a server and an app and wraps everything that
 * crosses between them: the environ (with wsgi.input, wsgi.errors and
 * wsgi.file_wrapper), start_response, write() and the response iterable.
 *
 * A violation throws a WsgiValidationError (a ProtocolError) naming the
 * clause and the side that broke it (wsgi.validate.error.1), thrown to
 * whoever made the call, so it surfaces at the bug.
 */
import { isUint8Array } from 'node:util/types';
import { ProtocolError, isProtocolError } from '../errors.js';
import { checkBodyChunk, checkEnviron, checkResponseHeaders, checkStatus } from './checks.js';
import type {
  FileLike,
  FileWrapper,
  StartResponse,
  WriteCallable,
  WsgiApplication,
  WsgiEnviron,
  WsgiErrors,
  WsgiInput,
  WsgiResponse,
} from './types.js';

/** Who broke a rule: the app or the server calling it. */
type Side = 'app' | 'server';

/** A ProtocolError raised by validateWsgi, telling whether the app or the server broke the rule (wsgi.validate.error.1). */
export class WsgiValidationError extends ProtocolError {
  override name = 'WsgiValidationError';
  readonly side: Side;
  constructor(side: Side, clause: string, message: string, value?: unknown, hasValue = arguments.length >= 4) {
    super(clause, `${side}: ${message}`, value, hasValue);
    this.side = side;
  }
}

/** Options of validateWsgi. */
export interface ValidateWsgiOptions {
  /**
   * Receives violations that no call can throw: a response garbage-collected
   * without close() (wsgi.validate.close.1). Defaults to a process warning.
   */
  report?: (error: ProtocolError) => void;
}

/** A validated app: a WSGI-TS app plus a check for responses the server never closed. */
export interface ValidatedWsgiApp extends WsgiApplication {
  /**
   * Throws a ProtocolError (wsgi.response.close.1) naming every response this
   * app handed to the server that has not been closed yet, then forgets them.
   * Call it once the server is done with every request (e.g. in a test's afterEach).
   */
  assertClosed(): void;
}

/** A rule broken by `side`; `value` is the offending value when there is one. */
function violation(side: Side, clause: string, message: string, ...value: [unknown?]): WsgiValidationError {
  return value.length > 0 ? new WsgiValidationError(side, clause, message, value[0]) : new WsgiValidationError(side, clause, message);
}

/** Runs a check from checks.ts and tags its ProtocolError with the side that broke the rule. */
function blame<T>(side: Side, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!isProtocolError(e)) throw e;
    // The check's message already ends with the offending value: do not append it twice.
    throw new WsgiValidationError(side, e.clause, e.message.slice(`[${e.clause}] `.length), e.value, false);
  }
}

function isOptionalInteger(v: unknown): boolean {
  return v === undefined || Number.isSafeInteger(v);
}

/** What the validator knows about one call of the app. */
class CallState {
  /** start_response has returned normally at least once. */
  started = false;
  /**
   * Whether the headers are out: 'yes' once a non-empty chunk was yielded to or
   * written through the server; 'maybe' after only empty write() calls, which
   * a server may or may not treat as the start of the body (wsgi.write.headers.1).
   */
  headersSent: 'no' | 'maybe' | 'yes' = 'no';
  /** The server rethrew exc_info from start_response; the app must let it propagate. */
  reraised = false;
  /** The response's close() has been called. */
  closed = false;
  /** The server has asked for the response's iterator. */
  iterated = false;
  constructor(readonly label: string) {}
}

/**
 * Wraps a WSGI-TS app so that every interaction between it and its server is
 * checked against spec/wsgi.md; use it in tests, in development, and in the
 * conformance suite. Violations throw ProtocolErrors naming the clause.
 */
export function validateWsgi(app: WsgiApplication, options: ValidateWsgiOptions = {}): ValidatedWsgiApp {
  if (typeof app !== 'function') {
    throw violation('app', 'wsgi.app.callable.1', 'a WSGI-TS app must be a function (environ, start_response)', app);
  }
  const report = options.report ?? ((e: ProtocolError) => process.emitWarning(e));
  // Calls whose response has not been closed yet. Holding the state (not the
  // response) lets an abandoned response be garbage-collected and reported.
  const open = new Set<CallState>();
  const finalizer = new FinalizationRegistry<CallState>((state) => {
    if (state.closed || !open.delete(state)) return;
    report(violation('server', 'wsgi.response.close.1', `the response of ${state.label} was garbage-collected without close()`));
  });

  const validated = function validatedWsgiApp(environ: WsgiEnviron, startResponse: StartResponse): WsgiResponse {
    if (arguments.length !== 2) {
      throw violation('server', 'wsgi.app.call.1', 'the app must be called with exactly two arguments (environ, start_response)', arguments.length);
    }
    blame('server', () => checkEnviron(environ));
    if (typeof startResponse !== 'function') {
      throw violation('server', 'wsgi.app.call.1', 'start_response must be a function', startResponse);
    }
    const state = new CallState(`${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}${environ.PATH_INFO}`);
    const result: unknown = app(wrapEnviron(environ), wrapStartResponse(startResponse, state));
    if (state.reraised) {
      throw violation('app', 'wsgi.start_response.exc_info.5', 'the app caught the error start_response rethrew and returned normally');
    }
    const response = checkResponse(result);
    const wrapper = new ValidatedResponse(response, state);
    open.add(state);
    finalizer.register(wrapper, state, wrapper);
    wrapper.onClose = () => {
      open.delete(state);
      finalizer.unregister(wrapper);
    };
    return wrapper;
  } as ValidatedWsgiApp;

  validated.assertClosed = () => {
    if (open.size === 0) return;
    const labels = [...open].map((s) => s.label);
    open.clear();
    throw violation('server', 'wsgi.response.close.1', `close() was never called on ${labels.length} response(s): ${labels.join(', ')}`);
  };
  return validated;
}

/** Checks what the app returned: a sync iterable, not a Promise, string or bare Uint8Array. */
function checkResponse(result: unknown): WsgiResponse {
  if (typeof result === 'string' || isUint8Array(result)) {
    throw violation('app', 'wsgi.app.return.2', 'the app must not return a string or a bare Uint8Array; return [chunk]', result);
  }
  if (typeof result !== 'object' || result === null) {
    throw violation('app', 'wsgi.app.return.1', 'the app must return a sync iterable of Uint8Array', result);
  }
  if (typeof (result as PromiseLike<unknown>).then === 'function') {
    throw violation('app', 'wsgi.app.callable.1', 'the app returned a Promise: a WSGI-TS app is synchronous (an async function is an ASGI-TS app)', result);
  }
  if (typeof (result as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw violation('app', 'wsgi.app.return.1', 'the app must return a sync iterable of Uint8Array', result);
  }
  const close: unknown = (result as { close?: unknown }).close;
  if (close !== undefined && typeof close !== 'function') {
    throw violation('app', 'wsgi.response.close.3', "the response's close must be a method", close);
  }
  return result as WsgiResponse;
}

/** The response as the server sees it: checks each chunk, iteration after close, and close() exactly once. */
class ValidatedResponse implements Iterable<Uint8Array> {
  /** Set by validateWsgi: forgets the response once closed. */
  onClose: () => void = () => {};
  constructor(
    private readonly inner: WsgiResponse,
    private readonly state: CallState,
  ) {}

  [Symbol.iterator](): Iterator<Uint8Array> {
    const state = this.state;
    if (state.closed) throw violation('server', 'wsgi.response.close.2', 'the server iterated the response after close()');
    if (state.iterated) throw violation('server', 'wsgi.response.iterate.1', 'the server must iterate the response only once');
    state.iterated = true;
    return new ValidatedIterator(this.inner[Symbol.iterator](), state);
  }

  close(): void {
    const state = this.state;
    if (state.closed) throw violation('server', 'wsgi.response.close.1', 'the server called close() a second time');
    state.closed = true;
    this.onClose();
    this.inner.close?.();
  }
}

/** The response's iterator: every item a Uint8Array, start_response called in time, nothing after close. */
class ValidatedIterator implements Iterator<Uint8Array> {
  constructor(
    private readonly inner: Iterator<unknown>,
    private readonly state: CallState,
  ) {}

  next(): IteratorResult<Uint8Array> {
    const state = this.state;
    if (state.closed) throw violation('server', 'wsgi.response.close.2', 'the server asked for a chunk after close()');
    const r: unknown = this.inner.next();
    if (state.reraised) {
      throw violation('app', 'wsgi.start_response.exc_info.5', 'the iterable caught the error start_response rethrew and went on');
    }
    if (typeof r !== 'object' || r === null) {
      throw violation('app', 'wsgi.app.return.1', "the response iterator's next() must return an iterator result object", r);
    }
    const result = r as IteratorResult<unknown>;
    if (result.done) {
      if (!state.started) {
        throw violation('app', 'wsgi.start_response.before_body.1', 'the response iterable ended before start_response was called');
      }
      return result as IteratorReturnResult<undefined>;
    }
    const chunk = blame('app', () => checkBodyChunk(result.value));
    if (chunk.byteLength > 0) {
      if (!state.started) {
        throw violation('app', 'wsgi.start_response.before_body.1', 'the response iterable yielded a non-empty chunk before start_response was called', chunk);
      }
      state.headersSent = 'yes';
    }
    return result as IteratorYieldResult<Uint8Array>;
  }

  return(value?: unknown): IteratorResult<Uint8Array> {
    // Stopping early runs a generator's finally blocks (wsgi.response.close.4).
    this.inner.return?.(value);
    return { done: true, value: undefined };
  }
}

/** start_response as the app sees it: argument and call-order checks, and the server's exc_info duty. */
function wrapStartResponse(server: StartResponse, state: CallState): StartResponse {
  return function validatedStartResponse(status: string, headers, excInfo?: unknown): WriteCallable {
    const argc = arguments.length;
    if (argc !== 2 && argc !== 3) {
      throw violation('app', 'wsgi.start_response.args.1', 'start_response takes two or three arguments (status, headers, exc_info?)', argc);
    }
    blame('app', () => checkStatus(status));
    blame('app', () => checkResponseHeaders(headers));
    const hasExcInfo = excInfo !== undefined && excInfo !== null;
    if (state.started && !hasExcInfo) {
      throw violation('app', 'wsgi.start_response.once.1', 'start_response was called a second time without exc_info', status);
    }
    let write: unknown;
    try {
      write = argc === 2 ? server(status, headers) : server(status, headers, excInfo);
    } catch (thrown) {
      if (hasExcInfo && thrown === excInfo && state.headersSent !== 'no') {
        state.reraised = true;
      } else if (hasExcInfo && state.headersSent === 'yes') {
        throw violation('server', 'wsgi.start_response.exc_info.3', 'start_response must rethrow the exc_info value itself', thrown);
      } else if (hasExcInfo) {
        throw violation('server', 'wsgi.start_response.exc_info.4', 'start_response threw on exc_info before headers were sent', thrown);
      }
      throw thrown;
    }
    if (hasExcInfo && state.headersSent === 'yes') {
      throw violation('server', 'wsgi.start_response.exc_info.2', 'start_response returned although exc_info was given after headers were sent', excInfo);
    }
    if (typeof write !== 'function') {
      throw violation('server', 'wsgi.start_response.return.1', 'start_response must return the write() callable', write);
    }
    state.started = true;
    return wrapWrite(write as WriteCallable, state);
  };
}

/** write() as the app sees it: one Uint8Array argument; a non-empty one sends the headers. */
function wrapWrite(server: WriteCallable, state: CallState): WriteCallable {
  return function validatedWrite(data: Uint8Array): void {
    if (arguments.length !== 1) {
      throw violation('app', 'wsgi.write.chunk.1', 'write() takes exactly one argument', arguments.length);
    }
    blame('app', () => checkBodyChunk(data, 'wsgi.write.chunk.1'));
    if (state.closed) {
      throw violation('app', 'wsgi.write.start.1', 'write() was called after the response was closed', data);
    }
    server(data);
    if (data.byteLength > 0) state.headersSent = 'yes';
    else if (state.headersSent === 'no') state.headersSent = 'maybe';
  };
}

/** A copy of the environ whose wsgi.input, wsgi.errors and wsgi.file_wrapper check their calls. */
function wrapEnviron(environ: WsgiEnviron): WsgiEnviron {
  const limit = environ.CONTENT_LENGTH === undefined ? null : Number(environ.CONTENT_LENGTH);
  const copy: WsgiEnviron = {
    ...environ,
    'wsgi.input': new ValidatedInput(environ['wsgi.input'], limit),
    'wsgi.errors': new ValidatedErrors(environ['wsgi.errors']),
  };
  const fileWrapper = environ['wsgi.file_wrapper'];
  if (fileWrapper !== undefined) copy['wsgi.file_wrapper'] = wrapFileWrapper(fileWrapper);
  return copy;
}

// A line as wsgi.input returns it: no LF except, optionally, as its last byte.
function isOneLine(b: Uint8Array): boolean {
  const lf = b.indexOf(10);
  return lf === -1 || lf === b.byteLength - 1;
}

/** wsgi.input as the app sees it: argument types on the app's side, results and CONTENT_LENGTH on the server's. */
class ValidatedInput implements WsgiInput {
  private total = 0;
  /** The server has reported the end of the body (an empty result where bytes were asked for). */
  private ended = false;
  constructor(
    private readonly inner: WsgiInput,
    private readonly limit: number | null,
  ) {}

  read(size?: number): Uint8Array {
    this.checkArgs('read', arguments.length, size);
    const b = arguments.length === 0 ? this.inner.read() : this.inner.read(size);
    if (!isUint8Array(b)) throw violation('server', 'wsgi.input.read.1', 'wsgi.input.read() must return a Uint8Array', b);
    const all = size === undefined || size < 0;
    if (!all && b.byteLength > size) {
      throw violation('server', 'wsgi.input.read.1', `wsgi.input.read(${size}) returned more than ${size} bytes`, b);
    }
    if (all && this.limit !== null && this.total + b.byteLength < this.limit) {
      const left = this.limit - this.total;
      throw violation('server', 'wsgi.input.read.1', `wsgi.input.read() must return all ${left} bytes CONTENT_LENGTH leaves`, b);
    }
    return this.count(b, 'wsgi.input.read.1', all || size > 0);
  }

  readline(size?: number): Uint8Array {
    this.checkArgs('readline', arguments.length, size);
    const b = arguments.length === 0 ? this.inner.readline() : this.inner.readline(size);
    return this.count(this.checkLine(b, 'wsgi.input.readline.1', size), 'wsgi.input.readline.1', size !== 0);
  }

  readlines(hint?: number): Uint8Array[] {
    this.checkArgs('readlines', arguments.length, hint);
    const lines: unknown = arguments.length === 0 ? this.inner.readlines() : this.inner.readlines(hint);
    if (!Array.isArray(lines)) throw violation('server', 'wsgi.input.readlines.1', 'wsgi.input.readlines() must return an Array', lines);
    for (const line of lines) this.count(this.checkLine(line, 'wsgi.input.readlines.1'), 'wsgi.input.readlines.1', false);
    return lines as Uint8Array[];
  }

  *[Symbol.iterator](): Iterator<Uint8Array> {
    for (const line of this.inner) yield this.count(this.checkLine(line, 'wsgi.input.iter.1'), 'wsgi.input.iter.1', false);
  }

  /** The app must not close the server's input stream. */
  close(): never {
    throw violation('app', 'wsgi.input.close.1', 'the app must not call close() on wsgi.input');
  }

  private checkArgs(method: string, argc: number, arg: unknown): void {
    if (argc > 1 || !isOptionalInteger(arg)) {
      throw violation('app', 'wsgi.input.args.1', `wsgi.input.${method}() takes one optional integer`, argc > 1 ? argc : arg);
    }
  }

  private checkLine(b: unknown, clause: string, size?: number): Uint8Array {
    if (!isUint8Array(b)) throw violation('server', clause, 'a line of wsgi.input must be a Uint8Array', b);
    if (!isOneLine(b)) throw violation('server', clause, 'a line of wsgi.input must end at its first LF', b);
    if (size !== undefined && size >= 0 && b.byteLength > size) {
      throw violation('server', clause, `wsgi.input.readline(${size}) returned more than ${size} bytes`, b);
    }
    return b;
  }

  /**
   * Adds a result to the bytes read: never past CONTENT_LENGTH, nothing after
   * the end was reported. `askedForBytes` is false where an empty result is
   * not an end-of-body report (read(0), readline(0), a line list).
   */
  private count(b: Uint8Array, clause: string, askedForBytes: boolean): Uint8Array {
    if (b.byteLength === 0) {
      if (askedForBytes) this.ended = true;
      return b;
    }
    if (this.ended) throw violation('server', clause, 'wsgi.input returned bytes after it had reported the end of the body', b);
    this.total += b.byteLength;
    if (this.limit !== null && this.total > this.limit) {
      throw violation('server', 'wsgi.input.eof.1', `wsgi.input returned ${this.total} bytes, more than CONTENT_LENGTH ${this.limit}`, b);
    }
    return b;
  }
}

/** wsgi.errors as the app sees it: text only, and never closed by the app. */
class ValidatedErrors implements WsgiErrors {
  constructor(private readonly inner: WsgiErrors) {}

  write(s: string): void {
    if (arguments.length !== 1 || typeof s !== 'string') {
      throw violation('app', 'wsgi.errors.write.1', 'wsgi.errors.write() takes one string', s);
    }
    this.inner.write(s);
  }

  writelines(lines: Iterable<string>): void {
    if (arguments.length !== 1 || typeof lines !== 'object' || lines === null || typeof lines[Symbol.iterator] !== 'function') {
      throw violation('app', 'wsgi.errors.write.1', 'wsgi.errors.writelines() takes one iterable of strings', lines);
    }
    const all = Array.from(lines as Iterable<unknown>);
    for (const line of all) {
      if (typeof line !== 'string') throw violation('app', 'wsgi.errors.write.1', 'wsgi.errors.writelines() takes strings only', line);
    }
    this.inner.writelines(all as string[]);
  }

  flush(): void {
    if (arguments.length !== 0) throw violation('app', 'wsgi.errors.write.1', 'wsgi.errors.flush() takes no argument', arguments.length);
    this.inner.flush();
  }

  /** The app must not close the server's log stream. */
  close(): never {
    throw violation('app', 'wsgi.errors.close.1', 'the app must not call close() on wsgi.errors');
  }
}

/** wsgi.file_wrapper as the app sees it: a FileLike and block size in, an iterable out. */
function wrapFileWrapper(server: FileWrapper): FileWrapper {
  return function validatedFileWrapper(file: FileLike, blockSize?: number): WsgiResponse {
    const f = file as unknown as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null || typeof f.read !== 'function') {
      throw violation('app', 'wsgi.file_wrapper.file.1', 'wsgi.file_wrapper takes a file-like object with read(size)', file);
    }
    for (const method of ['close', 'fileno']) {
      if (f[method] !== undefined && typeof f[method] !== 'function') {
        throw violation('app', 'wsgi.file_wrapper.file.1', `the file-like object's ${method} must be a method`, f[method]);
      }
    }
    if (blockSize !== undefined && !(Number.isSafeInteger(blockSize) && blockSize > 0)) {
      throw violation('app', 'wsgi.file_wrapper.block_size.1', 'the block size of wsgi.file_wrapper must be a positive integer', blockSize);
    }
    const result: unknown = arguments.length < 2 ? server(file) : server(file, blockSize);
    if (typeof result !== 'object' || result === null || typeof (result as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw violation('server', 'wsgi.file_wrapper.result.1', 'wsgi.file_wrapper must return a sync iterable', result);
    }
    return result as WsgiResponse;
  };
}
