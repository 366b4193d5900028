/**
 * The chat room behind the WebSocket view: who is connected, the last few
 * messages for newcomers, and broadcasting. It lives on the event loop's
 * thread (one process, one room); a chat over several processes would need
 * a shared broker instead.
 */
import type { WebSocket } from '../framework/index.js';

/** What the server sends to chat clients, as JSON text messages. */
export type ChatEvent =
  | { type: 'message'; from: string; text: string; at: string }
  | { type: 'joined' | 'left'; name: string; online: number };

const HISTORY = 50;

/** One room: members, history and broadcast. */
export class ChatRoom {
  readonly #members = new Map<WebSocket, string>();
  readonly #history: ChatEvent[] = [];

  /** Adds a member and replays the history to them. */
  async join(ws: WebSocket, name: string): Promise<void> {
    this.#members.set(ws, name);
    for (const event of this.#history) await ws.sendJson(event);
    await this.#broadcast({ type: 'joined', name, online: this.#members.size });
  }

  /** Removes a member (after they closed or failed). */
  async leave(ws: WebSocket): Promise<void> {
    const name = this.#members.get(ws);
    if (name === undefined) return;
    this.#members.delete(ws);
    await this.#broadcast({ type: 'left', name, online: this.#members.size });
  }

  /** Sends a member's message to everyone, the sender included. */
  async say(ws: WebSocket, text: string): Promise<void> {
    const from = this.#members.get(ws);
    if (from === undefined) return;
    const event: ChatEvent = { type: 'message', from, text, at: new Date().toISOString() };
    this.#history.push(event);
    if (this.#history.length > HISTORY) this.#history.shift();
    await this.#broadcast(event);
  }

  // Sends to all members at once: one slow client must not hold up the others, and one that left must not fail the rest.
  async #broadcast(event: ChatEvent): Promise<void> {
    const text = JSON.stringify(event);
    await Promise.allSettled([...this.#members.keys()].filter((m) => m.open).map((m) => m.send(text)));
  }
}
