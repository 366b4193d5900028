import { describe, expect, it } from 'vitest';
import { HeadRules, MAX_HEAD_BYTES, STATUS_REASONS, statusReason, type HeadFault } from '@tsgi/core/server';

/** Runs one head through fresh rules (or `rules`, to check reuse) and returns the rules after end(). */
function check(fields: Array<[string, string]>, version = '1.1', rules = new HeadRules(), requestLineBytes = 16): { rules: HeadRules; fault: HeadFault | null } {
  rules.begin(version, requestLineBytes);
  for (const [name, value] of fields) rules.field(name, value);
  const fault = rules.end();
  return { rules, fault };
}

const HOST: [string, string] = ['host', 'example.com'];

describe('HeadRules: a good head', () => {
  it('passes a plain GET with a Host and reports no framing', () => {
    const { rules, fault } = check([HOST, ['accept', '*/*']]);
    expect(fault).toBeNull();
    expect(rules.fault).toBeNull();
    expect(rules.contentLength).toBe(-1);
    expect(rules.chunked).toBe(false);
    expect(rules.proxyHeader).toBe(false);
  });

  it('reads Content-Length as a number', () => {
    const { rules, fault } = check([HOST, ['content-length', '1234']]);
    expect(fault).toBeNull();
    expect(rules.contentLength).toBe(1234);
    expect(rules.chunked).toBe(false);
  });

  it('accepts Content-Length 0 and leading zeros, and a repeated Content-Length with the same value', () => {
    expect(check([HOST, ['content-length', '0']]).rules.contentLength).toBe(0);
    expect(check([HOST, ['content-length', '007']]).rules.contentLength).toBe(7);
    const { rules, fault } = check([HOST, ['content-length', '5'], ['content-length', '5']]);
    expect(fault).toBeNull();
    expect(rules.contentLength).toBe(5);
  });

  it('sees Transfer-Encoding: chunked, in any case', () => {
    for (const te of ['chunked', 'Chunked', ' CHUNKED ']) {
      const { rules, fault } = check([HOST, ['transfer-encoding', te]]);
      expect(fault, te).toBeNull();
      expect(rules.chunked, te).toBe(true);
      expect(rules.contentLength, te).toBe(-1);
    }
  });

  it('flags Forwarded and X-Forwarded-* fields as proxy headers, and nothing else', () => {
    for (const name of ['forwarded', 'x-forwarded-for', 'x-forwarded-proto']) {
      const { rules, fault } = check([HOST, [name, 'for=1.2.3.4']]);
      expect(fault, name).toBeNull();
      expect(rules.proxyHeader, name).toBe(true);
    }
    for (const name of ['x-real-ip', 'forwarded-for', 'x-forward-for']) {
      expect(check([HOST, [name, '1.2.3.4']]).rules.proxyHeader, name).toBe(false);
    }
  });

  it('takes an HTTP/1.0 request without Host', () => {
    const { rules, fault } = check([['accept', '*/*']], '1.0');
    expect(fault).toBeNull();
    expect(rules.fault).toBeNull();
  });

  it('takes a head just under MAX_HEAD_BYTES', () => {
    expect(check([HOST, ['x-pad', 'a'.repeat(MAX_HEAD_BYTES - 200)]]).fault).toBeNull();
  });
});

describe('HeadRules: faults and their statuses', () => {
  it('refuses Content-Length fields that disagree with 400 (RFC 9112 section 6.3)', () => {
    const { rules, fault } = check([HOST, ['content-length', '3'], ['content-length', '4']]);
    expect(fault?.status).toBe(400);
    expect(fault?.reason).toMatch(/Content-Length/);
    expect(fault?.reason).toContain('RFC 9112 section 6.3');
    expect(rules.fault).toBe(fault);
  });

  it.each([['+3'], ['-3'], ['0x3'], ['1 2'], ['abc'], ['3,3'], [''], ['3.0'], ['12345678901234567890']])(
    'refuses the invalid Content-Length %j with 400, naming the value',
    (value) => {
      const { rules, fault } = check([HOST, ['content-length', value]]);
      expect(fault?.status).toBe(400);
      expect(fault?.reason).toContain('RFC 9112 section 6.3');
      expect(fault?.reason).toContain(JSON.stringify(value));
      // The length is unknown: nobody may frame a body with it.
      expect(rules.contentLength).toBe(-1);
    },
  );

  it.each([['gzip, chunked'], ['deflate, chunked'], ['GZIP , Chunked']])(
    'answers Transfer-Encoding %j (a coding other than chunked, framed by a final chunked) with 501, naming the value',
    (value) => {
      const { rules, fault } = check([HOST, ['transfer-encoding', value]]);
      expect(fault?.status).toBe(501);
      expect(fault?.reason).toContain('RFC 9112 section 6.1');
      expect(fault?.reason).toContain(JSON.stringify(value));
      expect(rules.chunked).toBe(true);
    },
  );

  it.each([['gzip'], ['xchunked'], ['identity'], ['chunked, gzip']])(
    'refuses Transfer-Encoding %j (the final coding is not chunked: the body length is unknown) with 400, naming the value',
    (value) => {
      // RFC 9112 section 6.3: a request whose final transfer coding is not chunked MUST get 400.
      const { fault } = check([HOST, ['transfer-encoding', value]]);
      expect(fault?.status).toBe(400);
      expect(fault?.reason).toMatch(/RFC 9112 section 6\.[13]/);
      expect(fault?.reason).toContain(JSON.stringify(value));
    },
  );

  it('refuses chunked applied twice in one field with 400', () => {
    const { fault } = check([HOST, ['transfer-encoding', 'chunked, chunked']]);
    expect(fault?.status).toBe(400);
    expect(fault?.reason).toContain('RFC 9112 section 6.1');
    expect(fault?.reason).toContain('"chunked, chunked"');
  });

  it('refuses two Transfer-Encoding: chunked fields with 400', () => {
    const { fault } = check([HOST, ['transfer-encoding', 'chunked'], ['transfer-encoding', 'chunked']]);
    expect(fault?.status).toBe(400);
    expect(fault?.reason).toContain('RFC 9112 section 6.1');
  });

  it('refuses a second Transfer-Encoding field after chunked with 400, whatever it names', () => {
    expect(check([HOST, ['transfer-encoding', 'chunked'], ['transfer-encoding', 'gzip']]).fault?.status).toBe(400);
  });

  it('refuses both Transfer-Encoding and Content-Length with 400, in either order', () => {
    for (const fields of [
      [HOST, ['transfer-encoding', 'chunked'], ['content-length', '3']],
      [HOST, ['content-length', '3'], ['transfer-encoding', 'chunked']],
    ] as Array<Array<[string, string]>>) {
      const { fault } = check(fields);
      expect(fault?.status).toBe(400);
      expect(fault?.reason).toMatch(/Content-Length and Transfer-Encoding/);
      expect(fault?.reason).toContain('RFC 9112 section 6.1');
    }
  });

  it('refuses two Host fields with 400 (RFC 9112 section 3.2), even when they agree', () => {
    const { fault } = check([HOST, HOST]);
    expect(fault?.status).toBe(400);
    expect(fault?.reason).toContain('RFC 9112 section 3.2');
  });

  it('refuses an HTTP/1.1 request without Host with 400', () => {
    const { rules, fault } = check([['accept', '*/*']], '1.1');
    expect(fault?.status).toBe(400);
    expect(fault?.reason).toMatch(/without a Host/);
    expect(fault?.reason).toContain('RFC 9112 section 3.2');
    expect(rules.fault).toBe(fault);
  });

  it('refuses an empty field name with 400 (RFC 9110 section 5.1)', () => {
    const { fault } = check([HOST, ['', 'x']]);
    expect(fault?.status).toBe(400);
    expect(fault?.reason).toContain('RFC 9110 section 5.1');
  });

  it.each([['2.0'], ['0.9'], ['1.2']])('answers HTTP version %j with 505, naming it', (version) => {
    const { fault } = check([HOST], version);
    expect(fault?.status).toBe(505);
    expect(fault?.reason).toContain('RFC 9112 section 2.3');
    expect(fault?.reason).toContain(JSON.stringify(version));
  });

  it('answers a head over MAX_HEAD_BYTES with 431, in end() and in rules.fault', () => {
    expect(MAX_HEAD_BYTES).toBe(16384);
    const { rules, fault } = check([HOST, ['x-pad', 'a'.repeat(MAX_HEAD_BYTES)]]);
    expect(fault?.status).toBe(431);
    expect(fault?.reason).toContain(String(MAX_HEAD_BYTES));
    expect(rules.fault).toEqual(fault);
  });

  it('counts the request line and many small fields toward the head size', () => {
    // Each field alone is small; together they pass the limit.
    const fields: Array<[string, string]> = [HOST];
    for (let i = 0; i < 200; i++) fields.push([`x-f${i}`, 'v'.repeat(100)]);
    expect(check(fields).fault?.status).toBe(431);
    // A request line of MAX_HEAD_BYTES alone is over.
    expect(check([HOST], '1.1', new HeadRules(), MAX_HEAD_BYTES + 1).fault?.status).toBe(431);
  });

  it('takes its bound from maxBytes (h11MaxIncompleteEventSize), naming it in the reason', () => {
    const big: Array<[string, string]> = [HOST, ['x-pad', 'a'.repeat(30_000)]];
    expect(check(big).fault).toEqual({ status: 431, reason: `a request head over ${MAX_HEAD_BYTES} bytes` });
    expect(check(big, '1.1', new HeadRules(32 * 1024)).fault).toBeNull();
    expect(check(big, '1.1', new HeadRules(20_000)).fault).toEqual({ status: 431, reason: 'a request head over 20000 bytes' });
  });

  it('lets 431 win over a fault seen earlier in the fields', () => {
    const { rules, fault } = check([HOST, HOST, ['content-length', 'abc'], ['x-pad', 'a'.repeat(MAX_HEAD_BYTES)]]);
    expect(fault?.status).toBe(431);
    expect(rules.fault?.status).toBe(431);
  });

  it('keeps the first fault otherwise', () => {
    expect(check([HOST, ['transfer-encoding', 'gzip, chunked'], HOST, ['content-length', 'x']]).fault?.status).toBe(501);
    expect(check([HOST, ['content-length', 'x'], ['transfer-encoding', 'gzip, chunked']]).fault?.status).toBe(400);
    expect(check([HOST, ['content-length', '+1'], ['transfer-encoding', 'gzip, chunked']]).fault?.reason).toContain('"+1"');
    // The version is checked at begin(), before any field.
    expect(check([HOST, ['transfer-encoding', 'gzip, chunked']], '2.0').fault?.status).toBe(505);
    // Faults found at end() (no Host; both Content-Length and Transfer-Encoding) do not replace one from the fields.
    expect(check([['transfer-encoding', 'gzip, chunked']]).fault?.status).toBe(501);
    expect(check([HOST, ['transfer-encoding', 'gzip, chunked'], ['content-length', '3']]).fault?.status).toBe(501);
  });
});

describe('HeadRules: reuse', () => {
  it('begin() resets every field for the next head', () => {
    const rules = new HeadRules();
    check([HOST, ['content-length', '7'], ['transfer-encoding', 'chunked'], ['x-forwarded-for', '1.2.3.4'], ['x-pad', 'a'.repeat(MAX_HEAD_BYTES - 100)]], '1.1', rules);
    expect(rules.fault).not.toBeNull();
    expect(rules.chunked).toBe(true);
    expect(rules.proxyHeader).toBe(true);

    rules.begin('1.1', 16);
    expect(rules.contentLength).toBe(-1);
    expect(rules.chunked).toBe(false);
    expect(rules.proxyHeader).toBe(false);
    expect(rules.fault).toBeNull();
    // One Host (the last head's is forgotten), a Content-Length other than the last head's, and a small head.
    rules.field('host', 'example.com');
    rules.field('content-length', '9');
    rules.field('x-pad', 'a'.repeat(200));
    expect(rules.end()).toBeNull();
    expect(rules.contentLength).toBe(9);
  });

  it('begin() forgets the HTTP version of the last head', () => {
    const rules = new HeadRules();
    check([], '1.0', rules);
    expect(rules.fault).toBeNull();
    expect(check([], '1.1', rules).fault?.status).toBe(400);
    expect(check([], '2.0', rules).fault?.status).toBe(505);
    expect(check([HOST], '1.1', rules).fault).toBeNull();
  });
});

describe('statusReason', () => {
  it("gives RFC 9110's reason phrases", () => {
    expect(statusReason(413)).toBe('Content Too Large');
    expect(statusReason(400)).toBe('Bad Request');
    expect(statusReason(431)).toBe('Request Header Fields Too Large');
    expect(statusReason(501)).toBe('Not Implemented');
    expect(statusReason(505)).toBe('HTTP Version Not Supported');
    expect(statusReason(503)).toBe('Service Unavailable');
  });

  it("has a reason for every status a HeadFault can carry, and 'Error' for one it does not know", () => {
    for (const s of [400, 408, 431, 501, 505]) expect(STATUS_REASONS[s], String(s)).toBeTypeOf('string');
    expect(statusReason(599)).toBe('Error');
    expect(Object.isFrozen(STATUS_REASONS)).toBe(true);
  });
});
