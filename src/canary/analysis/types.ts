/**
 * Inputs and outputs of the canary judgement. Everything here is plain JSON data (no
 * undefined, NaN, Infinity, -0, Dates or class instances): a Judgement goes into Temporal
 * history and must come back deep-equal after JSON.stringify / JSON.parse.
 */
import type { HodgesLehmannEstimate, MannWhitneyResult } from './mann-whitney.js';
import type { LatencySummary } from './percentiles.js';

export type NonEmptyArray<T> = readonly [T, ...T[]];

/** One request served by a slot during the analysis window. */
export interface Observation {
  /** Wall time of the request in milliseconds (must be finite and >= 0 to be used). */
  readonly latencyMs: number;
  /** The request failed (5xx, timeout, inference error...). */
  readonly error: boolean;
}

/** A canary prediction compared with the stable model's on a copy of stable traffic. */
export interface ShadowComparison {
  /** The caller's verdict for this input (e.g. same class, or within tolerance). */
  readonly agree: boolean;
  /** Largest |canary - stable| over the outputs (informational). */
  readonly maxAbsDiff: number;
}

/** What one analysis window observed. Baseline = the stable model on live traffic of the same age. */
export interface AnalysisWindow {
  readonly baseline: readonly Observation[];
  readonly canary: readonly Observation[];
  readonly shadow: readonly ShadowComparison[];
}

/** The thresholds of the judgement (see DEFAULT_CANARY_POLICY for the defaults and why). */
export interface CanaryPolicy {
  /** Fewest requests (and latency samples) per slot before traffic checks may pass or fail. */
  readonly minSamplesPerSlot: number;
  /** Fewest shadow comparisons before the agreement check may pass or fail. */
  readonly minShadowComparisons: number;
  /** Largest acceptable canary error rate (fraction, absolute). */
  readonly maxErrorRate: number;
  /** Largest acceptable canary - baseline error rate (fraction). */
  readonly maxErrorRateIncrease: number;
  /** Largest acceptable canary p99 latency in ms; null for no absolute limit. */
  readonly maxP99Ms: number | null;
  /** Significance level of the one-sided Mann-Whitney test (canary slower). */
  readonly alpha: number;
  /** Smallest Hodges-Lehmann shift, relative to the baseline median, that counts as a regression. */
  readonly minEffect: number;
  /** Smallest acceptable fraction of shadow comparisons that agree. */
  readonly minAgreement: number;
  /** Coverage of the reported confidence interval of the shift (informational). */
  readonly confidenceLevel: number;
}

/** Per-slot measurements. */
export interface SlotMetrics {
  readonly requests: number;
  readonly errors: number;
  /** errors / requests; null without requests. */
  readonly errorRate: number | null;
  /** Successful requests with a valid latency: the sample the latency analysis uses. */
  readonly latencySamples: number;
  /** Successful requests whose latencyMs was not a finite number >= 0 (left out). */
  readonly invalidLatencies: number;
  /** Latency percentiles (numpy 'linear' rule) of the successful requests; null if none. */
  readonly latencyMs: LatencySummary | null;
}

export interface LatencyComparison {
  /** One-sided test: is the canary's latency stochastically greater than the baseline's? */
  readonly mannWhitney: MannWhitneyResult;
  /** Median of canary - baseline latency over all pairs (ms); null when a slot has none. */
  readonly hodgesLehmann: HodgesLehmannEstimate | null;
  readonly baselineMedianMs: number | null;
  /** Hodges-Lehmann shift / baseline median (0.2 = 20% slower); null if undefined. */
  readonly relativeEffect: number | null;
  /** canary p99 / baseline p99 - 1; null if undefined. */
  readonly p99RelativeChange: number | null;
}

export interface ShadowMetrics {
  readonly comparisons: number;
  readonly agreements: number;
  /** agreements / comparisons; null without comparisons. */
  readonly agreementRate: number | null;
  /** Largest finite maxAbsDiff reported; null if none. */
  readonly maxAbsDiff: number | null;
  /** Comparisons whose maxAbsDiff was NaN or infinite. */
  readonly nonFiniteDiffs: number;
}

export interface JudgementMetrics {
  readonly baseline: SlotMetrics;
  readonly canary: SlotMetrics;
  /** canary error rate - baseline error rate; null if either is undefined. */
  readonly errorRateIncrease: number | null;
  readonly latency: LatencyComparison;
  readonly shadow: ShadowMetrics;
}

export type CheckName = 'error-rate' | 'error-rate-increase' | 'latency-p99' | 'latency-regression' | 'prediction-agreement';

/** A count that is below what the policy needs before a check may decide. */
export interface Shortfall {
  readonly what:
    | 'baseline-requests'
    | 'canary-requests'
    | 'baseline-latency-samples'
    | 'canary-latency-samples'
    | 'shadow-comparisons';
  readonly have: number;
  readonly need: number;
}

/** Every check is critical: one failure vetoes the canary. */
export type CheckResult =
  | { readonly check: CheckName; readonly status: 'pass' | 'fail'; readonly message: string }
  | { readonly check: CheckName; readonly status: 'inconclusive'; readonly message: string; readonly shortfalls: NonEmptyArray<Shortfall> };

interface JudgementBase {
  /** Every check in a fixed order, each with its measured numbers in `message`. */
  readonly checks: readonly CheckResult[];
  readonly metrics: JudgementMetrics;
  /** The policy actually applied (defaults filled in). */
  readonly policy: CanaryPolicy;
}

/** Every check had enough data and passed; `reasons` are the checks' summaries. */
export interface PassJudgement extends JudgementBase {
  readonly verdict: 'pass';
  readonly reasons: NonEmptyArray<string>;
}

/** At least one check failed on enough data; `reasons` lists every failed check. */
export interface FailJudgement extends JudgementBase {
  readonly verdict: 'fail';
  readonly reasons: NonEmptyArray<string>;
  readonly failedChecks: NonEmptyArray<CheckName>;
}

/** Nothing failed, but some check lacked data: extend the bake, then ask a person. */
export interface InconclusiveJudgement extends JudgementBase {
  readonly verdict: 'inconclusive';
  readonly reasons: NonEmptyArray<string>;
  readonly inconclusiveChecks: NonEmptyArray<CheckName>;
  /** The counts that fell short, one entry per count. */
  readonly shortfalls: NonEmptyArray<Shortfall>;
}

export type Judgement = PassJudgement | FailJudgement | InconclusiveJudgement;
export type Verdict = Judgement['verdict'];
