/**
 * A minimal in-process ASGI host for the bridge's unit tests: builds scopes,
 * feeds scripted receive() events and records what the app sends.
 */
import type { AsgiApplication, HttpScope, ReceiveEvent, SendEvent, WebSocketScope } from '@tsgi/core';
// The valid scopes of core's ASGI tests (tsconfig.check.json type-checks every package's tests as one program).
import { httpScope as validHttpScope, wsScope as validWsScope } from '../../core/test/asgi-fixtures.js';
export { b as bytes } from '../../core/test/asgi-fixtures.js';

/** A valid http scope for GET /; raw_path follows path unless given. */
export function httpScope(over: Partial<HttpScope> = {}): HttpScope {
  const path = over.path ?? '/';
  return validHttpScope({ path, raw_path: path, ...over });
}

/** A valid websocket scope for / with no subprotocols offered. */
export function wsScope(over: Partial<WebSocketScope> = {}): WebSocketScope {
  return validWsScope({ path: '/', raw_path: '/', subprotocols: [], ...over });
}

export interface HttpResult {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
  sent: SendEvent[];
}

/**
 * Runs one HTTP request: `body` chunks are delivered one per receive(), then
 * receive() waits until the response is complete and returns http.disconnect.
 */
export async function callHttp(app: AsgiApplication, scope: HttpScope, body: Uint8Array[] = []): Promise<HttpResult> {
  const sent: SendEvent[] = [];
  const chunks: Uint8Array[] = [];
  let status = 0;
  let headers: Array<[string, string]> = [];
  let done!: () => void;
  const complete = new Promise<void>((r) => (done = r));
  let i = 0;
  const receive = async (): Promise<ReceiveEvent> => {
    if (i < body.length || (i === 0 && body.length === 0)) {
      const chunk = body[i] ?? new Uint8Array(0);
      i++;
      return { type: 'http.request', body: chunk, more_body: i < body.length };
    }
    await complete;
    return { type: 'http.disconnect' };
  };
  const send = async (e: SendEvent): Promise<void> => {
    sent.push(e);
    if (e.type === 'http.response.start') {
      status = e.status;
      headers = [...(e.headers ?? [])].map(([n, v]) => [n, v]);
    } else if (e.type === 'http.response.body') {
      if (e.body) chunks.push(e.body);
      if (!e.more_body) done();
    }
  };
  await app(scope, receive, send);
  done();
  return { status, headers, body: Buffer.concat(chunks), sent };
}

export const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
