/**
 * Percentiles with numpy's default rule (`np.percentile(a, q)`, method 'linear', type 7 of
 * Hyndman & Fan 1996):
 *
 *   h = (n - 1) * (q / 100),  lo = floor(h),  g = h - lo,
 *   value = x[lo] + g * (x[lo+1] - x[lo])          (x sorted ascending, 0-based)
 *
 * so p0 is the minimum, p100 the maximum, and the median of an even-sized sample is the mean
 * of the two middle values. The interpolation is evaluated exactly as numpy's `_lerp` does
 * (from the upper neighbour when g >= 0.5), so results match numpy bit for bit.
 *
 * Note what this means for tail percentiles of small samples: with n = 200, p99 lies between
 * the 2nd and 3rd largest observations; with n < 101 it is interpolated between the two
 * largest, i.e. it is little more than the maximum.
 */
import { sortedSample, type SortedSample } from './sample.js';

/** The q-th percentile (0 <= q <= 100) of a non-empty sorted sample. */
export function percentileOfSorted(sorted: SortedSample, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of an empty sample');
  if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile q must be in [0, 100], got ${q}`);
  const h = (n - 1) * (q / 100);
  const lo = Math.min(Math.floor(h), n - 1);
  const hi = Math.min(lo + 1, n - 1);
  const g = h - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  return (g >= 0.5 ? b - diff * (1 - g) : a + diff * g) + 0;
}

/** The q-th percentile of an unsorted, non-empty array of finite numbers. */
export function percentile(values: ArrayLike<number>, q: number): number {
  return percentileOfSorted(sortedSample(values), q);
}

/** The median (the 50th percentile under the same rule). */
export function medianOfSorted(sorted: SortedSample): number {
  return percentileOfSorted(sorted, 50);
}

/** The summary the canary judgement records for a slot's latencies (milliseconds). */
export interface LatencySummary {
  readonly count: number;
  readonly min: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** p50/p90/p99, min, max and mean of a sorted sample; null when it is empty. */
export function summarizeSorted(sorted: SortedSample): LatencySummary | null {
  const n = sorted.length;
  if (n === 0) return null;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    count: n,
    min: sorted[0]!,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted[n - 1]!,
    mean: sum / n + 0,
  };
}
