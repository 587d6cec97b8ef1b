/**
 * Quantiles from Prometheus histograms, the way PromQL's histogram_quantile() computes them, so a
 * figure here matches what a dashboard over the same workers would show.
 */
import type { Scrape } from '../test/helpers/prometheus.js';

/** Cumulative buckets: upper bound (le, +Infinity last) → observations at or below it. */
export type Buckets = ReadonlyMap<number, number>;

/**
 * Sums the `<name>_bucket` series of several scrapes (several worker processes, every label set)
 * into one cumulative histogram; buckets are matched by their `le`. Empty when no scrape has one.
 */
export function mergedBuckets(scrapes: readonly Scrape[], name: string): Map<number, number> {
  const sum = new Map<number, number>();
  for (const s of scrapes) {
    for (const sample of s.find(`${name}_bucket`)) {
      const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
      sum.set(le, (sum.get(le) ?? 0) + sample.value);
    }
  }
  return new Map([...sum].sort((a, b) => a[0] - b[0]));
}

export interface Quantile {
  /** The estimate, in the histogram's unit. */
  readonly value: number;
  /** The rank fell in the +Inf bucket: `value` is the highest finite bound, the true figure is above it. */
  readonly aboveHighestBound: boolean;
}

/**
 * The q-quantile (0 < q < 1) of a cumulative histogram, as histogram_quantile(): find the first
 * bucket whose count reaches rank q·total, then interpolate linearly between that bucket's lower
 * bound (the previous `le`, 0 for the first bucket) and its upper bound, assuming observations are
 * spread evenly inside it. A rank in the +Inf bucket returns the highest finite bound. Undefined
 * with no observations.
 */
export function histogramQuantile(q: number, buckets: Buckets): Quantile | undefined {
  const entries = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = entries.at(-1)?.[1] ?? 0;
  if (total === 0 || entries.at(-1)![0] !== Infinity) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of entries) {
    if (count >= rank) {
      if (le === Infinity) return { value: lowerBound, aboveHighestBound: true };
      if (count === lowerCount) return { value: le, aboveHighestBound: false };
      return { value: lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount), aboveHighestBound: false };
    }
    lowerBound = le;
    lowerCount = count;
  }
  return undefined;
}
