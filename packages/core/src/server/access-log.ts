/** The access-log lines every server writes, uvicorn's: `client - "GET /path HTTP/1.1" 200 1.2ms`, and `client - "WebSocket /path" [accepted]`. */
import { isByteString } from '../bytes.js';

/**
 * `host:port`, or the host alone when the transport cannot tell the port
 * (uWebSockets.js v20.30 gives none: the scope says 0), or `-` for no client.
 */
function clientText(client: readonly [string, number] | null): string {
  if (client === null) return '-';
  return client[1] === 0 ? client[0] : `${client[0]}:${client[1]}`;
}

function shownTarget(target: string): string {
  return !isByteString(target) ? '?' : target.length > 2048 ? `${target.slice(0, 2048)}...` : target;
}

/** `client - "METHOD target HTTP/version"`: the part of the line known when the request arrives. */
export function accessPrefix(client: readonly [string, number] | null, method: string, target: string, httpVersion: string): string {
  return `${clientText(client)} - "${method} ${shownTarget(target)} HTTP/${httpVersion}"`;
}

/** The whole line: the prefix, the status (`-` when none was sent) and the time since `startedMs` (performance.now()). */
export function accessLine(prefix: string, status: number, startedMs: number): string {
  return `${prefix} ${status === 0 ? '-' : status} ${(performance.now() - startedMs).toFixed(1)}ms`;
}

/** `client - "WebSocket target"`: the part of a WebSocket's lines known at its upgrade request. */
export function websocketAccessPrefix(client: readonly [string, number] | null, target: string): string {
  return `${clientText(client)} - "WebSocket ${shownTarget(target)}"`;
}

/**
 * One line of a WebSocket's life, as uvicorn logs it: `[accepted]` when the
 * handshake completed, the status when it was refused (403, or the app's
 * denial response's), `[closed <code>]` when the open connection ended
 * (1006: without a close frame), with the time since the upgrade request.
 */
export function websocketAccessLine(prefix: string, outcome: 'accepted' | { status: number } | { closed: number }, startedMs: number): string {
  const what = outcome === 'accepted' ? '[accepted]' : 'status' in outcome ? String(outcome.status) : `[closed ${outcome.closed}]`;
  return `${prefix} ${what} ${(performance.now() - startedMs).toFixed(1)}ms`;
}
