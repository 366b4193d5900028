/**
 * A bounded mutation fuzzer for HTTP/1.1 servers: it takes well-formed
 * requests and the hostile corpus as seeds, mutates them (byte flips,
 * inserted CR/LF/NUL/colon/space, cut, duplicated or swapped lines, huge
 * repeats) with a seeded generator, and sends them for a fixed time. What it
 * reports are the findings that matter for a server: 5xx answers (an
 * internal error on client input), and whether the server still serves.
 */
import { HOSTILE_REQUESTS, bytesOf } from '../corpus/hostile-requests.js';
import { rawExchange } from './raw-exchange.js';

/** Options of fuzz(). */
export interface FuzzOptions {
  port: number;
  /** How long to run. */
  seconds: number;
  /** Seed of the generator: a finding is reproduced by re-running with the same seed. */
  seed: number;
  /** Requests in flight at once. */
  concurrency: number;
}

/** What a fuzz run saw. */
export interface FuzzReport {
  sent: number;
  /** Count per first status code seen, or 'closed' / 'no answer' (within the short per-request wait). */
  outcomes: Record<string, number>;
  /** Mutated requests that got a 5xx, as latin-1 text (at most 20 kept). */
  serverErrors: string[];
}

const VALID_SEEDS = [
  'GET /fuzz/a?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n',
  'POST /fuzz/b HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /fuzz/c HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  'PUT /fuzz/d HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc',
];

const INTERESTING = ['\r', '\n', '\r\n', '\x00', ':', ' ', '\t', ',', ';', '\x7f', '\xff', '0', '-', 'chunked', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', '\r\n\r\n'];

/** xorshift32: small, fast, and reproducible from a seed. */
function generator(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** One mutated request from a seed, as a latin-1 string. */
export function mutate(seed: string, rand: () => number): string {
  let s = seed;
  const rounds = 1 + Math.floor(rand() * 4);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rand() * (s.length + 1));
    switch (Math.floor(rand() * 7)) {
      case 0: // flip one byte
        s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(at + 1);
        break;
      case 1: // insert an interesting token
        s = s.slice(0, at) + pick(INTERESTING) + s.slice(at);
        break;
      case 2: // delete a run
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 8));
        break;
      case 3: // cut the request short
        s = s.slice(0, at);
        break;
      case 4: {
        // duplicate or swap header lines
        const lines = s.split('\r\n');
        const i = Math.floor(rand() * lines.length);
        const j = Math.floor(rand() * lines.length);
        if (rand() < 0.5) lines.splice(i, 0, lines[j]!);
        else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        s = lines.join('\r\n');
        break;
      }
      case 5: // a huge repeat
        s = s.slice(0, at) + pick(['a', '0', ' ', 'x-y: z\r\n']).repeat(1 + Math.floor(rand() * 20_000)) + s.slice(at);
        break;
      default: // replace a digit run by a large or odd number
        s = s.replace(/\d+/, pick(['99999999999999999999', '-1', '+5', '0x10', '1 1', '']));
    }
  }
  return s;
}

/** Sends mutated requests to `port` for `seconds` and reports what came back. */
export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rand = generator(options.seed);
  const seeds = [...VALID_SEEDS, ...HOSTILE_REQUESTS.map((e) => Buffer.from(bytesOf(e)).toString('latin1'))];
  const report: FuzzReport = { sent: 0, outcomes: {}, serverErrors: [] };
  const deadline = performance.now() + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const request = mutate(seeds[Math.floor(rand() * seeds.length)]!, rand);
      report.sent++;
      // A server may hold an unanswerable request until its idle timeout: judge within a short wait.
      const out = await rawExchange(options.port, Buffer.from(request, 'latin1'), { timeoutMs: 1500, waitForClose: false });
      const key = out.status !== null ? String(out.status) : out.closed ? 'closed' : 'no answer';
      report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
      if (out.status !== null && out.status >= 500 && out.status !== 501 && out.status !== 505 && report.serverErrors.length < 20) report.serverErrors.push(request.slice(0, 500));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return report;
}
