import { Counter, Histogram, type MetricValueWithName } from 'prom-client';

/**
 * One (model, slot)'s request counts and duration histogram, recorded into plain numbers.
 * prom-client validates and hashes the labels on every `inc`/`observe`, bound child or not
 * (the largest single piece of the runtime's per-request JavaScript); these are handed to it only
 * when scraped.
 */
export class RequestSeries {
  requests = 0;
  errors = 0;
  /** Observations per finite bucket (not cumulative), as prom-client keeps them. */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  /** What the counters have been told so far (they take increments, not values). */
  syncedRequests = 0;
  syncedErrors = 0;

  constructor(
    readonly labels: { readonly model: string; readonly slot: string },
    private readonly upperBounds: readonly number[],
  ) {
    this.buckets = new Float64Array(upperBounds.length);
  }

  record(seconds: number, failed: boolean): void {
    // prom-client's observe refuses the same values.
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    this.requests++;
    if (failed) this.errors++;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        this.buckets[i]!++;
        break;
      }
    }
    this.sum += seconds;
    this.count++;
  }

  resetDuration(): void {
    this.buckets.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** Brings a counter up to `total` through its public `inc` (series it already has keep their place). */
export function syncCounter(counter: Counter<string>, labels: RequestSeries['labels'], told: number, total: number): number {
  if (total > told) counter.inc(labels, total - told);
  return total;
}

type HistogramConfig = ConstructorParameters<typeof Histogram<string>>[0] & { readonly buckets: number[] };

/** What prom-client's registry reads from a metric to write its exposition. */
interface ExportedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: MetricValueWithName<string>[];
  readonly aggregator: 'sum';
}

/**
 * A histogram whose series are `RequestSeries` filled elsewhere: the exposition is prom-client's
 * own (same lines, same order: a series appears at its first observation), its values read at
 * scrape time. The registry prefers `getForPromString` over `get` (prom-client 15), as for its
 * own histograms; `get` (JSON) goes through it too.
 */
export class RecordedHistogram extends Histogram<string> {
  /** Series in the order of their first observation, as prom-client would list them. */
  private readonly observed: RequestSeries[] = [];
  private readonly bounds: readonly number[];

  constructor(private readonly config: HistogramConfig) {
    super(config);
    this.bounds = [...config.buckets].sort((a, b) => a - b);
  }

  /** Records into `series`, listing it at its first observation. */
  observeInto(series: RequestSeries, seconds: number, failed: boolean): void {
    if (series.count === 0) this.observed.push(series);
    series.record(seconds, failed);
  }

  async getForPromString(): Promise<ExportedMetric> {
    const values: MetricValueWithName<string>[] = [];
    const bucketName = `${this.config.name}_bucket`;
    for (const series of this.observed) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.buckets[i]!;
        values.push(exported({ le: this.bounds[i]! }, cumulative, bucketName, series.labels, null));
      }
      values.push(
        exported({ le: '+Inf' }, series.count, bucketName, series.labels, null),
        exported({}, series.sum, `${this.config.name}_sum`, series.labels, undefined),
        exported({}, series.count, `${this.config.name}_count`, series.labels, undefined),
      );
    }
    return { name: this.config.name, help: this.config.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** prom-client's histogram forgets every series; so does this one (their counters are not touched). */
  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset before this class's fields exist.
    const observed = this.observed as RequestSeries[] | undefined;
    if (!observed) return;
    for (const series of observed) series.resetDuration();
    observed.length = 0;
  }
}

/** One exposition value, shaped as prom-client's histogram shapes them (labels apart from the series' shared labels). */
function exported(labels: Record<string, string | number>, value: number, metricName: string, sharedLabels: RequestSeries['labels'], exemplar: null | undefined): MetricValueWithName<string> {
  return { labels, sharedLabels, value, metricName, exemplar } as unknown as MetricValueWithName<string>;
}
