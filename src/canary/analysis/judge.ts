/**
 * The canary judgement (Kayenta-style): compare the canary with a baseline of the same age
 * over one analysis window and decide pass / fail / inconclusive.
 *
 * Deterministic and pure (no I/O, clocks, randomness or node: imports) so the release
 * workflow can call it directly; the same window and policy always give a deep-equal,
 * JSON-safe Judgement.
 *
 * Checks (all critical: any failure vetoes; each decides only on enough data of its own):
 *
 * | check                 | data it needs (else inconclusive)           | fails when                                   |
 * |-----------------------|---------------------------------------------|----------------------------------------------|
 * | error-rate            | canary requests >= minSamplesPerSlot        | canary error rate > maxErrorRate             |
 * | error-rate-increase   | requests >= minSamplesPerSlot in both slots | canary - baseline rate > maxErrorRateIncrease|
 * | latency-p99 (if set)  | canary latency samples >= minSamplesPerSlot | canary p99 > maxP99Ms                        |
 * | latency-regression    | latency samples >= minSamplesPerSlot, both  | one-sided Mann-Whitney p < alpha AND          |
 * |                       |                                             | HL shift / baseline median >= minEffect      |
 * | prediction-agreement  | shadow comparisons >= minShadowComparisons  | agreement rate < minAgreement                |
 *
 * Verdict: any check failed -> 'fail' (reasons: every failed check with its numbers); else
 * any check lacked data -> 'inconclusive' (reasons and `shortfalls` name the counts: the
 * workflow extends the bake, then waits for a person); else 'pass'. Thin data never passes
 * and never fails the check that lacks it.
 *
 * Latency analysis uses successful requests only: failed requests are judged by the error
 * rate, and their latencies (fast failures, or timeouts) would otherwise hide or exaggerate a
 * slowdown. Successful requests with a latency that is not a finite number >= 0 are left out
 * and counted as `invalidLatencies`.
 */
import { fmtChange, fmtMs, fmtP, fmtPct, fmtSignedMs } from './format.js';
import { hodgesLehmannSorted, mannWhitneyUSorted, type MannWhitneyResult } from './mann-whitney.js';
import { summarizeSorted } from './percentiles.js';
import { resolveCanaryPolicy } from './policy.js';
import { sortedSample, type SortedSample } from './sample.js';
import type {
  AnalysisWindow,
  CanaryPolicy,
  CheckName,
  CheckResult,
  Judgement,
  JudgementMetrics,
  LatencyComparison,
  NonEmptyArray,
  Observation,
  ShadowComparison,
  ShadowMetrics,
  Shortfall,
  SlotMetrics,
} from './types.js';

interface Slot {
  readonly metrics: SlotMetrics;
  readonly latencies: SortedSample;
}

function measureSlot(observations: readonly Observation[]): Slot {
  const latencies: number[] = [];
  let errors = 0;
  let invalidLatencies = 0;
  for (const o of observations) {
    if (o.error === true) {
      errors++;
    } else if (typeof o.latencyMs === 'number' && Number.isFinite(o.latencyMs) && o.latencyMs >= 0) {
      latencies.push(o.latencyMs);
    } else {
      invalidLatencies++;
    }
  }
  const sorted = sortedSample(latencies);
  const requests = observations.length;
  return {
    latencies: sorted,
    metrics: {
      requests,
      errors,
      errorRate: requests > 0 ? errors / requests : null,
      latencySamples: sorted.length,
      invalidLatencies,
      latencyMs: summarizeSorted(sorted),
    },
  };
}

function measureShadow(comparisons: readonly ShadowComparison[]): ShadowMetrics {
  let agreements = 0;
  let maxAbsDiff: number | null = null;
  let nonFiniteDiffs = 0;
  for (const c of comparisons) {
    if (c.agree === true) agreements++;
    const d = c.maxAbsDiff;
    if (typeof d === 'number' && Number.isFinite(d)) {
      const a = Math.abs(d) + 0;
      if (maxAbsDiff === null || a > maxAbsDiff) maxAbsDiff = a;
    } else {
      nonFiniteDiffs++;
    }
  }
  const n = comparisons.length;
  return { comparisons: n, agreements, agreementRate: n > 0 ? agreements / n : null, maxAbsDiff, nonFiniteDiffs };
}

function compareLatency(baseline: Slot, canary: Slot, policy: CanaryPolicy): LatencyComparison {
  const mannWhitney = mannWhitneyUSorted(baseline.latencies, canary.latencies, { alternative: 'canary-greater' });
  const hodgesLehmann = hodgesLehmannSorted(baseline.latencies, canary.latencies, policy.confidenceLevel);
  const baselineMedianMs = baseline.metrics.latencyMs?.p50 ?? null;
  const relativeEffect = hodgesLehmann !== null && baselineMedianMs !== null && baselineMedianMs > 0 ? hodgesLehmann.shift / baselineMedianMs + 0 : null;
  const bp99 = baseline.metrics.latencyMs?.p99 ?? null;
  const cp99 = canary.metrics.latencyMs?.p99 ?? null;
  const p99RelativeChange = bp99 !== null && cp99 !== null && bp99 > 0 ? cp99 / bp99 - 1 + 0 : null;
  return { mannWhitney, hodgesLehmann, baselineMedianMs, relativeEffect, p99RelativeChange };
}

// ---------------------------------------------------------------------------------------
// Checks

type Need = Shortfall['what'];

function shortfallsOf(counts: ReadonlyArray<readonly [Need, number]>, need: number): Shortfall[] {
  return counts.filter(([, have]) => have < need).map(([what, have]) => ({ what, have, need }));
}

function inconclusive(check: CheckName, message: string, shortfalls: Shortfall[]): CheckResult {
  const [first, ...rest] = shortfalls;
  if (first === undefined) throw new Error('inconclusive check without a shortfall (bug)');
  return { check, status: 'inconclusive', message, shortfalls: [first, ...rest] };
}

/** Both slots' counts are always named, so the messages of different checks coincide and dedupe. */
function requestShortfall(check: CheckName, b: SlotMetrics, c: SlotMetrics, policy: CanaryPolicy, slots: 'canary' | 'both'): CheckResult | null {
  const counts: Array<readonly [Need, number]> = slots === 'both' ? [['baseline-requests', b.requests], ['canary-requests', c.requests]] : [['canary-requests', c.requests]];
  const short = shortfallsOf(counts, policy.minSamplesPerSlot);
  if (short.length === 0) return null;
  return inconclusive(check, `too few requests: baseline ${b.requests}, canary ${c.requests} (need >= ${policy.minSamplesPerSlot} per slot)`, short);
}

function latencyShortfall(check: CheckName, b: SlotMetrics, c: SlotMetrics, policy: CanaryPolicy, slots: 'canary' | 'both'): CheckResult | null {
  const byRequests = requestShortfall(check, b, c, policy, slots);
  if (byRequests !== null) return byRequests;
  const counts: Array<readonly [Need, number]> =
    slots === 'both' ? [['baseline-latency-samples', b.latencySamples], ['canary-latency-samples', c.latencySamples]] : [['canary-latency-samples', c.latencySamples]];
  const short = shortfallsOf(counts, policy.minSamplesPerSlot);
  if (short.length === 0) return null;
  return inconclusive(
    check,
    `too few successful requests with a valid latency: baseline ${b.latencySamples}, canary ${c.latencySamples} (need >= ${policy.minSamplesPerSlot} per slot)`,
    short,
  );
}

function errorRateCheck(b: SlotMetrics, c: SlotMetrics, policy: CanaryPolicy): CheckResult {
  const thin = requestShortfall('error-rate', b, c, policy, 'canary');
  if (thin !== null) return thin;
  const rate = c.errorRate ?? 0;
  const figures = `canary ${fmtPct(rate, 2)} (${c.errors}/${c.requests})`;
  return rate > policy.maxErrorRate
    ? { check: 'error-rate', status: 'fail', message: `error rate: ${figures} > max ${fmtPct(policy.maxErrorRate, 2)}` }
    : { check: 'error-rate', status: 'pass', message: `error rate: ${figures} <= max ${fmtPct(policy.maxErrorRate, 2)}` };
}

function errorRateIncreaseCheck(b: SlotMetrics, c: SlotMetrics, increase: number | null, policy: CanaryPolicy): CheckResult {
  const thin = requestShortfall('error-rate-increase', b, c, policy, 'both');
  if (thin !== null) return thin;
  const inc = increase ?? 0;
  const figures = `canary ${fmtPct(c.errorRate, 2)} (${c.errors}/${c.requests}) vs baseline ${fmtPct(b.errorRate, 2)} (${b.errors}/${b.requests}), ${inc >= 0 ? '+' : ''}${(inc * 100).toFixed(2)} points`;
  const limit = `max +${(policy.maxErrorRateIncrease * 100).toFixed(2)} points`;
  return inc > policy.maxErrorRateIncrease
    ? { check: 'error-rate-increase', status: 'fail', message: `error rate increase: ${figures} > ${limit}` }
    : { check: 'error-rate-increase', status: 'pass', message: `error rate increase: ${figures} <= ${limit}` };
}

function p99Check(b: SlotMetrics, c: SlotMetrics, maxP99Ms: number, policy: CanaryPolicy): CheckResult {
  const thin = latencyShortfall('latency-p99', b, c, policy, 'canary');
  if (thin !== null) return thin;
  const p99 = c.latencyMs?.p99 ?? 0;
  const figures = `canary ${fmtMs(p99)} ms (baseline ${fmtMs(b.latencyMs?.p99 ?? null)} ms)`;
  return p99 > maxP99Ms
    ? { check: 'latency-p99', status: 'fail', message: `p99 latency: ${figures} > max ${fmtMs(maxP99Ms)} ms` }
    : { check: 'latency-p99', status: 'pass', message: `p99 latency: ${figures} <= max ${fmtMs(maxP99Ms)} ms` };
}

function describeShift(latency: LatencyComparison): string {
  const hl = latency.hodgesLehmann;
  if (hl === null) return 'HL shift n/a';
  const ci = hl.confidenceInterval;
  const interval = ci === null ? '' : `, ${Math.round(ci.level * 100)}% CI [${fmtSignedMs(ci.lower)}, ${fmtSignedMs(ci.upper)}] ms`;
  return `HL shift ${fmtSignedMs(hl.shift)} ms = ${fmtChange(latency.relativeEffect)} of baseline median ${fmtMs(latency.baselineMedianMs)} ms${interval}`;
}

function latencyRegressionCheck(b: SlotMetrics, c: SlotMetrics, latency: LatencyComparison, policy: CanaryPolicy): CheckResult {
  const thin = latencyShortfall('latency-regression', b, c, policy, 'both');
  if (thin !== null) return thin;
  const mw: MannWhitneyResult = latency.mannWhitney;
  const percentiles =
    `p99 canary ${fmtMs(c.latencyMs?.p99 ?? null)} ms vs baseline ${fmtMs(b.latencyMs?.p99 ?? null)} ms (${fmtChange(latency.p99RelativeChange)}), ` +
    `p50 ${fmtMs(c.latencyMs?.p50 ?? null)} vs ${fmtMs(b.latencyMs?.p50 ?? null)} ms`;
  if (!mw.computed) {
    // With enough samples the only reason left is no variance: every latency is equal.
    return { check: 'latency-regression', status: 'pass', message: `latency: no difference to test (${mw.detail}); ${percentiles}` };
  }
  const shift = latency.hodgesLehmann?.shift ?? 0;
  const significant = mw.p < policy.alpha;
  const large = latency.relativeEffect !== null ? latency.relativeEffect >= policy.minEffect : shift > 0;
  const test = `Mann-Whitney one-sided p=${fmtP(mw.p)} (z=${mw.z.toFixed(2)})`;
  const shiftText = describeShift(latency);
  if (significant && large) {
    return {
      check: 'latency-regression',
      status: 'fail',
      message: `latency regression: ${percentiles}; ${shiftText} >= minEffect ${fmtPct(policy.minEffect)}; ${test} < alpha ${policy.alpha}`,
    };
  }
  const why = significant
    ? `significant (${test} < alpha ${policy.alpha}) but below minEffect ${fmtPct(policy.minEffect)}`
    : `not significant (${test} >= alpha ${policy.alpha})`;
  return { check: 'latency-regression', status: 'pass', message: `latency: ${shiftText}, ${why}; ${percentiles}` };
}

function agreementCheck(shadow: ShadowMetrics, policy: CanaryPolicy): CheckResult {
  if (shadow.comparisons < policy.minShadowComparisons) {
    return inconclusive(
      'prediction-agreement',
      `too few shadow comparisons: ${shadow.comparisons} (need >= ${policy.minShadowComparisons})`,
      [{ what: 'shadow-comparisons', have: shadow.comparisons, need: policy.minShadowComparisons }],
    );
  }
  const rate = shadow.agreementRate ?? 0;
  const diff = shadow.maxAbsDiff === null ? '' : `; largest |diff| ${shadow.maxAbsDiff.toPrecision(3)}`;
  const nonFinite = shadow.nonFiniteDiffs > 0 ? `; ${shadow.nonFiniteDiffs} non-finite diffs` : '';
  const figures = `${fmtPct(rate)} (${shadow.agreements}/${shadow.comparisons} shadow comparisons agree)`;
  return rate < policy.minAgreement
    ? { check: 'prediction-agreement', status: 'fail', message: `prediction agreement: ${figures} < min ${fmtPct(policy.minAgreement)}${diff}${nonFinite}` }
    : { check: 'prediction-agreement', status: 'pass', message: `prediction agreement: ${figures} >= min ${fmtPct(policy.minAgreement)}${diff}${nonFinite}` };
}

function nonEmpty<T>(items: readonly T[], what: string): NonEmptyArray<T> {
  const [first, ...rest] = items;
  if (first === undefined) throw new Error(`${what} is empty (bug)`);
  return [first, ...rest];
}

function unique<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const item of items) {
    const k = key(item);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(item);
    }
  }
  return out;
}

/**
 * Judges one analysis window. `policy` may be partial; missing fields take
 * DEFAULT_CANARY_POLICY. Throws a RangeError only for an invalid policy (validate it with
 * canaryPolicyProblems when the release starts); any window, even an empty one, is judged.
 */
export function judgeCanary(window: AnalysisWindow, policy: Partial<CanaryPolicy> = {}): Judgement {
  const resolved = resolveCanaryPolicy(policy);
  const baseline = measureSlot(window.baseline);
  const canary = measureSlot(window.canary);
  const shadow = measureShadow(window.shadow);
  const b = baseline.metrics;
  const c = canary.metrics;
  const errorRateIncrease = b.errorRate !== null && c.errorRate !== null ? c.errorRate - b.errorRate + 0 : null;
  const latency = compareLatency(baseline, canary, resolved);
  const metrics: JudgementMetrics = { baseline: b, canary: c, errorRateIncrease, latency, shadow };

  const checks: CheckResult[] = [errorRateCheck(b, c, resolved), errorRateIncreaseCheck(b, c, errorRateIncrease, resolved)];
  if (resolved.maxP99Ms !== null) checks.push(p99Check(b, c, resolved.maxP99Ms, resolved));
  checks.push(latencyRegressionCheck(b, c, latency, resolved), agreementCheck(shadow, resolved));

  const failed = checks.filter((r) => r.status === 'fail');
  if (failed.length > 0) {
    return {
      verdict: 'fail',
      reasons: nonEmpty(failed.map((r) => r.message), 'reasons'),
      failedChecks: nonEmpty(failed.map((r) => r.check), 'failedChecks'),
      checks,
      metrics,
      policy: resolved,
    };
  }
  const thin = checks.filter((r): r is Extract<CheckResult, { status: 'inconclusive' }> => r.status === 'inconclusive');
  if (thin.length > 0) {
    return {
      verdict: 'inconclusive',
      reasons: nonEmpty(unique(thin.map((r) => r.message), (m) => m), 'reasons'),
      inconclusiveChecks: nonEmpty(thin.map((r) => r.check), 'inconclusiveChecks'),
      shortfalls: nonEmpty(unique(thin.flatMap((r) => r.shortfalls), (s) => s.what), 'shortfalls'),
      checks,
      metrics,
      policy: resolved,
    };
  }
  return { verdict: 'pass', reasons: nonEmpty(checks.map((r) => r.message), 'reasons'), checks, metrics, policy: resolved };
}

/**
 * A one-line summary for logs, the Web UI and notifications, e.g.
 * "fail [latency-regression]: p99 canary 48.1 ms vs 12.0 ms (+301%, p=1e-9, shift +200%); error rate 0.0% vs 0.0% (n=500 vs 500); agreement 100.0% (312)".
 * Numbers are rounded here only; the judgement keeps them exact.
 */
export function describe(judgement: Judgement): string {
  const m = judgement.metrics;
  const head =
    judgement.verdict === 'fail'
      ? `fail [${judgement.failedChecks.join(', ')}]`
      : judgement.verdict === 'inconclusive'
        ? `inconclusive [${judgement.shortfalls.map((s) => `${s.what} ${s.have}/${s.need}`).join(', ')}]`
        : 'pass';
  const mw = m.latency.mannWhitney;
  const latencyDetail = [fmtChange(m.latency.p99RelativeChange), `p=${mw.computed ? fmtP(mw.p) : 'n/a'}`, `shift ${fmtChange(m.latency.relativeEffect)}`].join(', ');
  const p99 = `p99 canary ${fmtMs(m.canary.latencyMs?.p99 ?? null)} ms vs ${fmtMs(m.baseline.latencyMs?.p99 ?? null)} ms (${latencyDetail})`;
  const errors = `error rate ${fmtPct(m.canary.errorRate)} vs ${fmtPct(m.baseline.errorRate)} (n=${m.canary.requests} vs ${m.baseline.requests})`;
  const agreement = `agreement ${fmtPct(m.shadow.agreementRate)} (${m.shadow.comparisons})`;
  return `${head}: ${p99}; ${errors}; ${agreement}`;
}
