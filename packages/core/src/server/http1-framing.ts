/**
 * How an HTTP/1.x response is framed on the wire (RFC 9112 sections 6 and
 * 9), without I/O: its head as text, whether its body goes in the chunked
 * coding, and whether the connection closes after it. The choices are
 * node:http's, so a server that writes its own heads frames responses as
 * node:http does: the response's Content-Length, else chunked on HTTP/1.1,
 * else (HTTP/1.0) the body runs to the close; keep-alive only with a length
 * the client can find the end by.
 */

/** What the request and the server say about one response's framing. */
export interface Http1ResponseFacts {
  /** The request was HTTP/1.1 (else 1.0: no chunked coding). */
  http11: boolean;
  /** The request was HEAD: the head is written, the body never. */
  isHead: boolean;
  /** The connection may stay open after this response (the client's wish and the server's). */
  keepAlive: boolean;
  /** The Date field's value to add when the response has none; null: add none. */
  date: string | null;
  /** The head lines of a kept-alive connection (`Connection: keep-alive` and any `Keep-Alive`). */
  keepAliveLines: string;
}

/** A response head and the framing it announces. */
export interface Http1Framing {
  /** The head, from the status line to the blank line. */
  head: string;
  /** The body goes in the chunked coding. */
  chunked: boolean;
  /** The connection closes after this response. */
  close: boolean;
}

/**
 * Frames a response: `fields` a flat [name, value, ...] list the server has
 * checked (no Connection or Transfer-Encoding of the app's: the framing is
 * the server's). The status line says HTTP/1.1 whatever the request's
 * version, as RFC 9112 section 2.3 allows.
 */
export function frameHttp1Response(status: number, reason: string, fields: readonly string[], facts: Http1ResponseFacts): Http1Framing {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  let length = false;
  let date = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') length = true;
    else if (name.length === 4 && name.toLowerCase() === 'date') date = true;
    head += `${name}: ${fields[i + 1]!}\r\n`;
  }
  if (facts.date !== null && !date) head += `Date: ${facts.date}\r\n`;
  const hasBody = !facts.isHead && status !== 204 && status !== 304 && (status < 100 || status > 199);
  let close = false;
  // Keep-alive needs a length the client can find the end by: a Content-Length, or chunked (HTTP/1.1 only).
  if (facts.keepAlive && (length || facts.http11)) head += facts.keepAliveLines;
  else {
    close = true;
    head += 'Connection: close\r\n';
  }
  let chunked = false;
  if (!length && hasBody) {
    if (facts.http11) {
      head += 'Transfer-Encoding: chunked\r\n';
      chunked = true;
    } else close = true; // the body runs to the close (RFC 9112 section 6.3)
  }
  return { head: `${head}\r\n`, chunked, close };
}

/** The line that opens a chunk of `size` bytes in the chunked coding. */
export function chunkLine(size: number): string {
  return `${size.toString(16)}\r\n`;
}

/** The end of a chunked body: the last chunk, then the trailer fields (checked by the caller), then the blank line. */
export function lastChunk(trailers: ReadonlyArray<readonly [string, string]> | null): string {
  if (trailers === null) return '0\r\n\r\n';
  let block = '0\r\n';
  for (const [name, value] of trailers) block += `${name}: ${value}\r\n`;
  return `${block}\r\n`;
}
