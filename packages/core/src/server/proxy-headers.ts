/**
 * Proxy headers, as uvicorn's --proxy-headers / --forwarded-allow-ips: when
 * (and only when) the direct peer is a trusted proxy, the client address and
 * scheme of a request come from the headers that proxy added instead of the
 * socket. Transport-independent: it rewrites a RequestHead before the scope
 * is built, so every server shares the same rules.
 *
 * Rules:
 * - `Forwarded` (RFC 7239), when present, wins over the X-Forwarded-* pair.
 *   Its elements are walked from the right (each proxy appends one); the
 *   first whose `for=` is not itself trusted is the client, and that
 *   element's `proto=` (if any) is the scheme the client used.
 * - Otherwise `X-Forwarded-For` is walked the same way (all lines joined with
 *   commas, as RFC 9110 defines repeated fields), and `X-Forwarded-Proto`
 *   (its last line, trimmed) sets the scheme when it is http, https, ws or wss.
 * - When every hop is trusted, the leftmost one is the client (uvicorn does
 *   the same); with `*` the leftmost hop is always taken.
 * - The client port is the one in `Forwarded`'s `for=` when given, else 0
 *   (X-Forwarded-For carries no port; uvicorn reports 0 as well).
 */
import { BlockList, isIP } from 'node:net';
import type { RequestHead } from '../asgi/scope.js';
import { describe } from '../bytes.js';

/** A parsed --forwarded-allow-ips list. */
export interface TrustedHosts {
  /** True for `*`: every peer is trusted. */
  readonly all: boolean;
  /** True when `host` (an IP address or a literal such as a unix socket name) is trusted; null (unix socket peer) only with `*`. */
  has(host: string | null): boolean;
}

/**
 * Parses a trusted-proxy list: IP addresses, CIDR networks, `*`, or other
 * literal names matched exactly; a string is split at commas. Throws a
 * TypeError naming a malformed entry.
 */
export function parseTrustedHosts(spec: string | readonly string[]): TrustedHosts {
  const entries = (typeof spec === 'string' ? spec.split(',') : spec.flatMap((s) => s.split(',')))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.includes('*')) return { all: true, has: () => true };
  const blocks = new BlockList();
  const literals = new Set<string>();
  for (const entry of entries) {
    const slash = entry.indexOf('/');
    if (slash === -1) {
      const ip = normalizeIp(entry);
      const family = isIP(ip);
      if (family === 4) blocks.addAddress(ip, 'ipv4');
      else if (family === 6) blocks.addAddress(ip, 'ipv6');
      else literals.add(entry);
      continue;
    }
    const net = entry.slice(0, slash);
    const bitsText = entry.slice(slash + 1);
    const family = isIP(net);
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (family === 0 || !(bits >= 0 && bits <= (family === 4 ? 32 : 128))) {
      throw new TypeError(`forwardedAllowIps: ${describe(entry)} is not an IP address, a CIDR network (like 10.0.0.0/8) or '*'`);
    }
    blocks.addSubnet(net, bits, family === 4 ? 'ipv4' : 'ipv6');
  }
  // BlockList.check parses the address on every call; peers repeat, so answers are remembered (bounded).
  const known = new Map<string, boolean>();
  return {
    all: false,
    has(host: string | null): boolean {
      if (host === null) return false;
      let yes = known.get(host);
      if (yes === undefined) {
        const ip = normalizeIp(host);
        const family = isIP(ip);
        yes = literals.has(host) || (family !== 0 && blocks.check(ip, family === 4 ? 'ipv4' : 'ipv6'));
        if (known.size >= 4096) known.clear();
        known.set(host, yes);
      }
      return yes;
    },
  };
}

/**
 * Rewrites `head.client` and `head.scheme` from the proxy headers when the
 * direct peer (`head.client`) is trusted; leaves the head alone otherwise.
 * Runs per request: a single pass over the headers, nothing allocated and
 * no address check when no proxy header is present.
 */
export function applyProxyHeaders(head: RequestHead, trusted: TrustedHosts): void {
  // The header scan comes first: most requests carry no proxy header, and then the peer need not be checked.
  let forwarded: string | undefined;
  let xff: string | undefined;
  let xfp: string | undefined;
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (name.charCodeAt(0) !== 0x66 /* f */ && name.charCodeAt(0) !== 0x78 /* x */) continue;
    if (name === 'forwarded') forwarded = forwarded === undefined ? value : `${forwarded},${value}`;
    else if (name === 'x-forwarded-for') xff = xff === undefined ? value : `${xff},${value}`;
    else if (name === 'x-forwarded-proto') xfp = value;
  }
  if (forwarded === undefined && xff === undefined && xfp === undefined) return;
  if (!trusted.has(head.client === null ? null : head.client[0])) return;
  if (forwarded !== undefined) {
    applyForwarded(head, forwarded, trusted);
    return;
  }
  if (xfp !== undefined) {
    const scheme = schemeOf(xfp.trim());
    if (scheme !== null) head.scheme = scheme;
  }
  if (xff !== undefined) {
    const hops = xff.split(',').map((h) => h.trim()).filter((h) => h !== '');
    const host = pickClient(hops, trusted);
    if (host !== undefined) head.client = [normalizeIp(host), 0];
  }
}

/** One element of a Forwarded header: the parameters tsgi uses. */
export interface ForwardedElement {
  for?: string;
  proto?: string;
}

function applyForwarded(head: RequestHead, value: string, trusted: TrustedHosts): void {
  const elements = parseForwarded(value);
  const withFor = elements.filter((e) => e.for !== undefined);
  if (withFor.length === 0) {
    // Only proto (and the like): take the proto of the nearest element.
    const last = elements[elements.length - 1];
    const scheme = last?.proto === undefined ? null : schemeOf(last.proto);
    if (scheme !== null) head.scheme = scheme;
    return;
  }
  const idx = pickClientIndex(withFor.map((e) => splitNode(e.for!).host), trusted);
  const chosen = withFor[idx]!;
  const node = splitNode(chosen.for!);
  head.client = [node.host, node.port];
  if (chosen.proto !== undefined) {
    const scheme = schemeOf(chosen.proto);
    if (scheme !== null) head.scheme = scheme;
  }
}

/** Parses `Forwarded` (RFC 7239 section 4): elements at commas, pairs at semicolons, quoted values unquoted. */
export function parseForwarded(value: string): ForwardedElement[] {
  const out: ForwardedElement[] = [];
  // Splitting must respect quoted strings, which may contain ',' and ';'.
  let el: ForwardedElement = {};
  let i = 0;
  const n = value.length;
  while (i < n) {
    // Skip whitespace and separators before a pair.
    const c = value[i]!;
    if (c === ' ' || c === '\t' || c === ';') {
      i++;
      continue;
    }
    if (c === ',') {
      out.push(el);
      el = {};
      i++;
      continue;
    }
    const eq = value.indexOf('=', i);
    if (eq === -1) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let v: string;
    if (value[i] === '"') {
      let s = '';
      i++;
      while (i < n && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < n) i++;
        s += value[i];
        i++;
      }
      i++; // closing quote
      v = s;
    } else {
      let j = i;
      while (j < n && value[j] !== ';' && value[j] !== ',') j++;
      v = value.slice(i, j).trim();
      i = j;
    }
    if (key === 'for') el.for = v;
    else if (key === 'proto') el.proto = v;
  }
  out.push(el);
  return out;
}

/** Splits a Forwarded node (`1.2.3.4:80`, `[::1]:80`, `unknown`, `_hidden`) into host and port (0 when absent). */
function splitNode(node: string): { host: string; port: number } {
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    const host = close === -1 ? node.slice(1) : node.slice(1, close);
    const port = close !== -1 && node[close + 1] === ':' ? portOf(node.slice(close + 2)) : 0;
    return { host, port };
  }
  const colon = node.indexOf(':');
  if (colon !== -1 && node.indexOf(':', colon + 1) === -1) {
    return { host: node.slice(0, colon), port: portOf(node.slice(colon + 1)) };
  }
  return { host: normalizeIp(node), port: 0 };
}

function portOf(s: string): number {
  return /^\d{1,5}$/.test(s) && Number(s) <= 65535 ? Number(s) : 0;
}

/** The rightmost untrusted hop, or the leftmost when all are trusted (or with `*`). */
function pickClient(hops: string[], trusted: TrustedHosts): string | undefined {
  if (hops.length === 0) return undefined;
  return hops[pickClientIndex(hops, trusted)];
}

function pickClientIndex(hosts: string[], trusted: TrustedHosts): number {
  if (trusted.all) return 0;
  for (let i = hosts.length - 1; i >= 0; i--) {
    if (!trusted.has(hosts[i]!)) return i;
  }
  return 0;
}

function schemeOf(proto: string): 'http' | 'https' | null {
  const p = proto.toLowerCase();
  if (p === 'http' || p === 'ws') return 'http';
  if (p === 'https' || p === 'wss') return 'https';
  return null;
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as plain IPv4, so one rule covers both forms. */
export function normalizeIp(ip: string): string {
  return ip.length > 7 && (ip.startsWith('::ffff:') || ip.startsWith('::FFFF:')) && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}
