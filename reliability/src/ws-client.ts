/**
 * A raw WebSocket client for the reliability tests, on the conformance
 * suite's RawConnection and frame codec (`@tsgi/conformance`): open a
 * WebSocket, write arbitrary bytes, and watch how the server ends the
 * connection (which close frame, whether TCP closed) within a deadline.
 */
import { OP, RawConnection, handshake, type Frame, type WsSession } from '@tsgi/conformance';

/** How the server ended (or did not end) a WebSocket after a violation. */
export interface WsVerdict {
  /** The server sent a close frame; its code (null when it had no payload). */
  closeFrame: { code: number | null; reason: string } | null;
  /** The TCP connection ended (FIN or reset) before the deadline. */
  tcpClosed: boolean;
  /** Data frames (text, binary, continuation) the server sent back. */
  dataFrames: number;
  /** Frames as received, for failure messages, e.g. `close(1002)`, `text(3)`, `EOF`. */
  trace: string[];
  /** Milliseconds from the write to the verdict. */
  ms: number;
}

/** Opens a WebSocket to 127.0.0.1:`port` at `target`; throws unless the server answers 101. */
export async function openWebSocket(port: number, target: string, timeoutMs = 5000): Promise<WsSession> {
  const conn = await RawConnection.open('127.0.0.1', port, timeoutMs);
  const r = await handshake(conn, target, { timeoutMs });
  if (r.ws === null) {
    conn.destroy();
    throw new Error(`WebSocket handshake to ${target} answered ${r.response.status}, not 101`);
  }
  return r.ws;
}

function describe(f: Frame): string {
  if (f.opcode === OP.CLOSE) return f.payload.length >= 2 ? `close(${f.payload.readUInt16BE(0)})` : `close(${f.payload.length === 0 ? 'empty' : '1 byte'})`;
  const names: Record<number, string> = { [OP.CONT]: 'cont', [OP.TEXT]: 'text', [OP.BINARY]: 'binary', [OP.PING]: 'ping', [OP.PONG]: 'pong' };
  return `${names[f.opcode] ?? `op${f.opcode}`}(${f.payload.length})`;
}

/** Writes `bytes` on an open WebSocket and reads until the TCP connection ends or `deadlineMs` passes. */
export async function violate(ws: WsSession, bytes: Uint8Array, deadlineMs: number): Promise<WsVerdict> {
  const started = performance.now();
  const end = started + deadlineMs;
  // The server may close before everything is written; that is part of the verdict.
  await ws.sendRaw(bytes).catch(() => undefined);
  const verdict: WsVerdict = { closeFrame: null, tcpClosed: false, dataFrames: 0, trace: [], ms: 0 };
  for (;;) {
    const left = end - performance.now();
    if (left <= 0) break;
    let f: Frame | null;
    try {
      f = await ws.readFrame(left);
    } catch {
      // A timeout leaves the connection open; a close with part of a frame buffered ends it.
      verdict.tcpClosed = ws.conn.peerClosed;
      verdict.trace.push(verdict.tcpClosed ? 'EOF (mid-frame)' : `(still open after ${deadlineMs} ms)`);
      break;
    }
    if (f === null) {
      verdict.tcpClosed = true;
      verdict.trace.push('EOF');
      break;
    }
    verdict.trace.push(describe(f));
    if (f.opcode === OP.CLOSE && verdict.closeFrame === null) {
      verdict.closeFrame = { code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null, reason: f.payload.subarray(2).toString('utf8') };
    } else if (f.opcode <= OP.BINARY) {
      verdict.dataFrames++;
    }
  }
  if (!verdict.tcpClosed && !(verdict.trace.at(-1) ?? '').startsWith('(still open')) verdict.trace.push(`(still open after ${deadlineMs} ms)`);
  verdict.ms = Math.round(performance.now() - started);
  return verdict;
}

/** Opens a WebSocket, checks one text message comes back unchanged, and closes it cleanly; returns the echo. */
export async function echoOnce(port: number, target: string, message: string): Promise<string> {
  const ws = await openWebSocket(port, target);
  try {
    await ws.sendText(message);
    const e = await ws.readMessage(5000);
    await ws.sendClose(1000);
    return e.kind === 'text' ? e.data : `(${e.kind})`;
  } finally {
    ws.conn.destroy();
  }
}
