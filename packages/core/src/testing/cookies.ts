/**
 * The test clients' cookie jar, as a browser-like client keeps one (RFC 6265,
 * reduced to one host): Set-Cookie from responses is stored, and matching
 * cookies go out in a Cookie header with later requests and WebSocket
 * handshakes, so session-based apps can be tested across requests. Domain is
 * ignored (every request goes to the same app); Path, Secure, Max-Age and
 * Expires are honored.
 */
import type { ByteString } from '../bytes.js';

interface StoredCookie {
  value: ByteString;
  path: string;
  secure: boolean;
  /** Epoch ms after which the cookie is gone; null for a session cookie. */
  expires: number | null;
}

/** The cookies a test client holds, keyed by name and path. */
export class CookieJar {
  // name -> path -> cookie: the same name may exist for several paths (RFC 6265 5.3 step 11).
  private readonly cookies = new Map<string, Map<string, StoredCookie>>();

  /** The value of cookie `name` (for any path), or undefined. */
  get(name: string): ByteString | undefined {
    const byPath = this.cookies.get(name);
    if (byPath === undefined) return undefined;
    for (const c of byPath.values()) if (!expired(c)) return c.value;
    return undefined;
  }

  /** Sets a session cookie for every path (what a test does to pretend it was logged in). */
  set(name: string, value: ByteString, path = '/'): void {
    this.store(name, { value, path, secure: false, expires: null });
  }

  /** Forgets cookie `name` on every path. */
  delete(name: string): void {
    this.cookies.delete(name);
  }

  /** Forgets every cookie. */
  clear(): void {
    this.cookies.clear();
  }

  /** name -> value of every live cookie, for assertions. */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, byPath] of this.cookies) for (const c of byPath.values()) if (!expired(c)) out[name] = c.value;
    return out;
  }

  /** Stores the Set-Cookie headers of a response to a request for `requestPath`. */
  receive(setCookies: readonly ByteString[], requestPath: string): void {
    for (const line of setCookies) this.receiveOne(line, requestPath);
  }

  /** The Cookie header value for a request to `path` over `scheme`, or null when no cookie matches. */
  header(path: string, scheme: string): ByteString | null {
    const parts: string[] = [];
    for (const [name, byPath] of this.cookies) {
      for (const c of byPath.values()) {
        if (expired(c) || (c.secure && scheme !== 'https' && scheme !== 'wss') || !pathMatches(path, c.path)) continue;
        parts.push(`${name}=${c.value}`);
      }
    }
    return parts.length === 0 ? null : parts.join('; ');
  }

  private receiveOne(line: ByteString, requestPath: string): void {
    const [pair = '', ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return; // RFC 6265 5.2: no name, ignore the line
    const name = pair.slice(0, eq).trim();
    const cookie: StoredCookie = { value: pair.slice(eq + 1).trim(), path: defaultPath(requestPath), secure: false, expires: null };
    let maxAgeSeen = false;
    for (const attr of attrs) {
      const i = attr.indexOf('=');
      const key = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const val = i === -1 ? '' : attr.slice(i + 1).trim();
      if (key === 'path' && val.startsWith('/')) cookie.path = val;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'max-age' && /^-?[0-9]+$/.test(val)) {
        // Max-Age wins over Expires (RFC 6265 5.3 step 3).
        maxAgeSeen = true;
        cookie.expires = Date.now() + Number(val) * 1000;
      } else if (key === 'expires' && !maxAgeSeen) {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) cookie.expires = t;
      }
    }
    this.store(name, cookie);
  }

  private store(name: string, cookie: StoredCookie): void {
    let byPath = this.cookies.get(name);
    if (expired(cookie)) {
      // An expiry in the past is how a server deletes a cookie.
      byPath?.delete(cookie.path);
      if (byPath?.size === 0) this.cookies.delete(name);
      return;
    }
    if (byPath === undefined) this.cookies.set(name, (byPath = new Map()));
    byPath.set(cookie.path, cookie);
  }
}

function expired(c: StoredCookie): boolean {
  return c.expires !== null && c.expires <= Date.now();
}

/** RFC 6265 5.1.4: the directory of the request path. */
function defaultPath(requestPath: string): string {
  const q = requestPath.indexOf('?');
  const path = q === -1 ? requestPath : requestPath.slice(0, q);
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** RFC 6265 5.1.4: path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}
