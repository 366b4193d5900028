/**
 * Constant-rate HTTP load in the manner of wrk2: requests are scheduled at a
 * fixed rate whatever the server does, and each latency is measured from the
 * time the request was due, not from when a connection was free to send it
 * (so a stalled server shows up in the tail instead of slowing the load:
 * no coordinated omission). Keep-alive GETs over N connections, one request
 * in flight per connection. Prints
 * `{"sent", "completed", "seconds", "p50Ms", "p90Ms", "p99Ms", "maxMs"}`.
 *
 *   node rate.js <url> <requests-per-second> <seconds> [connections]
 */
import { connect, type Socket } from 'node:net';
import { percentile } from '../stats.js';

const [url = '', rateArg = '5000', secArg = '5', connArg = '50'] = process.argv.slice(2);
const target = new URL(url);
const rate = Number(rateArg);
const seconds = Number(secArg);
const connections = Number(connArg);
const REQUEST = Buffer.from(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`, 'latin1');

const latencies = new Float64Array(Math.ceil(rate * seconds) + 16);
let completed = 0;
let lastDone = 0;
let scheduled = 0;
const due: number[] = []; // due times of requests waiting for a free connection
const idle: Conn[] = [];

/** One keep-alive connection; knows when its current response is complete. */
class Conn {
  private buffer = '';
  private dueAt = 0;
  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
  }
  send(dueAt: number): void {
    this.dueAt = dueAt;
    this.socket.write(REQUEST);
  }
  private onData(d: Buffer): void {
    this.buffer += d.toString('latin1');
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buffer.slice(0, headEnd).toLowerCase();
    const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
    let end: number;
    if (length) end = headEnd + 4 + Number(length[1]);
    else if (head.includes('transfer-encoding: chunked')) {
      const last = this.buffer.indexOf('\r\n0\r\n\r\n', headEnd);
      end = last < 0 ? Infinity : last + 7;
    } else throw new Error(`response without a length: ${head.split('\r\n')[0]}`);
    if (this.buffer.length < end) return;
    if (this.buffer.length > end) throw new Error('more bytes than one response (pipelining is not used)');
    this.buffer = '';
    if (completed < latencies.length) latencies[completed] = performance.now() - this.dueAt;
    completed++;
    lastDone = performance.now();
    const next = due.shift();
    if (next !== undefined) this.send(next);
    else idle.push(this);
  }
}

function open(): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => resolve(new Conn(socket)));
    socket.once('error', reject);
  });
}

const conns = await Promise.all(Array.from({ length: connections }, open));
idle.push(...conns);
const start = performance.now();
const total = Math.floor(rate * seconds);
const interval = 1000 / rate;
const tick = setInterval(() => {
  const now = performance.now();
  // Every request due by now is issued (late ticks issue several at once, each keeping its own due time).
  while (scheduled < total && start + scheduled * interval <= now) {
    const dueAt = start + scheduled * interval;
    scheduled++;
    const conn = idle.pop();
    if (conn) conn.send(dueAt);
    else due.push(dueAt);
  }
  if (scheduled >= total) clearInterval(tick);
}, 1);

// Give the stragglers up to 2 s after the last request is due.
await new Promise<void>((resolve) => {
  const check = setInterval(() => {
    if (completed >= total || performance.now() > start + seconds * 1000 + 2000) {
      clearInterval(check);
      resolve();
    }
  }, 10);
});
// Achieved rate over the time the requests took, up to the last answer (not the 2 s grace).
const elapsed = ((completed > 0 ? lastDone : performance.now()) - start) / 1000;
const done = latencies.subarray(0, Math.min(completed, latencies.length)).sort();
process.stdout.write(
  JSON.stringify({
    sent: scheduled,
    completed,
    seconds: elapsed,
    p50Ms: percentile(done, 50),
    p90Ms: percentile(done, 90),
    p99Ms: percentile(done, 99),
    maxMs: done.length > 0 ? done[done.length - 1] : Number.NaN,
  }) + '\n',
);
for (const c of conns) c.socket.destroy();
