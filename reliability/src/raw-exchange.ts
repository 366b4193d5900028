/**
 * One raw exchange with a server: write bytes on a fresh TCP connection and
 * watch what comes back (the first status line, whether the connection
 * closed) within a bounded time. Used by the hostile-request corpus, where
 * a well-behaved server answers 4xx or closes, and a hang is a finding.
 */
import { connect } from 'node:net';

/** What the server did with one hostile request. */
export interface ExchangeOutcome {
  /** Status code of the first response, or null when none arrived. */
  status: number | null;
  /** The server closed (or reset) the connection before the deadline. */
  closed: boolean;
  /** Every byte received, as latin-1 text (for failure messages). */
  received: string;
  /** Milliseconds until the verdict. */
  ms: number;
}

/** Options of rawExchange(). */
export interface ExchangeOptions {
  /** Give up waiting after this long; the outcome then says closed: false. */
  timeoutMs: number;
  /** Keep waiting for the close after a response arrived (checks RFC 9112 §6.1 "close after CL+TE"). */
  waitForClose: boolean;
}

const STATUS_LINE = /^HTTP\/\d\.\d (\d{3})/;

/**
 * Sends `bytes` to 127.0.0.1:`port` and resolves as soon as the verdict is
 * known: the connection closed, or (unless `waitForClose`) a complete
 * status line arrived, or the deadline passed.
 */
export function rawExchange(port: number, bytes: Uint8Array, options: ExchangeOptions): Promise<ExchangeOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const received = Buffer.concat(parts).toString('latin1');
      const m = STATUS_LINE.exec(received);
      resolve({ status: m ? Number(m[1]) : null, closed, received, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs);
    socket.on('connect', () => {
      // Some entries are refused before they are fully written: a write error is part of the outcome, not a test failure.
      socket.write(bytes, () => {});
    });
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      if (!options.waitForClose && STATUS_LINE.test(Buffer.concat(parts).toString('latin1'))) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

/** One well-formed GET on a fresh connection; resolves with the status and body (for liveness checks). */
export async function simpleGet(port: number, path: string, extraHeaders = ''): Promise<{ status: number; body: string }> {
  const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extraHeaders}\r\n`, 'latin1');
  const out = await rawExchange(port, req, { timeoutMs: 10_000, waitForClose: true });
  if (out.status === null) throw new Error(`no response to GET ${path}: ${JSON.stringify(out.received)}`);
  const body = out.received.slice(out.received.indexOf('\r\n\r\n') + 4);
  return { status: out.status, body: dechunk(out.received, body) };
}

/** Removes chunked framing from a close-delimited capture when the head says chunked. */
function dechunk(all: string, body: string): string {
  if (!/\r\ntransfer-encoding: *chunked/i.test(all.slice(0, all.indexOf('\r\n\r\n') + 2))) return body;
  let out = '';
  let rest = body;
  for (;;) {
    const le = rest.indexOf('\r\n');
    if (le === -1) return out;
    const size = parseInt(rest.slice(0, le), 16);
    if (!(size > 0)) return out;
    out += rest.slice(le + 2, le + 2 + size);
    rest = rest.slice(le + 2 + size + 2);
  }
}
