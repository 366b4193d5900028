import { describe, expect, it } from 'vitest';
import { assertByteString, bytesToLatin1, concatBytes, isByteString, isHeaderValue, isToken, latin1ToBytes, latin1ToUtf8, utf8ToLatin1 } from '@tsgi/core';

describe('byte strings', () => {
  it('round-trips every byte value losslessly', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const s = bytesToLatin1(all);
    expect(s.length).toBe(256);
    expect(isByteString(s)).toBe(true);
    expect(new Uint8Array(latin1ToBytes(s))).toEqual(all);
  });

  it('refuses chars above 0xFF with a TypeError naming the char', () => {
    expect(isByteString('caf\u00e9')).toBe(true);
    expect(isByteString('\u20ac')).toBe(false);
    expect(() => assertByteString('a\u20acb', 'header value')).toThrow(/header value .*U\+20AC at index 1/);
    expect(() => latin1ToBytes('\u0100')).toThrow(TypeError);
    expect(() => assertByteString(42, 'raw_path')).toThrow(/raw_path must be a byte string.*number 42/);
  });

  it('maps UTF-8 text to its byte string and back', () => {
    expect(utf8ToLatin1('é')).toBe('\u00c3\u00a9');
    expect(latin1ToUtf8(utf8ToLatin1('ünïcödé ✓'))).toBe('ünïcödé ✓');
  });

  it('checks tokens and header values', () => {
    expect(isToken('content-type')).toBe(true);
    expect(isToken('bad name')).toBe(false);
    expect(isToken('')).toBe(false);
    expect(isHeaderValue('text/plain; charset=\u00ff')).toBe(true);
    expect(isHeaderValue('a\r\nb')).toBe(false);
    expect(isHeaderValue('a\u0000')).toBe(false);
  });
});

describe('concatBytes', () => {
  it('joins chunks in order, with or without a known total, and hands back a single chunk as is', () => {
    const a = Uint8Array.of(1, 2);
    const b = Uint8Array.of(3);
    expect([...concatBytes([a, new Uint8Array(0), b])]).toEqual([1, 2, 3]);
    expect([...concatBytes([a, b], 3)]).toEqual([1, 2, 3]);
    expect(concatBytes([a])).toBe(a);
    expect(concatBytes([]).byteLength).toBe(0);
  });
});
