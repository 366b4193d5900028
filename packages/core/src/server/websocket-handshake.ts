/**
 * The rules of a WebSocket opening handshake that a server checks before the
 * app runs (asgi.websocket.handshake.1, RFC 6455 section 4): whether a
 * request asks for a WebSocket at all, and what answers one that breaks the
 * handshake. Transports whose WebSocket library judges more (ws's
 * subprotocol and extension parsers on @tsgi/node) add their own checks after these.
 */

/** RFC 6455 section 4.1: the key is 16 random bytes in base64. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
const WEBSOCKET_TOKEN = /(?:^|[\s,])websocket(?:$|[\s,])/i;

/** True when an Upgrade header value asks for a WebSocket (another upgrade is served as plain HTTP). */
export function wantsWebSocket(upgrade: string | null | undefined): boolean {
  return upgrade !== undefined && upgrade !== null && WEBSOCKET_TOKEN.test(upgrade);
}

/** A handshake refused before the app runs: the status, the rule broken, and extra response headers. */
export interface HandshakeRefusal {
  status: 400 | 426;
  reason: string;
  headers: Array<[string, string]>;
}

/** What is wrong with a handshake's method, version and key, or null when they are sound. */
export function handshakeRefusal(method: string, version: string | null | undefined, key: string | null | undefined): HandshakeRefusal | null {
  // RFC 6455 section 4.4: 426 with the one version this server speaks.
  if (version !== '13') return { status: 426, reason: `Sec-WebSocket-Version ${JSON.stringify(version ?? null)} (RFC 6455 section 4.4: this server speaks 13)`, headers: [['sec-websocket-version', '13']] };
  if (method !== 'GET') return { status: 400, reason: `method ${JSON.stringify(method)} (RFC 6455 section 4.1: a handshake is a GET)`, headers: [] };
  if (key === null || key === undefined || !KEY.test(key)) return { status: 400, reason: `Sec-WebSocket-Key ${JSON.stringify(key ?? null)} (RFC 6455 section 4.1: 16 bytes in base64)`, headers: [] };
  return null;
}
