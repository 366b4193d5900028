/**
 * What every server on node:http shares (@tsgi/node, and @tsgi/pool's
 * front): the request head read out of an IncomingMessage into a
 * RequestHead under the shared HeadRules, the answer to a head node's own
 * parser refused, and listening on a TCP port or a unix socket.
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { RequestHead } from '../asgi/scope.js';
import type { ServerAddress } from './handle.js';
import type { Logger } from './logger.js';
import { applyProxyHeaders, normalizeIp, type TrustedHosts } from './proxy-headers.js';
import { HeadRules, statusReason, type HeadFault } from './request-head.js';
import { prepareUnixSocket } from './unix-socket.js';

/** Where a server listens, and whom it trusts for proxy headers. */
export interface NodeHeadOptions {
  trustedHosts: TrustedHosts | null;
  uds: string | null;
}

/**
 * The addresses a connection's request heads carry: the peer (null on a unix
 * socket) and where it came in. A socket's address getters are costly to call
 * per request (each makes calls and generic property lookups), so a server
 * that keeps state per connection reads them once and hands them to every
 * readNodeRequestHead of that connection.
 */
export interface ConnectionAddresses {
  readonly clientHost: string | null;
  readonly clientPort: number;
  /** The local address, or the unix socket's path; null when unknown. */
  readonly serverHost: string | null;
  readonly serverPort: number | null;
  /** 'https' on a TLS connection (node:tls sets `encrypted` on its sockets). */
  readonly scheme: 'http' | 'https';
}

/** Reads the addresses of `socket` (normalized: an IPv4-mapped IPv6 address becomes IPv4). */
export function connectionAddresses(socket: Socket, options: NodeHeadOptions): ConnectionAddresses {
  const remote = socket.remoteAddress;
  const local = options.uds !== null ? undefined : socket.localAddress;
  return {
    clientHost: remote === undefined ? null : normalizeIp(remote),
    clientPort: remote === undefined ? 0 : (socket.remotePort ?? 0),
    serverHost: options.uds !== null ? options.uds : local === undefined ? null : normalizeIp(local),
    serverPort: local === undefined ? null : (socket.localPort ?? null),
    scheme: (socket as Socket & { encrypted?: boolean }).encrypted === true ? 'https' : 'http',
  };
}

/**
 * Reads the head of `req` into a RequestHead (node:http gives header values
 * as latin-1 strings, which are byte strings already), checking it with
 * `rules` (read `rules.fault` afterwards) and applying proxy headers when
 * the peer is trusted. `addresses`: its connection's, when the caller keeps
 * them; else they are read from the socket.
 */
export function readNodeRequestHead(
  req: IncomingMessage,
  rules: HeadRules,
  options: NodeHeadOptions,
  addresses: ConnectionAddresses = connectionAddresses(req.socket, options),
): RequestHead {
  return readHttp1Head(req.method ?? 'GET', req.url ?? '/', req.httpVersionMajor, req.httpVersionMinor, req.rawHeaders, rules, options, addresses);
}

/**
 * Reads an HTTP/1.x head as node's parser (llhttp) delivers it (the method,
 * the target, the version's two digits and the raw fields as a flat
 * [name, value, ...] list of latin-1 strings, which are byte strings
 * already) into a RequestHead, checking it with `rules` (read `rules.fault`
 * afterwards) and applying proxy headers when the peer is trusted.
 */
export function readHttp1Head(
  method: string,
  target: string,
  major: number,
  minor: number,
  raw: readonly string[],
  rules: HeadRules,
  options: NodeHeadOptions,
  addresses: ConnectionAddresses,
): RequestHead {
  // The literal for the versions served: a new string per request would cost more to compare.
  const version = major === 1 && minor === 1 ? '1.1' : major === 1 && minor === 0 ? '1.0' : `${major}.${minor}`;
  rules.begin(version, method.length + target.length + 11);
  const headers: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    rules.field(name, value);
    headers[j] = [name, value];
  }
  rules.end();
  return finishHead(method, target, version === '1.0' ? '1.0' : '1.1', headers, addresses, rules, options);
}

/** The RequestHead of a head read and checked: the connection's addresses and scheme, then proxy headers when the peer is trusted. */
function finishHead(
  method: string,
  target: string,
  httpVersion: RequestHead['httpVersion'],
  headers: Array<[string, string]>,
  a: ConnectionAddresses,
  rules: HeadRules,
  options: NodeHeadOptions,
): RequestHead {
  const head: RequestHead = {
    method,
    target,
    httpVersion,
    headers,
    // Fresh pairs per request: the scope hands them to the app, which may change them.
    client: a.clientHost === null ? null : [a.clientHost, a.clientPort],
    server: a.serverHost === null ? null : [a.serverHost, a.serverPort],
    scheme: a.scheme,
  };
  if (options.trustedHosts !== null && rules.proxyHeader) applyProxyHeaders(head, options.trustedHosts);
  return head;
}

/**
 * The head of one HTTP/2 stream, from the `method`, `target` (`:method`,
 * `:path`) and flat raw header list node:http2 gives with its 'stream' event
 * (node has checked the pseudo-header fields): `:authority` becomes a `host`
 * field when there is none (as the ASGI spec says), the other pseudo-header
 * fields go, and the `cookie` fields HTTP/2 sends apart are joined with "; "
 * (RFC 9113 section 8.2.3), so an app sees what HTTP/1.1 would have sent.
 * The scheme is the connection's, not the client's `:scheme`.
 */
export function readHttp2StreamHead(
  method: string,
  target: string,
  raw: readonly string[],
  rules: HeadRules,
  options: NodeHeadOptions,
  a: ConnectionAddresses,
): RequestHead {
  rules.begin('2', method.length + target.length + 11);
  const headers: Array<[string, string]> = [];
  let authority: string | null = null;
  let hasHost = false;
  let cookie: [string, string] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (name === ':authority') authority = value;
      continue;
    }
    if (name === 'cookie' && cookie !== null) {
      cookie[1] += `; ${value}`;
      continue;
    }
    rules.field(name, value);
    const field: [string, string] = [name, value];
    if (name === 'cookie') cookie = field;
    else if (name === 'host') hasHost = true;
    headers.push(field);
  }
  if (!hasHost && authority !== null) {
    rules.field('host', authority);
    headers.unshift(['host', authority]);
  }
  rules.end();
  return finishHead(method, target, '2', headers, a, rules, options);
}

/** The answer to a request head node:http's parser refused (its `clientError`), by llhttp's error code. */
export function clientErrorFault(error: NodeJS.ErrnoException & { rawPacket?: Buffer; bytesParsed?: number }): HeadFault {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'a request head that did not arrive in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'a request head over the size limit' };
    case 'HPE_INVALID_VERSION':
      return { status: 505, reason: 'an HTTP version other than 1.0 and 1.1 (RFC 9112 section 2.3)' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // llhttp raises it where the body's framing is in doubt (with Content-Length, chunked twice or not last), all 400s
      // in RFC 9112 sections 6.1 and 6.3; a coding it does not know before a final chunked it lets through to HeadRules (501).
      return { status: 400, reason: 'a Transfer-Encoding that leaves the body length in doubt (RFC 9112 sections 6.1 and 6.3)' };
    case 'HPE_INVALID_METHOD': {
      // A well-formed request line with a method llhttp does not know: not implemented, not malformed (RFC 9110 section 9.1).
      // rawPacket is the whole read, which may hold earlier pipelined requests: the refused line starts after the last
      // line feed before the point where llhttp stopped.
      const raw = error.rawPacket ?? Buffer.alloc(0);
      const start = raw.lastIndexOf(0x0a, Math.max(0, (error.bytesParsed ?? 0) - 1)) + 1;
      const line = raw.subarray(start, start + 256).toString('latin1');
      if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.[01]\r?\n/.test(line)) return { status: 501, reason: 'a request method this server does not implement' };
      return { status: 400, reason: `a malformed request line (${error.code})` };
    }
    default:
      return { status: 400, reason: `a malformed request (${error.code ?? error.message})` };
  }
}

/**
 * Answers what node:http's parser refused and closes the connection: its
 * status with a plain-text body and `Connection: close`, written straight to
 * the socket. A refused head behind requests pipelined before it waits until
 * their responses are out, so it never takes the place of one. A fault in
 * the body of a request still being read (a malformed chunk, a client gone
 * mid-body) ends that request: answered now if its response has not started,
 * else cut.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket, logger: Logger): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const fault = clientErrorFault(error);
  logger.warning(`Invalid HTTP request received: ${fault.reason}.`);
  afterPendingResponses(socket, (res) => {
    if (socket.destroyed || !socket.writable) return;
    // A response already partly on the wire can only be cut; else the answer takes its place.
    if (res !== null && headOnWire(res)) socket.destroy();
    else {
      socket.end(rawAnswer(fault.status, true));
      socket.destroySoon();
    }
  });
}

/** True once node handed `res`'s head to the socket (`headersSent` is true as soon as it is only generated). */
function headOnWire(res: ServerResponse): boolean {
  return (res as ServerResponse & { _headerSent?: boolean })._headerSent === true;
}

/** The response node:http is writing on `socket` (its `_httpMessage`; the pipelined ones behind it get the socket in turn). */
function currentResponse(socket: Socket): ServerResponse | null {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
}

/**
 * Runs `then(null)` once no response is in progress on `socket` (node hands
 * the socket to each pipelined response in turn on 'finish'), or
 * `then(res)` at once when the request of the response in progress is not
 * read whole: the fault is in its body, and it will never complete.
 */
function afterPendingResponses(socket: Socket, then: (unfinished: ServerResponse | null) => void): void {
  const res = currentResponse(socket);
  if (res === null || res.writableFinished) return then(null);
  if (!res.req.complete) return then(res);
  // node's own 'finish' listener, registered first, gives the socket to the next response; look again after it.
  res.once('finish', () => afterPendingResponses(socket, then));
}

/** A complete plain-text answer of the server's own as bytes on the wire (HTTP/1.1, its reason as the body). */
export function rawAnswer(status: number, close: boolean, extra = ''): string {
  const reason = statusReason(status);
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${reason.length}\r\n${close ? 'connection: close\r\n' : ''}${extra}\r\n${reason}`;
}

/** node:http's ServerResponse without the Date header it writes by default. */
class ResponseWithoutDate<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  constructor(...args: ConstructorParameters<typeof ServerResponse<Request>>) {
    super(...args);
    this.sendDate = false;
  }
}

/**
 * The createServer() options that carry the dateHeader choice: node writes a Date header unless
 * a response says not to, so dateHeader: false picks a ServerResponse class that says so, a
 * choice paid once at start instead of per request. Spread into createServer()'s options.
 */
export function dateHeaderOptions(dateHeader: boolean): { ServerResponse?: typeof ServerResponse } {
  return dateHeader ? {} : { ServerResponse: ResponseWithoutDate as typeof ServerResponse };
}

/** The server's own headers (defaultHeaders) as the flat [name, value, ...] list node's writeHead() takes. */
export function flatHeaders(headers: ReadonlyArray<readonly [string, string]>): string[] {
  return headers.flatMap(([name, value]) => [name, value]);
}

/** Binds `server` to the TCP address or unix socket of `options` (a stale socket file is replaced), or serves the inherited socket `fd`, with its listen backlog. */
export async function listenNode(server: Server | NetServer, options: { host: string; port: number; uds: string | null; fd?: number | null; backlog: number }): Promise<ServerAddress> {
  const fd = options.fd ?? null;
  if (options.uds !== null) await prepareUnixSocket(options.uds);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (fd !== null) server.listen({ fd, backlog: options.backlog }, done);
    else if (options.uds !== null) server.listen({ path: options.uds, backlog: options.backlog }, done);
    else server.listen({ port: options.port, host: options.host, backlog: options.backlog }, done);
  });
  const a = server.address();
  // An inherited unix socket has no path node can tell: it is named by its descriptor.
  if (fd !== null && (a === null || typeof a === 'string')) return { path: a === null || a === '' ? `(file descriptor ${fd})` : a };
  if (options.uds !== null || typeof a === 'string' || a === null) return { path: options.uds ?? String(a) };
  return { host: a.address, port: a.port };
}
