import { describe, expect, it } from 'vitest';
import type { RequestHead } from '@tsgi/core';
import { applyProxyHeaders, parseForwarded, parseTrustedHosts } from '@tsgi/core/server';

function head(client: [string, number] | null, headers: Array<[string, string]>): RequestHead {
  return { method: 'GET', target: '/', httpVersion: '1.1', headers, client, server: ['127.0.0.1', 8000], scheme: 'http' };
}

describe('parseTrustedHosts', () => {
  it('matches addresses, CIDR networks and IPv4-mapped IPv6', () => {
    const t = parseTrustedHosts('127.0.0.1, 10.0.0.0/8,::1, fd00::/8');
    expect(t.all).toBe(false);
    expect(t.has('127.0.0.1')).toBe(true);
    expect(t.has('::ffff:127.0.0.1')).toBe(true);
    expect(t.has('10.200.3.4')).toBe(true);
    expect(t.has('11.0.0.1')).toBe(false);
    expect(t.has('::1')).toBe(true);
    expect(t.has('fd12::5')).toBe(true);
    expect(t.has('fe80::1')).toBe(false);
    expect(t.has(null)).toBe(false);
  });

  it('accepts an array, literals and the wildcard', () => {
    expect(parseTrustedHosts(['192.168.0.1', 'proxy.sock']).has('proxy.sock')).toBe(true);
    const all = parseTrustedHosts('*');
    expect(all.all).toBe(true);
    expect(all.has('8.8.8.8')).toBe(true);
    expect(all.has(null)).toBe(true);
  });

  it('rejects a malformed CIDR entry, naming it', () => {
    expect(() => parseTrustedHosts('10.0.0.0/33')).toThrow(/"10\.0\.0\.0\/33" is not an IP address/);
    expect(() => parseTrustedHosts('nope/8')).toThrow(TypeError);
  });
});

describe('applyProxyHeaders', () => {
  const trusted = parseTrustedHosts('127.0.0.1,10.0.0.0/8');

  it('ignores proxy headers from an untrusted peer', () => {
    const h = head(['8.8.8.8', 1234], [['x-forwarded-for', '1.2.3.4'], ['x-forwarded-proto', 'https']]);
    applyProxyHeaders(h, trusted);
    expect(h.client).toEqual(['8.8.8.8', 1234]);
    expect(h.scheme).toBe('http');
  });

  it('takes the rightmost untrusted X-Forwarded-For hop and the proto', () => {
    const h = head(['127.0.0.1', 1234], [
      ['x-forwarded-for', '6.6.6.6, 1.2.3.4'],
      ['x-forwarded-for', '10.1.1.1'],
      ['x-forwarded-proto', 'https'],
    ]);
    applyProxyHeaders(h, trusted);
    expect(h.client).toEqual(['1.2.3.4', 0]);
    expect(h.scheme).toBe('https');
  });

  it('takes the leftmost hop when every hop is trusted, or with *', () => {
    const h = head(['127.0.0.1', 1], [['x-forwarded-for', '10.0.0.2, 10.0.0.3']]);
    applyProxyHeaders(h, trusted);
    expect(h.client).toEqual(['10.0.0.2', 0]);
    const h2 = head(['9.9.9.9', 1], [['x-forwarded-for', '1.1.1.1, 2.2.2.2']]);
    applyProxyHeaders(h2, parseTrustedHosts('*'));
    expect(h2.client).toEqual(['1.1.1.1', 0]);
  });

  it('maps ws/wss protos and ignores unknown ones', () => {
    const h = head(['127.0.0.1', 1], [['x-forwarded-proto', ' wss ']]);
    applyProxyHeaders(h, trusted);
    expect(h.scheme).toBe('https');
    const h2 = head(['127.0.0.1', 1], [['x-forwarded-proto', 'gopher']]);
    applyProxyHeaders(h2, trusted);
    expect(h2.scheme).toBe('http');
  });

  it('prefers Forwarded, with the chosen element\'s port and proto', () => {
    const h = head(['127.0.0.1', 1], [
      ['x-forwarded-for', '5.5.5.5'],
      ['forwarded', 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.9;proto=http'],
    ]);
    applyProxyHeaders(h, trusted);
    expect(h.client).toEqual(['2001:db8::1', 4711]);
    expect(h.scheme).toBe('https');
  });

  it('gives a unix-socket peer (client null) trust only with *', () => {
    const h = head(null, [['x-forwarded-for', '1.2.3.4']]);
    applyProxyHeaders(h, trusted);
    expect(h.client).toBeNull();
    applyProxyHeaders(h, parseTrustedHosts('*'));
    expect(h.client).toEqual(['1.2.3.4', 0]);
  });
});

describe('parseForwarded', () => {
  it('handles quoted strings with separators inside, case-insensitive keys', () => {
    expect(parseForwarded('For="_a,b;c";Proto=https;by=x, for=unknown')).toEqual([
      { for: '_a,b;c', proto: 'https' },
      { for: 'unknown' },
    ]);
  });
});
