/**
 * Canary analysis: the statistics and the pass / fail / inconclusive judgement. Pure and
 * deterministic (plain TypeScript arithmetic, relative imports only), so workflows may import it.
 */
export { judgeCanary, describe } from './judge.js';
export { DEFAULT_CANARY_POLICY, canaryPolicyProblems, resolveCanaryPolicy } from './policy.js';
export {
  MANN_WHITNEY_MIN_SAMPLES,
  hodgesLehmann,
  hodgesLehmannSorted,
  kthPairwiseDifference,
  mannWhitneyU,
  mannWhitneyUSorted,
  medianPairwiseDifference,
  type Alternative,
  type HodgesLehmannEstimate,
  type MannWhitneyComputed,
  type MannWhitneyNotComputed,
  type MannWhitneyOptions,
  type MannWhitneyResult,
  type ShiftConfidenceInterval,
} from './mann-whitney.js';
export { erf, erfc, normalCdf, normalSf, normalUpperQuantile } from './normal.js';
export { medianOfSorted, percentile, percentileOfSorted, summarizeSorted, type LatencySummary } from './percentiles.js';
export { sortedSample, type SortedSample } from './sample.js';
export type * from './types.js';
