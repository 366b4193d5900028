/** Shared fixtures of the ASGI validator tests: valid scopes and a scripted fake server. */
import { AsgiValidationError, ClientDisconnected, type HttpScope, type LifespanScope, type Receive, type Send, type WebSocketScope } from '@tsgi/core';

export const b = (s: string) => new TextEncoder().encode(s);

export function httpScope(over: Partial<Record<keyof HttpScope, unknown>> = {}): HttpScope {
  return {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.5' },
    http_version: '1.1',
    method: 'GET',
    scheme: 'http',
    path: '/x',
    raw_path: '/x',
    query_string: '',
    root_path: '',
    headers: [['host', 'example']],
    client: ['127.0.0.1', 5000],
    server: ['127.0.0.1', 8000],
    ...over,
  } as HttpScope;
}

export function wsScope(over: Partial<Record<keyof WebSocketScope, unknown>> = {}): WebSocketScope {
  return {
    type: 'websocket',
    asgi: { version: '3.0', spec_version: '2.5' },
    http_version: '1.1',
    scheme: 'ws',
    path: '/ws',
    raw_path: '/ws',
    query_string: '',
    root_path: '',
    headers: [['host', 'example']],
    client: ['127.0.0.1', 5000],
    server: ['127.0.0.1', 8000],
    subprotocols: ['chat'],
    ...over,
  } as WebSocketScope;
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

export async function failure(p: Promise<unknown>): Promise<AsgiValidationError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AsgiValidationError) return e;
    throw e;
  }
  throw new Error('expected an AsgiValidationError, the call succeeded');
}

