/**
 * The WebSocket a handler of `app.ws(pattern, handler)` sees: accept, send,
 * receive (or iterate) messages, close. It wraps the ASGI websocket events
 * so that a handler never deals with `websocket.connect` or event dicts.
 */
import { latin1ToUtf8, type Receive, type Send, type WebSocketScope } from '@tsgi/core';
import type { Params } from './routing.js';

/** One message from the client: text or binary. */
export type Message = string | Uint8Array;

/** A WebSocket connection, for one handler call. */
export class WebSocket implements AsyncIterable<Message> {
  /** Values of the route's `:name` segments. */
  params: Params = {};
  /** The query string of the handshake, parsed. */
  readonly query: URLSearchParams;
  /** Handshake headers (byte-string values). */
  readonly headers: Headers;
  /** What the app stored during lifespan startup. */
  readonly state: Record<string, unknown>;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** The close code once the peer has left (1000-4999), or null while connected. */
  closeCode: number | null = null;

  constructor(
    /** The ASGI scope, for anything the helpers do not cover. */
    readonly scope: WebSocketScope,
    private readonly receiveEvent: Receive,
    private readonly sendEvent: Send,
  ) {
    this.query = new URLSearchParams(latin1ToUtf8(scope.query_string));
    this.headers = new Headers();
    for (const [name, value] of scope.headers) this.headers.append(name, value);
    this.state = { ...scope.state };
  }

  /** True after accept() and before either side closed. */
  get open(): boolean {
    return this.#state === 'open';
  }

  /** Accepts the handshake (optionally choosing one of `scope.subprotocols`). */
  async accept(subprotocol?: string): Promise<void> {
    if (this.#state !== 'connecting') throw new Error(`WebSocket.accept(): the connection is already ${this.#state}`);
    const first = await this.receiveEvent();
    if (first.type !== 'websocket.connect') {
      this.#state = 'closed';
      throw new Error(`WebSocket.accept(): expected websocket.connect, got ${first.type}`);
    }
    await this.sendEvent(subprotocol === undefined ? { type: 'websocket.accept' } : { type: 'websocket.accept', subprotocol });
    this.#state = 'open';
  }

  /** Sends a text (string) or binary (Uint8Array) message. */
  async send(message: Message): Promise<void> {
    if (this.#state !== 'open') throw new Error(`WebSocket.send(): the connection is ${this.#state}`);
    await this.sendEvent(typeof message === 'string' ? { type: 'websocket.send', text: message } : { type: 'websocket.send', bytes: message });
  }

  /** Sends a value as a JSON text message. */
  sendJson(value: unknown): Promise<void> {
    return this.send(JSON.stringify(value));
  }

  /** The next message, or null once the peer has closed (closeCode says how). */
  async receive(): Promise<Message | null> {
    if (this.#state !== 'open') return null;
    const event = await this.receiveEvent();
    if (event.type === 'websocket.receive') return event.text ?? event.bytes ?? new Uint8Array(0);
    if (event.type === 'websocket.disconnect') {
      this.#state = 'closed';
      this.closeCode = event.code;
      return null;
    }
    throw new Error(`WebSocket.receive(): unexpected event ${event.type}`);
  }

  /** Closes the connection (before accept, this refuses the handshake: the client gets 403). */
  async close(code = 1000, reason = ''): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.sendEvent({ type: 'websocket.close', code, reason });
  }

  /** Iterates messages until the peer closes. */
  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      const message = await this.receive();
      if (message === null) return;
      yield message;
    }
  }
}
