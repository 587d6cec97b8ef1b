// The throughput bench's quantiles (bench/histogram.ts) follow PromQL's histogram_quantile():
// linear inside the bucket holding the rank, the highest finite bound for a rank in +Inf.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantile, mergedBuckets } from '../bench/histogram.js';
import { Scrape } from './helpers/prometheus.js';

describe('bench histogram quantiles', () => {
  const buckets = new Map([[10, 0], [50, 40], [100, 90], [500, 99], [Infinity, 100]]);

  it('interpolates linearly inside the bucket holding the rank, from the previous bound', () => {
    assert.deepEqual(histogramQuantile(0.5, buckets), { value: 60, aboveHighestBound: false }); // rank 50: 10 of 50 into (50, 100]
    assert.deepEqual(histogramQuantile(0.2, buckets), { value: 30, aboveHighestBound: false }); // rank 20: half of (10, 50]
    assert.deepEqual(histogramQuantile(0.99, buckets), { value: 500, aboveHighestBound: false });
  });

  it('a rank above the highest finite bound says so; no observations give no figure', () => {
    assert.deepEqual(histogramQuantile(0.995, buckets), { value: 500, aboveHighestBound: true });
    assert.equal(histogramQuantile(0.5, new Map([[10, 0], [Infinity, 0]])), undefined);
  });

  it('sums the buckets of several scrapes by le, across label sets', () => {
    const a = new Scrape('h_bucket{task_queue="q",le="10"} 1\nh_bucket{task_queue="q",le="+Inf"} 2\nh_bucket{task_queue="s",le="10"} 1\nh_bucket{task_queue="s",le="+Inf"} 1\n');
    const b = new Scrape('h_bucket{le="10"} 3\nh_bucket{le="+Inf"} 5\nother 1\n');
    assert.deepEqual([...mergedBuckets([a, b], 'h')], [[10, 5], [Infinity, 8]]);
  });
});
