import { describe, expect, it } from 'vitest';
import { percentile, summarize } from '../src/stats.js';
import { parseH2load } from '../src/h2load.js';
import { parseWrk, wrkDurationMs } from '../src/wrk.js';

const WRK_OUTPUT = `Running 5s test @ http://127.0.0.1:8000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  251.44us   9.87ms   90.12%
    Req/Sec    48.21k     2.10k   51.30k    78.00%
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.32ms
     99%    2.50s
  239870 requests in 5.00s, 27.45MB read
  Socket errors: connect 0, read 3, write 1, timeout 0
  Non-2xx or 3xx responses: 2
Requests/sec:  47974.12
Transfer/sec:      5.49MB
`;

describe('wrk report', () => {
  it('reads rate, request count, percentiles and errors', () => {
    expect(parseWrk(WRK_OUTPUT)).toEqual({ requests: 239870, rps: 47974.12, p50Ms: 0.812, p99Ms: 2500, errors: 6 });
  });
  it('converts every duration unit wrk prints', () => {
    expect([wrkDurationMs('900us'), wrkDurationMs('1.5ms'), wrkDurationMs('2s'), wrkDurationMs('1.00m'), wrkDurationMs('?')]).toEqual([0.9, 1.5, 2000, 60_000, Number.NaN]);
  });
  it('refuses output that is not a wrk report', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/unreadable wrk output/);
  });
});

describe('statistics', () => {
  it('gives the median with min and max, of odd and even counts', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(summarize([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
    expect(summarize([]).n).toBe(0);
  });
  it('takes nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 99), percentile(sorted, 100), percentile(new Float64Array(0), 50)]).toEqual([50, 99, 100, Number.NaN]);
  });
});

// A real h2load (nghttp2 1.52) report, trimmed of its progress lines.
const H2LOAD_OUTPUT = `finished in 83.72ms, 477.78 req/s, 21.21KB/s
requests: 40 total, 40 started, 40 done, 38 succeeded, 1 failed, 1 errored, 0 timeout
status codes: 38 2xx, 0 3xx, 0 4xx, 0 5xx
                     min         max         mean         sd        +/- sd
time for request:     1.03ms     29.06ms      8.02ms      7.41ms    80.00%
`;

describe('parseH2load', () => {
  it('reads the rate, the requests that succeeded, the mean time and the failures', () => {
    expect(parseH2load(H2LOAD_OUTPUT)).toEqual({ requests: 38, rps: 477.78, meanMs: 8.02, errors: 2 });
  });

  it('refuses output that is not a report', () => {
    expect(() => parseH2load('connect to 127.0.0.1:1 failed')).toThrow(/unreadable h2load output/);
  });
});
