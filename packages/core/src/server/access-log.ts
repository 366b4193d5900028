/** The access-log line every server writes, uvicorn's with the request's duration: `client - "GET /path HTTP/1.1" 200 1.2ms`. */
import { isByteString } from '../bytes.js';

/** `client - "METHOD target HTTP/version"`: the part of the line known when the request arrives. */
export function accessPrefix(client: readonly [string, number] | null, method: string, target: string, httpVersion: string): string {
  const who = client === null ? '-' : `${client[0]}:${client[1]}`;
  const shown = !isByteString(target) ? '?' : target.length > 2048 ? `${target.slice(0, 2048)}...` : target;
  return `${who} - "${method} ${shown} HTTP/${httpVersion}"`;
}

/** The whole line: the prefix, the status (`-` when none was sent) and the time since `startedMs` (performance.now()). */
export function accessLine(prefix: string, status: number, startedMs: number): string {
  return `${prefix} ${status === 0 ? '-' : status} ${(performance.now() - startedMs).toFixed(1)}ms`;
}
