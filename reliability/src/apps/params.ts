/** Query parameters the reliability apps share. */

/** MiB a `/download` sends: `?mib=N` (1-64), 8 by default. */
export function downloadMiB(q: URLSearchParams): number {
  const n = Number(q.get('mib') ?? 8);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : 8;
}
