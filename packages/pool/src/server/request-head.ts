/**
 * Reading a request head out of node:http into the transport-independent
 * RequestHead that core's scope builder takes (proxy headers applied when
 * the peer is trusted), and what the head says about the body.
 */
import type { IncomingMessage } from 'node:http';
import { applyProxyHeaders, normalizeIp, type RequestHead, type TrustedHosts } from '@tsgi/core';

/** What the head says about the request body. */
export interface BodyInfo {
  /** Content-Length, or null when absent (a chunked body, or none). */
  contentLength: number | null;
  /** The request has a body at all (Content-Length > 0, or Transfer-Encoding). */
  hasBody: boolean;
}

/** The head of `req` for buildHttpScope; node:http gives header values as latin-1 strings, which are byte strings already. */
export function readRequestHead(req: IncomingMessage, trusted: TrustedHosts | null, uds: string | null): RequestHead {
  const raw = req.rawHeaders;
  const headers: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) headers[j] = [raw[i]!.toLowerCase(), raw[i + 1]!];
  const socket = req.socket;
  const head: RequestHead = {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    httpVersion: req.httpVersion === '1.0' ? '1.0' : '1.1',
    headers,
    client: socket.remoteAddress === undefined ? null : [normalizeIp(socket.remoteAddress), socket.remotePort ?? 0],
    server: uds !== null ? [uds, null] : socket.localAddress === undefined ? null : [normalizeIp(socket.localAddress), socket.localPort ?? null],
    scheme: 'http',
  };
  if (trusted !== null) applyProxyHeaders(head, trusted);
  return head;
}

/** Content-Length and whether there is a body at all, from node's parsed headers. */
export function bodyInfo(req: IncomingMessage): BodyInfo {
  const cl = req.headers['content-length'];
  const contentLength = cl !== undefined && /^\d{1,15}$/.test(cl) ? Number(cl) : null;
  const hasBody = req.headers['transfer-encoding'] !== undefined || (contentLength !== null && contentLength > 0);
  return { contentLength, hasBody };
}

/** Why a request head that node's parser let through must still be refused: the status to answer, or null when it is fine. */
export interface Refusal {
  status: number;
  reason: string;
  why: string;
}

/**
 * The HTTP/1.1 rules node:http does not enforce by itself, checked before
 * the app is involved: only HTTP/1.0 and 1.1 (505 otherwise, RFC 9112 2.3),
 * exactly one Host (400, RFC 9112 3.2), and no transfer coding other than a
 * single chunked (501 for one the server does not implement, RFC 9112 6.1).
 */
export function refusal(req: IncomingMessage): Refusal | null {
  if (req.httpVersionMajor !== 1 || (req.httpVersionMinor !== 0 && req.httpVersionMinor !== 1)) {
    return { status: 505, reason: 'HTTP Version Not Supported', why: `HTTP version ${req.httpVersion}` };
  }
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return { status: 400, reason: 'Bad Request', why: `${hosts} Host header fields` };
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    if (codings.some((c) => c !== 'chunked')) return { status: 501, reason: 'Not Implemented', why: `transfer coding ${JSON.stringify(te)}` };
    if (codings.length !== 1) return { status: 400, reason: 'Bad Request', why: `transfer coding ${JSON.stringify(te)}` };
  }
  return null;
}
