/**
 * The suite's own rules: enough checks, unique ids, every cited clause exists
 * in spec/, every check cites a clause of each interface it runs for, and the
 * coverage report leaves no clause without a check or a reason.
 */
import { describe, expect, it } from 'vitest';
import { allChecks, coverage, readClauses, readUnobservable, main } from '../src/index.js';

describe('the check list', () => {
  it('has at least 150 checks with unique ids', () => {
    expect(allChecks.length).toBeGreaterThanOrEqual(150);
    const ids = allChecks.map((c) => c.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('cites, for each interface a check runs on, at least one clause of that interface', () => {
    const missing = allChecks.flatMap((c) => c.interfaces.filter((i) => !c.clauses.some((id) => id.startsWith(`${i}.`))).map((i) => `${c.id} (${i})`));
    expect(missing).toEqual([]);
  });

  it('cites only clause ids that spec/ defines', () => {
    const known = new Set(readClauses().map((c) => c.id));
    const unknown = allChecks.flatMap((c) => c.clauses.filter((id) => !known.has(id)).map((id) => `${c.id} -> ${id}`));
    expect(unknown).toEqual([]);
  });
});

describe('the coverage report', () => {
  it('has no problems: no unknown ids, no duplicate clauses, no stale reasons', () => {
    expect(coverage().problems).toEqual([]);
  });

  it('reports a check citing an id that is not in spec/ as a problem', () => {
    const cov = coverage({ checks: [{ ...allChecks[0]!, id: 'bogus', clauses: ['asgi.no.such.clause.1'] }] });
    expect(cov.problems).toContain('check bogus cites asgi.no.such.clause.1, which is not a clause of spec/');
  });

  it('leaves no clause of spec/ without a check or a reason it cannot be observed', () => {
    expect(coverage().uncovered.map((r) => r.id)).toEqual([]);
  });

  it('keeps a reason only for clauses no check covers', () => {
    const reasons = readUnobservable();
    const covered = new Set(allChecks.flatMap((c) => c.clauses));
    expect(Object.keys(reasons).filter((id) => covered.has(id))).toEqual([]);
  });

  it('is what `tsgi-conformance coverage` prints, ending with its summary', async () => {
    const lines: string[] = [];
    const code = await main(['coverage'], (l) => lines.push(l));
    expect(code).toBe(0);
    expect(lines.join('\n')).toMatch(/\d+ clauses: \d+ covered by checks, \d+ not observable over the wire, 0 not covered; 0 problems$/);
  });
});

describe('the command line', () => {
  it('refuses bad usage with exit code 2', async () => {
    expect(await main(['--interface', 'cgi', '--url', 'http://127.0.0.1:1'], () => undefined)).toBe(2);
    expect(await main(['--interface', 'asgi'], () => undefined)).toBe(2);
  });

  it('lists the checks of an interface', async () => {
    const lines: string[] = [];
    expect(await main(['list', '--interface', 'wsgi'], (l) => lines.push(l))).toBe(0);
    expect(lines.at(-1)).toMatch(/^\d+ checks$/);
    expect(lines.some((l) => l.startsWith('wsgi-environ-version '))).toBe(true);
    expect(lines.some((l) => l.startsWith('ws-echo-text '))).toBe(false);
  });

  it('reports a server that does not start, with exit code 2', async () => {
    const code = await main(['--interface', 'asgi', '--server-cmd', 'exit 3'], () => undefined);
    expect(code).toBe(2);
  });
});
