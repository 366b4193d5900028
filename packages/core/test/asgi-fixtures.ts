/**
 * Shared fixtures of the ASGI tests: valid scopes (also used by the bridge's
 * tests), a scripted fake server, and what validateAsgi threw.
 */
import { AsgiValidationError, ClientDisconnected, type HttpScope, type LifespanScope, type Receive, type Send, type WebSocketScope } from '@tsgi/core';

export const b = (s: string) => new TextEncoder().encode(s);

/** What valid http and websocket scopes share: mounted at the root, Host 'example', loopback addresses. */
const shared = () => ({
  asgi: { version: '3.0', spec_version: '2.5' },
  http_version: '1.1',
  query_string: '',
  root_path: '',
  headers: [['host', 'example']],
  client: ['127.0.0.1', 5000],
  server: ['127.0.0.1', 8000],
});

/** A valid http scope for GET /x; `over` may set any key to anything, valid or not. */
export function httpScope(over: Partial<Record<keyof HttpScope, unknown>> = {}): HttpScope {
  return { type: 'http', ...shared(), method: 'GET', scheme: 'http', path: '/x', raw_path: '/x', ...over } as HttpScope;
}

/** A valid websocket scope for /ws offering subprotocol 'chat'; `over` may set any key to anything. */
export function wsScope(over: Partial<Record<keyof WebSocketScope, unknown>> = {}): WebSocketScope {
  return { type: 'websocket', ...shared(), scheme: 'ws', path: '/ws', raw_path: '/ws', subprotocols: ['chat'], ...over } as WebSocketScope;
}

export const lifespanScope = (): LifespanScope => ({ type: 'lifespan', asgi: { version: '3.0', spec_version: '2.0' }, state: {} });

/** A scripted server: receive() hands out `inbox` in order (then never resolves); send() records. */
export function fakeServer(inbox: unknown[], opts: { rejectSendsAfterDisconnect?: boolean } = {}) {
  const sent: unknown[] = [];
  let i = 0;
  let gone = false;
  const receive = (async () => {
    if (i >= inbox.length) return new Promise(() => {});
    const ev = inbox[i++] as { type: string };
    if (ev.type === 'http.disconnect' || ev.type === 'websocket.disconnect') gone = true;
    return ev;
  }) as Receive;
  const send = (async (e: unknown) => {
    if (gone && opts.rejectSendsAfterDisconnect) throw new ClientDisconnected();
    sent.push(e);
  }) as Send;
  return { receive, send, sent };
}

/** Awaits a call through validateAsgi: null when it succeeds, the AsgiValidationError when it fails that way. */
export async function outcome(p: Promise<unknown>): Promise<AsgiValidationError | null> {
  try {
    await p;
    return null;
  } catch (e) {
    if (e instanceof AsgiValidationError) return e;
    throw e;
  }
}

/** Awaits a call through validateAsgi that must fail, and returns its AsgiValidationError. */
export async function failure(p: Promise<unknown>): Promise<AsgiValidationError> {
  const e = await outcome(p);
  if (e === null) throw new Error('expected an AsgiValidationError, the call succeeded');
  return e;
}
