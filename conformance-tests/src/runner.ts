/**
 * Runs checks against one server: filters them by interface and id prefix,
 * skips those whose feature the server does not announce, bounds each with a
 * timeout, and hands back one verdict per check.
 */
import { CheckContext, CheckFailure, CheckSkipped, FeatureProbe, type Check, type CheckResult, type Interface, type Target } from './check.js';
import { allChecks } from './checks/index.js';

/** How to run the suite against a server that is already listening. */
export interface RunOptions {
  target: Target;
  /** Only checks whose id or one of whose clause ids starts with this prefix. */
  only?: string;
  /** Defaults to every check of the suite. */
  checks?: Check[];
  /** Called after each check, e.g. to print its line. */
  onResult?: (r: CheckResult) => void;
  /** Stops the server; when given, the after-stop checks run once it has stopped. */
  stop?: () => Promise<void>;
}

/** The checks that apply to an interface, optionally narrowed to an id prefix. */
export function selectChecks(iface: Interface, only?: string, checks: Check[] = allChecks): Check[] {
  return checks.filter((c) => c.interfaces.includes(iface) && (!only || c.id.startsWith(only) || c.clauses.some((id) => id.startsWith(only))));
}

/**
 * Checks of an optional feature the interface itself does not have, reported
 * as skipped rather than left out: WebSocket for a WSGI server (PEP 3333 has
 * no WebSocket, so no WSGI server can announce it to a WSGI app).
 */
export function notAnnouncedChecks(iface: Interface, only?: string, checks: Check[] = allChecks): Check[] {
  if (iface !== 'wsgi') return [];
  return checks.filter((c) => c.id.startsWith('ws-') && !c.interfaces.includes('wsgi') && (!only || c.id.startsWith(only) || c.clauses.some((id) => id.startsWith(only))));
}

/** The reason `notAnnouncedChecks` are skipped. */
export const WSGI_WEBSOCKET_SKIP = 'WebSocket is not part of WSGI: a WSGI server announces no WebSocket support to a WSGI app';

/** The clause ids a check cites for one interface (a check shared by both cites clauses of each spec). */
export function clausesFor(check: Check, iface: Interface): string[] {
  return check.clauses.filter((id) => id.startsWith(`${iface}.`));
}

function describeFeature(f: string): string {
  if (f.startsWith('ext:')) return `the extension ${f.slice(4)}`;
  if (f.startsWith('spec:')) return `${f.split(':')[1]} spec_version ${f.split(':')[2]} or later`;
  return f;
}

/** Runs one check and returns its verdict; never throws. */
export async function runCheck(check: Check, target: Target, probe: FeatureProbe, announced?: boolean): Promise<CheckResult> {
  const t = new CheckContext(target, probe);
  const started = Date.now();
  const base = { id: check.id, clauses: clausesFor(check, target.iface), title: check.title };
  let timer: NodeJS.Timeout | undefined;
  try {
    if (check.requires && !(announced ?? (await t.has(check.requires)))) {
      return { ...base, status: 'skip', detail: `the server does not announce ${describeFeature(check.requires)}`, durationMs: Date.now() - started };
    }
    const limit = target.timeoutMs * 4;
    await Promise.race([
      check.run(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailure(`the check did not finish within ${limit} ms`)), limit);
      }),
    ]);
    return { ...base, status: 'pass', durationMs: Date.now() - started };
  } catch (e) {
    if (e instanceof CheckSkipped) return { ...base, status: 'skip', detail: e.message, durationMs: Date.now() - started };
    const detail = e instanceof CheckFailure ? e.message : `${(e as Error)?.name ?? 'Error'}: ${(e as Error)?.message ?? String(e)}`;
    return { ...base, status: 'fail', detail, durationMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
    t.cleanup();
  }
}

/** Runs the selected checks one after the other (they share one server) and returns every verdict. */
export async function runChecks(opts: RunOptions): Promise<CheckResult[]> {
  const probe = new FeatureProbe();
  const results: CheckResult[] = [];
  const emit = (r: CheckResult) => {
    results.push(r);
    opts.onResult?.(r);
  };
  const selected = selectChecks(opts.target.iface, opts.only, opts.checks);
  for (const check of selected.filter((c) => !c.afterStop)) emit(await runCheck(check, opts.target, probe));
  for (const check of notAnnouncedChecks(opts.target.iface, opts.only, opts.checks)) {
    emit({ id: check.id, clauses: check.clauses, title: check.title, status: 'skip', detail: WSGI_WEBSOCKET_SKIP, durationMs: 0 });
  }
  const after = selected.filter((c) => c.afterStop);
  // What the server announces must be asked while it still runs.
  const announced = new Map<Check, boolean>();
  for (const c of after) {
    announced.set(c, c.requires ? await probe.has(c.requires, new CheckContext(opts.target, probe)).catch(() => false) : true);
  }
  await opts.stop?.();
  for (const check of after) {
    if (!opts.stop || !opts.target.stateDir) {
      emit({ id: check.id, clauses: clausesFor(check, opts.target.iface), title: check.title, status: 'skip', detail: 'runs only when the suite starts and stops the server itself (--server-cmd)', durationMs: 0 });
      continue;
    }
    emit(await runCheck(check, opts.target, probe, announced.get(check)));
  }
  return results;
}

/** The closing line: `N passed, N failed, N skipped`. */
export function summaryLine(results: CheckResult[]): string {
  const n = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  return `${n('pass')} passed, ${n('fail')} failed, ${n('skip')} skipped`;
}

/** One report line per check. */
export function formatResult(r: CheckResult): string {
  const tag = r.status === 'pass' ? 'PASS' : r.status === 'fail' ? 'FAIL' : 'SKIP';
  const ids = r.clauses.length ? ` [${r.clauses.join(', ')}]` : '';
  return `${tag} ${r.id}${ids} ${r.title}${r.detail ? ` -- ${r.detail}` : ''}`;
}
