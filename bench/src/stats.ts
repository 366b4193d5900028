/** Medians with their spread: how every figure of the benchmark is reported. */

/** The median of the rounds with the smallest and largest value around it. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Rounds that produced a value. */
  n: number;
}

/** Summarizes the values of one metric over the rounds (NaN-free input expected). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** The p-th percentile (0..100) of an ascending array, nearest-rank. */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length - 1, Math.max(0, rank - 1))]!;
}
