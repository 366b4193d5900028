/**
 * Automatic pings for one WebSocket, as uvicorn (through the websockets
 * library) does them: every `interval`, send a ping; if no pong comes back
 * within `timeout`, the peer is taken for dead and the connection dropped
 * (a lost connection: 1006). Runs on JS timers rather than uWebSockets.js's idleTimeout, which
 * only takes whole seconds from 8 to 960 at a 4-second resolution.
 */

/** What the keepalive needs from the transport. */
export interface KeepaliveHooks {
  /** Sends a ping frame; must not throw. */
  ping(): void;
  /** The peer did not answer in time: close the connection; must not throw. */
  timedOut(): void;
}

/** Ping scheduling for one connection; `pong()` on every pong frame, `stop()` when closed. */
export class Keepalive {
  private timer: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private stopped = false;

  /** `intervalMs`/`timeoutMs` null disable pinging / the timeout. */
  constructor(
    private readonly intervalMs: number | null,
    private readonly timeoutMs: number | null,
    private readonly hooks: KeepaliveHooks,
  ) {}

  /** Starts the schedule (call once the connection is open). */
  start(): void {
    this.schedulePing();
  }

  /** A pong arrived: the peer is alive. */
  pong(): void {
    if (!this.awaitingPong || this.stopped) return;
    this.awaitingPong = false;
    this.clear();
    this.schedulePing();
  }

  /** Stops every timer (the connection closed). */
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private schedulePing(): void {
    if (this.intervalMs === null || this.stopped) return;
    this.timer = setTimeout(() => this.sendPing(), this.intervalMs);
    this.timer.unref();
  }

  private sendPing(): void {
    this.timer = null;
    if (this.stopped) return;
    this.hooks.ping();
    if (this.timeoutMs === null) {
      this.schedulePing();
      return;
    }
    this.awaitingPong = true;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.hooks.timedOut();
    }, this.timeoutMs);
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
