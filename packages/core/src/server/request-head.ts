/**
 * The rules of a request head that every server applies after its parser,
 * fed one header field at a time as h11 does, so the same malformed head
 * gets the same answer from every server: RFC 9112's framing rules for
 * Content-Length and Transfer-Encoding, one Host, no empty field names, a
 * bounded head. What is left for the app is the framing of the body.
 */

/** A request head refused before the app runs: the status to answer and the rule broken, with the value that broke it. */
export interface HeadFault {
  status: 400 | 408 | 431 | 501 | 505;
  reason: string;
}

/**
 * The largest request head (request line and header fields) accepted by
 * default, in bytes: node:http's default and h11's (so uvicorn's); the
 * h11MaxIncompleteEventSize option changes it.
 */
export const MAX_HEAD_BYTES = 16 * 1024;

/** Checks one request head; reuse it for the next by calling begin(). */
export class HeadRules {
  /** Content-Length, or -1 when absent (or refused). */
  contentLength = -1;
  /** Transfer-Encoding: chunked framed the body. */
  chunked = false;
  /** A Forwarded or X-Forwarded-* field was seen (proxy headers to apply, if the peer is trusted). */
  proxyHeader = false;
  /** The value of the Expect field, or null when there is none. */
  expect: string | null = null;
  /** The first rule broken, or null. */
  fault: HeadFault | null = null;
  private contentLengthText: string | null = null;
  private hosts = 0;
  private bytes = 0;
  private version: string = '1.1';

  /** `maxBytes`: the largest head accepted (h11MaxIncompleteEventSize); a larger one is refused with 431. */
  constructor(public maxBytes: number = MAX_HEAD_BYTES) {}

  /** Starts a head: its HTTP version ('1.0', '1.1', '2' for an HTTP/2 stream, or what the request line said) and the request line's bytes. */
  begin(httpVersion: string, requestLineBytes: number): void {
    this.contentLength = -1;
    this.chunked = false;
    this.proxyHeader = false;
    this.expect = null;
    this.fault = null;
    this.contentLengthText = null;
    this.hosts = 0;
    this.bytes = requestLineBytes;
    this.version = httpVersion;
    if (httpVersion !== '1.1' && httpVersion !== '1.0' && httpVersion !== '2') this.refuse(505, `HTTP version ${JSON.stringify(httpVersion)} (RFC 9112 section 2.3: this server speaks HTTP/1.0 and 1.1)`);
  }

  /** One header field: `name` lower-case, `value` a byte string. */
  field(name: string, value: string): void {
    this.bytes += name.length + value.length + 4;
    if (name === 'content-length') {
      if (this.contentLengthText !== null && this.contentLengthText !== value) this.refuse(400, 'Content-Length fields that disagree (RFC 9112 section 6.3)');
      this.contentLengthText = value;
      if (/^\d{1,15}$/.test(value)) this.contentLength = Number(value);
      else {
        // Signed, hex, list-valued, overflowing: a body of unknown length.
        this.contentLength = -1;
        this.refuse(400, `an invalid Content-Length (RFC 9112 section 6.3): ${JSON.stringify(value.slice(0, 40))}`);
      }
    } else if (name === 'transfer-encoding') {
      const codings = value.split(',').map((c) => c.trim().toLowerCase());
      const shown = JSON.stringify(value.slice(0, 40));
      if (codings[codings.length - 1] !== 'chunked' && !this.chunked) {
        // The body's length cannot be known: RFC 9112 section 6.3 rule 4 makes this a 400, whatever the codings are.
        this.refuse(400, `a request Transfer-Encoding whose final coding is not chunked (RFC 9112 section 6.3): ${shown}`);
      } else if (this.chunked || codings.indexOf('chunked') !== codings.length - 1) {
        this.refuse(400, `chunked applied more than once, or a coding after it (RFC 9112 section 6.1): ${shown}`);
      } else if (codings.length > 1) {
        // Framed by chunked, but with a coding before it that this server does not implement.
        this.refuse(501, `a transfer coding other than chunked (RFC 9112 section 6.1): ${shown}`);
      }
      this.chunked = true;
    } else if (name === 'host') {
      if (++this.hosts > 1) this.refuse(400, 'more than one Host field (RFC 9112 section 3.2)');
    } else if (name === '') {
      this.refuse(400, 'an empty field name (RFC 9110 section 5.1)');
    } else if (name === 'forwarded' || name.startsWith('x-forwarded-')) {
      this.proxyHeader = true;
    } else if (name === 'expect') {
      this.expect = value;
    }
  }

  /** Ends the head; returns the first rule broken, or null. */
  end(): HeadFault | null {
    if (this.bytes > this.maxBytes) {
      // Kept in `fault` too (callers read it after end()), and ahead of any fault in the fields: the size alone refuses the head.
      this.fault = { status: 431, reason: `a request head over ${this.maxBytes} bytes` };
      return this.fault;
    }
    if (this.hosts === 0 && this.version === '1.1') this.refuse(400, 'an HTTP/1.1 request without a Host field (RFC 9112 section 3.2)');
    if (this.chunked && this.contentLengthText !== null) this.refuse(400, 'both Content-Length and Transfer-Encoding (RFC 9112 section 6.1)');
    return this.fault;
  }

  private refuse(status: HeadFault['status'], reason: string): void {
    this.fault ??= { status, reason };
  }
}

/** The reason phrases of the answers a server gives on its own (RFC 9110's names). */
export const STATUS_REASONS: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
});

/** The reason phrase of one of the server's own answers. */
export function statusReason(status: number): string {
  return STATUS_REASONS[status] ?? 'Error';
}
