import { MANN_WHITNEY_MIN_SAMPLES } from './mann-whitney.js';
import type { CanaryPolicy } from './types.js';

/**
 * The defaults, and why:
 *
 * - `minSamplesPerSlot: 200` — the smallest step an observed error rate can take is 1/n. With
 *   `maxErrorRateIncrease` 0.5%, n >= 200 means one stray error cannot fail a canary by itself
 *   (1/200 = 0.5% is not above the limit), and p99 is interpolated between the 2nd and 3rd
 *   largest latencies instead of being the maximum. It is also far above the 8 per sample the
 *   Mann-Whitney normal approximation needs.
 * - `minShadowComparisons: 100` — likewise 1 / (1 - minAgreement): with 100 comparisons one
 *   disagreement still meets 99%.
 * - `maxErrorRate: 0.01`, `maxErrorRateIncrease: 0.005` — 99% success absolute (Flagger's
 *   usual request-success-rate), and no more than half a point worse than the baseline.
 * - `maxP99Ms: null` — an absolute latency SLO is model-specific; set it when there is one.
 * - `alpha: 0.01` — the judgement is repeated every interval, so a strict level keeps false
 *   rollbacks rare; one-sided, because only a slower canary matters.
 * - `minEffect: 0.2` — a regression must be at least 20% of the baseline median (Hodges-
 *   Lehmann shift). With a lot of traffic tiny differences are significant; this is Kayenta's
 *   effect-size tolerance, so +2% with 20k requests passes.
 * - `minAgreement: 0.99` — at most 1 in 100 shadow predictions may disagree with stable.
 * - `confidenceLevel: 0.95` — the interval reported for the shift (informational only).
 */
export const DEFAULT_CANARY_POLICY: CanaryPolicy = Object.freeze({
  minSamplesPerSlot: 200,
  minShadowComparisons: 100,
  maxErrorRate: 0.01,
  maxErrorRateIncrease: 0.005,
  maxP99Ms: null,
  alpha: 0.01,
  minEffect: 0.2,
  minAgreement: 0.99,
  confidenceLevel: 0.95,
});

const KEYS = Object.keys(DEFAULT_CANARY_POLICY) as ReadonlyArray<keyof CanaryPolicy>;

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Everything wrong with a (partial) policy, as readable sentences; empty when it is valid.
 * Unknown keys are reported too, so a typo cannot silently fall back to a default. Call this
 * when a release starts, before any judgement.
 */
export function canaryPolicyProblems(policy: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(policy)) {
    if (!(KEYS as readonly string[]).includes(key)) problems.push(`unknown policy key "${key}"`);
  }
  // An explicit undefined means "use the default", as in resolveCanaryPolicy.
  const p = {} as Record<keyof CanaryPolicy, unknown>;
  for (const key of KEYS) p[key] = policy[key] === undefined ? DEFAULT_CANARY_POLICY[key] : policy[key];
  const integerAtLeast = (key: keyof CanaryPolicy, min: number): void => {
    const v = p[key];
    if (!(isFiniteNumber(v) && Number.isInteger(v) && v >= min)) problems.push(`${key} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  const inRange = (key: keyof CanaryPolicy, lo: number, hi: number, open: boolean): void => {
    const v = p[key];
    const ok = isFiniteNumber(v) && (open ? v > lo && v < hi : v >= lo && v <= hi);
    if (!ok) problems.push(`${key} must be a number in ${open ? '(' : '['}${lo}, ${hi}${open ? ')' : ']'}, got ${JSON.stringify(v)}`);
  };
  integerAtLeast('minSamplesPerSlot', MANN_WHITNEY_MIN_SAMPLES);
  integerAtLeast('minShadowComparisons', 1);
  inRange('maxErrorRate', 0, 1, false);
  inRange('maxErrorRateIncrease', 0, 1, false);
  if (!(p.maxP99Ms === null || (isFiniteNumber(p.maxP99Ms) && p.maxP99Ms > 0))) {
    problems.push(`maxP99Ms must be null or a number > 0, got ${JSON.stringify(p.maxP99Ms)}`);
  }
  inRange('alpha', 0, 1, true);
  const minEffect = p.minEffect;
  if (!(isFiniteNumber(minEffect) && minEffect >= 0)) problems.push(`minEffect must be a number >= 0, got ${JSON.stringify(minEffect)}`);
  inRange('minAgreement', 0, 1, false);
  inRange('confidenceLevel', 0, 1, true);
  return problems;
}

/** The policy with defaults filled in; throws a RangeError listing every problem. */
export function resolveCanaryPolicy(policy: Partial<CanaryPolicy> = {}): CanaryPolicy {
  const problems = canaryPolicyProblems(policy);
  if (problems.length > 0) throw new RangeError(`invalid canary policy: ${problems.join('; ')}`);
  const resolved: Record<string, unknown> = {};
  // Fixed key order, only known keys: the resolved policy serializes the same every time.
  for (const key of KEYS) resolved[key] = policy[key] === undefined ? DEFAULT_CANARY_POLICY[key] : policy[key];
  return resolved as unknown as CanaryPolicy;
}
