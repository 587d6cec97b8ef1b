/**
 * The contract between the bench runner (bench/run.ts) and benchmark modules (bench/hash.ts, later
 * sandbox inference, serving, ...). A module measures, asserts correctness (never timings) and
 * returns rows; the runner owns option parsing, the header and the table.
 */

export interface BenchOptions {
  /** Size of the main generated input, in GiB (at least 1). */
  readonly sizeGiB: number;
  /** Measured runs per case; the table shows the median. */
  readonly runs: number;
  /** Keep generated inputs under .modelship/bench/ for reuse by the next run. */
  readonly keep: boolean;
  /** Releases per case of the throughput bench (--releases); unset: MODELSHIP_BENCH_RELEASES or 200. */
  readonly releases?: number;
  /** Also measure peak RSS of push and pull of a bundle this large, in GiB (--oci-rss-gib); unset: skipped. */
  readonly ociRssGiB?: number;
}

export interface BenchContext {
  readonly options: BenchOptions;
  /** Scratch and cache folder for generated inputs (.modelship/bench/). */
  readonly workDir: string;
  /** Progress for the human watching: goes to stderr so stdout stays the report. */
  progress(message: string): void;
}

/** One line of the report table. Modules give raw numbers; the runner formats them. */
export interface BenchRow {
  /** Benchmark module, e.g. "hash". */
  readonly bench: string;
  /** What was measured, e.g. "sha256File (ours)". */
  readonly subject: string;
  /** Input description, e.g. "1 GiB file". */
  readonly input: string;
  readonly runs: number;
  /** Median wall time of one run, seconds. */
  readonly medianSeconds?: number;
  /** Median throughput; formatted as MiB/s and GiB/s when unit is 'bytes'. */
  readonly throughput?: { readonly perSecond: number; readonly unit: 'bytes' | string };
  /** Highest peak RSS seen over the runs, bytes. */
  readonly peakRssBytes?: number;
  /** Comparison with the baseline row of the same benchmark, e.g. "1.93x". */
  readonly ratio?: string;
  /** Requirement check shown in the table, e.g. "RSS<100MiB ok". */
  readonly check?: string;
}

export interface BenchResult {
  readonly rows: readonly BenchRow[];
  /** Lines printed under the table (method notes, extra figures). */
  readonly notes?: readonly string[];
}

export interface Benchmark {
  /** Short name, used by --only and in the Bench column. */
  readonly name: string;
  /** Header lines saying what will be measured on which inputs, e.g. "hash: 1 GiB file". */
  plan(options: BenchOptions): readonly string[];
  run(ctx: BenchContext): Promise<BenchResult>;
}

/** A correctness failure (wrong digest, a contender that crashed): the bench exits 1. */
export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}
