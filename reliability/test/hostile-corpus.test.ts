/**
 * The hostile-request corpus against both servers: every entry gets a 4xx
 * (or its RFC-named status) or a closed connection, never reaches the app,
 * and the server keeps serving. Entries run concurrently (some are only
 * ended by the server's idle timeout), then each is judged in its own test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HOSTILE_REQUESTS, bytesOf, rawExchange, simpleGet, startRecorded, SERVER_KINDS, type ExchangeOutcome, type RecordedServer } from '../src/index.js';

// uWebSockets.js closes a connection it will not answer after its 10 s idle timeout: wait past that.
const DEADLINE_MS = 14_000;

describe.each(SERVER_KINDS)('hostile requests against %s', (kind) => {
  let server: RecordedServer;
  const outcomes = new Map<string, ExchangeOutcome>();
  let alive: { status: number; body: string };
  let seenPaths: string[] = [];

  beforeAll(async () => {
    server = await startRecorded(kind);
    const results = await Promise.all(
      HOSTILE_REQUESTS.map((entry) => rawExchange(server.port, bytesOf(entry), { timeoutMs: DEADLINE_MS, waitForClose: entry.mustClose === true })),
    );
    HOSTILE_REQUESTS.forEach((entry, i) => outcomes.set(entry.id, results[i]!));
    // The figures docs/reliability.md quotes: how each entry ended.
    console.log(`${kind}: ` + HOSTILE_REQUESTS.map((e) => { const o = outcomes.get(e.id)!; return `${e.id}=${o.status ?? (o.closed ? 'closed' : 'open')}${o.ms > 5000 ? `@${o.ms}ms` : ''}`; }).join(' '));
    // Once a fresh request has been answered, every earlier one the app saw is in the record.
    alive = await simpleGet(server.port, '/sentinel');
    seenPaths = server.seen().map((r) => r.path);
  }, DEADLINE_MS + 10_000);

  afterAll(async () => {
    await server?.close();
  });

  test.each(HOSTILE_REQUESTS.map((e) => [e.id, e] as const))('%s is refused', (_id, entry) => {
    const out = outcomes.get(entry.id)!;
    const what = `${entry.why}: got ${JSON.stringify(out.received.slice(0, 200))} (closed: ${out.closed}, ${out.ms} ms)`;
    if (out.status === null) {
      expect(out.closed, `no answer and the connection stayed open. ${what}`).toBe(true);
    } else {
      const refused = (out.status >= 400 && out.status < 500) || (entry.statuses ?? []).includes(out.status);
      expect(refused, `status ${out.status} is not a refusal. ${what}`).toBe(true);
      if (entry.mustClose) expect(out.closed, `answered but kept the connection open (RFC 9112 §6.1). ${what}`).toBe(true);
    }
    const reached = seenPaths.filter((p) => p.includes(`/${entry.id}`));
    expect(reached, `the app received it as a valid request (body read to the end). ${what}`).toEqual([]);
  });

  test('the server still serves, and saw only the sentinel request', () => {
    expect(alive.status).toBe(200);
    expect(seenPaths).toContain('/sentinel');
  });
});
