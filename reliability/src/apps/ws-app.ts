/**
 * The ASGI-TS app of the WebSocket reliability tests (served by @tsgi/uws
 * and @tsgi/node, the tsgi servers with WebSocket): it accepts every WebSocket, echoes
 * what it receives, sends a large message on request, and writes to the
 * request record what it saw of each connection (named by `?id=`), so a
 * test can tell whether a forbidden frame reached the app and which
 * `websocket.disconnect` it got. HTTP `GET` answers 200 `ok`; `GET /gc`
 * runs a full garbage collection and answers what JavaScript still holds
 * when the server runs with `--expose-gc` (404 without), so a leak test
 * measures what is kept, not what V8 has yet to collect.
 */
import type { AsgiApplication, Receive, Send, WebSocketReceiveEventUnion, WebSocketScope } from '@tsgi/core';
import { recordRequest, type SeenRequest } from '../record.js';
import { collectGarbage } from './gc.js';

/** A record line of this app: `method` is the event kind, `path` the connection id. */
export type WsRecordKind = 'WS-RECEIVE' | 'WS-DISCONNECT';

/** What the app saw of one WebSocket connection, read back from the record. */
export interface WsSeen {
  /** Messages received, as `text:<length>` or `bytes:<length>`. */
  received: string[];
  /** The disconnect event, once it came. */
  disconnect: { code: number; reason: string } | null;
}

/** Groups this app's record lines by connection id. */
export function wsSeen(record: SeenRequest[]): Map<string, WsSeen> {
  const out = new Map<string, WsSeen>();
  for (const r of record) {
    if (r.method !== 'WS-RECEIVE' && r.method !== 'WS-DISCONNECT') continue;
    const s = out.get(r.path) ?? { received: [], disconnect: null };
    if (r.method === 'WS-RECEIVE') s.received.push(r.scheme);
    else s.disconnect = { code: Number(r.scheme), reason: r.headers.reason ?? '' };
    out.set(r.path, s);
  }
  return out;
}

function record(kind: WsRecordKind, id: string, detail: string, headers: Record<string, string> = {}): void {
  recordRequest({ method: kind, path: id, client: null, scheme: detail, headers });
}

/** `big:<bytes>` asks for one binary message of that size (for clients that vanish while it is sent). */
const BIG = /^big:(\d+)$/;
/** One buffer per size asked for, reused: the leak tests measure the server's memory, not this app's garbage. */
const bigMessages = new Map<number, Uint8Array>();
function bigMessage(size: number): Uint8Array {
  let m = bigMessages.get(size);
  if (m === undefined) bigMessages.set(size, (m = new Uint8Array(size).fill(0x62)));
  return m;
}

async function websocket(scope: WebSocketScope, receive: Receive, send: Send): Promise<void> {
  const id = new URLSearchParams(scope.query_string).get('id') ?? '-';
  const connect = await receive();
  if (connect.type !== 'websocket.connect') return;
  await send({ type: 'websocket.accept' });
  for (;;) {
    const event = (await receive()) as WebSocketReceiveEventUnion;
    if (event.type === 'websocket.disconnect') {
      record('WS-DISCONNECT', id, String(event.code), { reason: event.reason ?? '' });
      return;
    }
    if (event.type !== 'websocket.receive') continue;
    if (event.text != null) {
      record('WS-RECEIVE', id, `text:${event.text.length}`);
      const big = BIG.exec(event.text);
      try {
        if (big) await send({ type: 'websocket.send', bytes: bigMessage(Number(big[1])) });
        else await send({ type: 'websocket.send', text: event.text });
      } catch {
        // The client left while the message was sent: the next receive() says how.
      }
    } else {
      record('WS-RECEIVE', id, `bytes:${event.bytes!.byteLength}`);
      try {
        await send({ type: 'websocket.send', bytes: event.bytes! });
      } catch {
        // as above
      }
    }
  }
}

/** The app. */
export const app: AsgiApplication = async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const event = await receive();
      if (event.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
      else {
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
    }
  }
  if (scope.type === 'websocket') return websocket(scope as WebSocketScope, receive, send);
  if (scope.type !== 'http') return;
  for (;;) {
    const event = await receive();
    if (event.type !== 'http.request' || !event.more_body) break;
  }
  const answer = scope.path === '/gc' ? collectGarbage() : { status: 200, text: 'ok' };
  await send({ type: 'http.response.start', status: answer.status, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(answer.text) });
};
