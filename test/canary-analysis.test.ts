// Canary analysis: Mann-Whitney, the normal tail and percentiles checked against scipy/numpy
// (test/fixtures/mannwhitney_reference.py in the project venv), Hodges-Lehmann against
// hand-computed values and brute force, and the judgement on seeded synthetic traffic.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../src/paths.js';
import {
  DEFAULT_CANARY_POLICY,
  canaryPolicyProblems,
  describe as describeJudgement,
  erf,
  erfc,
  hodgesLehmann,
  judgeCanary,
  kthPairwiseDifference,
  mannWhitneyU,
  medianPairwiseDifference,
  normalCdf,
  normalSf,
  normalUpperQuantile,
  percentile,
  resolveCanaryPolicy,
  sortedSample,
  type Alternative,
  type AnalysisWindow,
  type Judgement,
  type Observation,
  type ShadowComparison,
} from '../src/canary/analysis/index.js';
import { seededRandom } from '../src/smoke/seeded-random.js';

const PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');
const REFERENCE_SCRIPT = join(PROJECT_ROOT, 'test', 'fixtures', 'mannwhitney_reference.py');

// ---------------------------------------------------------------------------------------
// Seeded data (the project's mulberry32, as the smoke inputs use)

function normals(rand: () => number): () => number {
  return () => {
    const u = 1 - rand(); // (0, 1]
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** Log-normal latencies around `medianMs`, rounded to 0.1 ms like a real timer (so with ties). */
function latencies(seed: number, n: number, medianMs: number, sigma = 0.35, scale = 1): number[] {
  const z = normals(seededRandom(seed));
  return Array.from({ length: n }, () => Math.round(medianMs * Math.exp(sigma * z()) * scale * 10) / 10);
}

function observations(seed: number, n: number, opts: { medianMs?: number; scale?: number; errorRate?: number } = {}): Observation[] {
  const lat = latencies(seed, n, opts.medianMs ?? 20, 0.35, opts.scale ?? 1);
  const rand = seededRandom(seed ^ 0x5bd1e995);
  return lat.map((latencyMs) => ({ latencyMs, error: rand() < (opts.errorRate ?? 0) }));
}

function shadow(seed: number, n: number, agreeRate = 1): ShadowComparison[] {
  const rand = seededRandom(seed ^ 0x27d4eb2f);
  // Exactly round(n * agreeRate) agreements, placed deterministically.
  const disagree = n - Math.round(n * agreeRate);
  return Array.from({ length: n }, (_, i) => {
    const agree = i >= disagree;
    return { agree, maxAbsDiff: agree ? rand() * 1e-6 : 0.1 + rand() };
  });
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rand = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The scipy / numpy reference

interface ReferenceRequest {
  mannwhitney: Array<{ baseline: number[]; canary: number[] }>;
  percentiles: Array<{ values: number[]; q: number[] }>;
  hodges_lehmann: Array<{ baseline: number[]; canary: number[] }>;
  sf: number[];
}
interface ReferenceAnswer {
  mannwhitney: Array<Record<'two-sided' | 'greater' | 'less', { U: number; p: number }>>;
  percentiles: number[][];
  hodges_lehmann: number[];
  sf: number[];
  sf_exact: Array<number | null>;
  versions: { scipy: string; numpy: string };
}

function reference(request: ReferenceRequest): ReferenceAnswer {
  const stdout = execFileSync(PYTHON, [REFERENCE_SCRIPT], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout) as ReferenceAnswer;
}

function assertRelClose(actual: number, expected: number, rel: number, what: string): void {
  const tolerance = rel * Math.max(Math.abs(expected), Number.MIN_VALUE);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: got ${actual}, expected ${expected} (relative tolerance ${rel})`);
}

const MW_CASES: Array<{ name: string; baseline: number[]; canary: number[] }> = (() => {
  const ints = (seed: number, n: number, max: number): number[] => {
    const r = seededRandom(seed);
    return Array.from({ length: n }, () => Math.floor(r() * (max + 1)));
  };
  const same = latencies(7, 150, 20);
  return [
    { name: 'same distribution, continuous-ish, 200 vs 200', baseline: latencies(1, 200, 20), canary: latencies(2, 200, 20) },
    { name: 'heavy ties (integers 0..5), 60 vs 80', baseline: ints(3, 60, 5), canary: ints(4, 80, 5) },
    { name: 'equal samples', baseline: same, canary: same.slice() },
    { name: 'canary shifted +30%, 300 vs 250', baseline: latencies(5, 300, 20), canary: latencies(6, 250, 20, 0.35, 1.3) },
    { name: 'canary faster, 120 vs 90', baseline: latencies(8, 120, 20), canary: latencies(9, 90, 20, 0.35, 0.8) },
    { name: 'different sizes, 8 vs 500', baseline: latencies(10, 500, 20), canary: latencies(11, 8, 20, 0.35, 1.5) },
    { name: 'small, 9 vs 13 with ties', baseline: ints(12, 9, 6), canary: ints(13, 13, 8) },
    { name: 'completely separated, 200 vs 200 (p ~ 1e-67)', baseline: latencies(14, 200, 10, 0.1), canary: latencies(15, 200, 10, 0.1, 3).map((v) => v + 50) },
    { name: 'ties across samples at 0.1 ms resolution, 2000 vs 1500', baseline: latencies(16, 2000, 5, 0.2), canary: latencies(17, 1500, 5, 0.2, 1.02) },
  ];
})();

const PERCENTILE_CASES: Array<{ values: number[]; q: number[] }> = (() => {
  const q = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];
  return [
    { values: [42], q },
    { values: [3, 1], q },
    { values: [5, 1, 3], q },
    { values: [1, 2, 2, 2, 3, 10, 10, 11, 50, 51], q },
    { values: latencies(20, 101, 20), q },
    { values: latencies(21, 1000, 20), q },
    { values: latencies(22, 12_345, 20, 0.8), q },
    { values: Array.from({ length: 97 }, (_, i) => (i * 7919) % 13), q },
  ];
})();

const HL_NUMPY_CASES: Array<{ baseline: number[]; canary: number[] }> = [
  { baseline: latencies(30, 300, 20), canary: latencies(31, 500, 20, 0.35, 1.1) },
  { baseline: latencies(32, 257, 20), canary: latencies(33, 199, 20) },
  { baseline: Array.from({ length: 400 }, (_, i) => i % 7), canary: Array.from({ length: 301 }, (_, i) => (i * 3) % 11) },
  { baseline: latencies(34, 1000, 50, 1), canary: latencies(35, 999, 50, 1, 2) },
];

const SF_GRID = [-8, -3, -1.5, -0.5, -1e-3, 0, 1e-9, 0.1, 0.3, 0.6629, 0.7, 1, 1.25, 1.5, 2, 2.5, 2.75, 3, 3.5, 4, 5, 5.6568, 6, 7.5, 8, 9, 10, 12.5, 15, 18, 20, 25, 30, 35, 37.5];

let ref: ReferenceAnswer;
before(() => {
  ref = reference({ mannwhitney: MW_CASES, percentiles: PERCENTILE_CASES, hodges_lehmann: HL_NUMPY_CASES, sf: SF_GRID });
  assert.equal(ref.versions.scipy, '1.17.1', 'the reference values come from scipy 1.17.1');
});

// ---------------------------------------------------------------------------------------

describe('normal distribution', () => {
  test('the upper tail matches scipy.special.ndtr to 1e-13 relative, far into the tail', () => {
    // (scipy itself is within ~6e-14 of a 60-digit evaluation over this grid.)
    SF_GRID.forEach((z, i) => assertRelClose(normalSf(z), ref.sf[i]!, 1e-13, `normalSf(${z})`));
  });

  test('the upper tail is within 2e-15 relative of a 60-digit evaluation for z >= 1', () => {
    let checked = 0;
    SF_GRID.forEach((z, i) => {
      const exact = ref.sf_exact[i];
      if (exact === null || exact === undefined || exact < 1e-300) return;
      assertRelClose(normalSf(z), exact, 2e-15, `normalSf(${z})`);
      checked++;
    });
    assert.ok(checked >= 20, `checked ${checked}`);
  });

  test('erf / erfc / cdf identities and known values', () => {
    assert.equal(erfc(0), 1);
    assert.equal(erf(0), 0);
    assert.ok(Number.isNaN(erfc(Number.NaN)));
    assert.equal(erfc(30), 0);
    assert.equal(erfc(-30), 2);
    assertRelClose(erf(0.5), 0.5204998778130465, 1e-15, 'erf(0.5)');
    assertRelClose(erfc(1), 0.15729920705028513, 1e-15, 'erfc(1)');
    assertRelClose(erfc(5), 1.5374597944280349e-12, 1e-14, 'erfc(5)');
    for (const z of [-5, -1, 0, 0.3, 2, 6]) assertRelClose(normalCdf(z) + normalSf(z), 1, 1e-15, `cdf + sf at ${z}`);
    assertRelClose(normalCdf(-10), 7.619853024160527e-24, 1e-13, 'normalCdf(-10)');
  });

  test('the quantile inverts the tail', () => {
    assertRelClose(normalUpperQuantile(0.025), 1.959963984540054, 1e-15, 'z_0.975');
    assertRelClose(normalUpperQuantile(0.005), 2.5758293035489004, 1e-15, 'z_0.995');
    assert.equal(normalUpperQuantile(0.5), 0);
    assertRelClose(normalUpperQuantile(0.975), -1.959963984540054, 1e-15, 'z_0.025');
    for (const p of [1e-300, 1e-20, 1e-6, 0.1, 0.4]) assertRelClose(normalSf(normalUpperQuantile(p)), p, 1e-12, `sf(quantile(${p}))`);
    assert.throws(() => normalUpperQuantile(0), RangeError);
    assert.throws(() => normalUpperQuantile(1), RangeError);
  });
});

describe('Mann-Whitney U vs scipy.stats.mannwhitneyu (asymptotic, continuity)', () => {
  const alternatives: Array<[Alternative, 'two-sided' | 'greater' | 'less']> = [
    ['two-sided', 'two-sided'],
    ['canary-greater', 'greater'],
    ['canary-less', 'less'],
  ];
  MW_CASES.forEach((c, i) => {
    test(c.name, () => {
      for (const [mine, theirs] of alternatives) {
        const expected = ref.mannwhitney[i]![theirs];
        const got = mannWhitneyU(c.baseline, c.canary, { alternative: mine });
        assert.ok(got.computed, `${mine}: not computed: ${JSON.stringify(got)}`);
        assertRelClose(got.u, expected.U, 1e-9, `${mine} U`);
        assert.equal(got.u + got.uBaseline, c.baseline.length * c.canary.length);
        assert.ok(expected.p > 0, 'the reference p must not underflow');
        assertRelClose(got.p, expected.p, 1e-6, `${mine} p`);
      }
    });
  });

  test('equal samples: U = n^2/2, two-sided p = 1', () => {
    const c = MW_CASES[2]!;
    const r = mannWhitneyU(c.baseline, c.canary);
    assert.ok(r.computed);
    assert.equal(r.u, (c.baseline.length * c.canary.length) / 2);
    assert.equal(r.p, 1);
    assert.equal(r.probabilityCanaryGreater, 0.5);
  });

  test('below 8 per sample the test is not computed; all-equal data has no variance', () => {
    const small = mannWhitneyU([1, 2, 3, 4, 5, 6, 7], [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(small.computed ? 'computed' : small.reason, 'too-few-samples');
    assert.equal(small.nBaseline, 7);
    const flat = mannWhitneyU(Array(20).fill(5), Array(30).fill(5), { alternative: 'canary-greater' });
    assert.equal(flat.computed ? 'computed' : flat.reason, 'no-variance');
    assert.throws(() => mannWhitneyU([1, Number.NaN], [1, 2]), RangeError);
    assert.throws(() => mannWhitneyU([1, 2], [Number.POSITIVE_INFINITY]), RangeError);
  });

  test('the minimum can be lowered explicitly (and then matches the formula on tiny data)', () => {
    // baseline [1, 2], canary [3, 4]: U_canary = 4, mu = 2, no ties: sigma^2 = 2*2*5/12.
    const r = mannWhitneyU([1, 2], [3, 4], { alternative: 'canary-greater', minSamplesPerGroup: 2 });
    assert.ok(r.computed);
    assert.equal(r.u, 4);
    assertRelClose(r.z, 1.5 / Math.sqrt(20 / 12), 1e-15, 'z');
    assertRelClose(r.p, normalSf(1.5 / Math.sqrt(20 / 12)), 1e-15, 'p');
  });
});

describe('Hodges-Lehmann', () => {
  const hl = (b: number[], c: number[]): number => {
    const r = hodgesLehmann(b, c);
    assert.ok(r !== null);
    return r.shift;
  };

  test('hand-computed shifts', () => {
    // canary - baseline pairs: 2-1, 2-2, 2-3, 4-1, 4-2, 4-3 = 1, 0, -1, 3, 2, 1 -> sorted -1 0 1 1 2 3 -> median 1
    assert.equal(hl([1, 2, 3], [2, 4]), 1);
    // 4-1, 4-2, 4-3 = 3, 2, 1 -> 2
    assert.equal(hl([1, 2, 3], [4]), 2);
    // 15-10, 15-20 = 5, -5 -> mean of the middle two = 0
    assert.equal(hl([10, 20], [15]), 0);
    // a pure shift by 7: differences (j - i) + 7 are symmetric around 7
    assert.equal(hl([1, 2, 4], [8, 9, 11]), 7);
    // 5 - 0 for every pair
    assert.equal(hl([0, 0, 0], [5, 5, 5]), 5);
    // canary faster: 1-10, 1-12, 2-10, 2-12 = -9, -11, -8, -10 -> -10, -9 -> -9.5
    assert.equal(hl([10, 12], [1, 2]), -9.5);
    assert.equal(hodgesLehmann([], [1]), null);
  });

  test('hand-computed confidence interval (8 vs 8)', () => {
    // baseline 0..7, canary 0.5..7.5: the 64 differences are k + 0.5 for k = -7..7 with
    // multiplicity 8 - |k|. sigma_U = sqrt(64 * 17 / 12) = 9.522, C = floor(32 - 1.95996 * 9.522)
    // = floor(13.34) = 13, so the bounds are D(13) and D(52). Cumulative counts from k = -7:
    // 1, 3, 6, 10, 15, ... -> D(13) has k = -3 (-2.5); by symmetry D(52) has k = 3 (3.5).
    // The median ranks 32, 33 fall in k = 0 (ranks 29..36): shift 0.5.
    const b = [0, 1, 2, 3, 4, 5, 6, 7];
    const r = hodgesLehmann(b, b.map((v) => v + 0.5));
    assert.deepEqual(r, {
      shift: 0.5,
      pairs: 64,
      confidenceInterval: { level: 0.95, lower: -2.5, upper: 3.5, lowerRank: 13, upperRank: 52 },
    });
    // Too small for an interval: 1 vs 2 has C = floor(1 - 1.96 * 0.5) = 0.
    assert.equal(hodgesLehmann([1], [2, 3])!.confidenceInterval, null);
  });

  test('the exact selection equals sorting all pairwise differences (random sizes, ties)', () => {
    const rand = seededRandom(99);
    for (let t = 0; t < 200; t++) {
      const nb = 1 + Math.floor(rand() * 40);
      const nc = 1 + Math.floor(rand() * 40);
      const ties = t % 2 === 0;
      const b = sortedSample(Array.from({ length: nb }, () => (ties ? Math.floor(rand() * 4) : rand() * 100)));
      const c = sortedSample(Array.from({ length: nc }, () => (ties ? Math.floor(rand() * 4) : rand() * 100 + 10)));
      const all: number[] = [];
      for (const x of b) for (const y of c) all.push(y - x);
      all.sort((x, y) => x - y);
      for (const k of [1, all.length, Math.ceil(all.length / 2), 1 + Math.floor(rand() * all.length)]) {
        assert.equal(kthPairwiseDifference(b, c, k), all[k - 1], `nb=${nb} nc=${nc} k=${k}`);
      }
      const n = all.length;
      const median = n % 2 === 1 ? all[(n - 1) / 2]! : (all[n / 2 - 1]! + all[n / 2]!) / 2;
      assert.equal(medianPairwiseDifference(b, c), median);
      const ci = hodgesLehmann(b, c)?.confidenceInterval;
      if (ci) {
        assert.equal(ci.lower, all[ci.lowerRank - 1]);
        assert.equal(ci.upper, all[ci.upperRank - 1]);
        assert.equal(ci.lowerRank + ci.upperRank, n + 1);
      }
    }
  });

  test('matches numpy.median(np.subtract.outer(canary, baseline)) exactly', () => {
    HL_NUMPY_CASES.forEach((c, i) => assert.equal(hl(c.baseline, c.canary), ref.hodges_lehmann[i], `case ${i}`));
  });

  test('large inputs are exact (20k x 20k = 4e8 pairs, never enumerated)', (t) => {
    const b = latencies(40, 20_000, 20);
    const c = latencies(41, 20_000, 20, 0.35, 1.02);
    const started = performance.now();
    const r = hodgesLehmann(b, c)!;
    // Speed is the bench's to measure, not a test's to assert (a loaded machine may take any time).
    t.diagnostic(`hodgesLehmann over 4e8 pairs: ${(performance.now() - started).toFixed(0)} ms`);
    // Checked with counting: exactly the right number of differences lie on each side.
    const sb = sortedSample(b);
    const sc = sortedSample(c);
    const total = sb.length * sc.length;
    const lo = kthPairwiseDifference(sb, sc, total / 2);
    const hi = kthPairwiseDifference(sb, sc, total / 2 + 1);
    assert.equal(r.shift, (lo + hi) / 2);
    let below = 0;
    let atMost = 0;
    for (let i = 0, j1 = 0, j2 = 0; i < sb.length; i++) {
      while (j1 < sc.length && sc[j1]! - sb[i]! < lo) j1++;
      while (j2 < sc.length && sc[j2]! - sb[i]! <= lo) j2++;
      below += j1;
      atMost += j2;
    }
    assert.ok(below < total / 2 && atMost >= total / 2, `rank of D(n/2): ${below} < ${total / 2} <= ${atMost}`);
    assert.ok(r.confidenceInterval!.lower <= r.shift && r.shift <= r.confidenceInterval!.upper);
    assert.ok(r.shift > 0.2 && r.shift < 0.6, `about 2% of 20 ms: ${r.shift}`);
  });
});

describe('percentiles vs numpy.percentile (linear)', () => {
  test('bit-identical on samples with and without ties', () => {
    PERCENTILE_CASES.forEach((c, i) => {
      c.q.forEach((q, j) => assert.equal(percentile(c.values, q), ref.percentiles[i]![j], `case ${i} (n=${c.values.length}) q=${q}`));
    });
  });

  test('rejects empty samples and bad q', () => {
    assert.throws(() => percentile([], 50), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1], Number.NaN), RangeError);
  });
});

// ---------------------------------------------------------------------------------------

function assertJsonSafe(j: Judgement): void {
  assert.deepStrictEqual(JSON.parse(JSON.stringify(j)), j);
}

function window(seed: number, opts: { n?: number; canaryScale?: number; canaryErrorRate?: number; baselineErrorRate?: number; shadowN?: number; agreeRate?: number } = {}): AnalysisWindow {
  const n = opts.n ?? 1000;
  return {
    baseline: observations(seed, n, { errorRate: opts.baselineErrorRate ?? 0.001 }),
    canary: observations(seed + 1, n, { scale: opts.canaryScale ?? 1, errorRate: opts.canaryErrorRate ?? 0.001 }),
    shadow: shadow(seed + 2, opts.shadowN ?? 312, opts.agreeRate ?? 1),
  };
}

describe('judgeCanary', () => {
  test('identical distributions pass, with every measured value recorded', () => {
    const j = judgeCanary(window(100));
    assert.equal(j.verdict, 'pass', describeJudgement(j));
    assert.deepEqual(
      j.checks.map((c) => [c.check, c.status]),
      [
        ['error-rate', 'pass'],
        ['error-rate-increase', 'pass'],
        ['latency-regression', 'pass'],
        ['prediction-agreement', 'pass'],
      ],
    );
    assert.equal(j.reasons.length, 4);
    const m = j.metrics;
    assert.equal(m.baseline.requests, 1000);
    assert.equal(m.canary.latencySamples, 1000 - m.canary.errors);
    assert.ok(m.latency.mannWhitney.computed && m.latency.mannWhitney.alternative === 'canary-greater');
    assert.ok(m.latency.mannWhitney.p > 0.01);
    assert.ok(Math.abs(m.latency.relativeEffect!) < 0.05);
    assert.equal(m.shadow.agreementRate, 1);
    assert.deepEqual(j.policy, DEFAULT_CANARY_POLICY);
    assertJsonSafe(j);
  });

  test('a 3x slower canary fails, naming p99 and the p-value', () => {
    const j = judgeCanary(window(200, { canaryScale: 3 }));
    assert.equal(j.verdict, 'fail');
    assert.ok(j.verdict === 'fail');
    assert.deepEqual(j.failedChecks, ['latency-regression']);
    assert.equal(j.reasons.length, 1);
    const reason = j.reasons[0];
    assert.match(reason, /p99 canary [\d.]+ ms vs baseline [\d.]+ ms \(\+\d+%\)/);
    assert.match(reason, /Mann-Whitney one-sided p=(\d(\.\d)?e-\d+|<1e-300) \(z=[\d.]+\) < alpha 0\.01/);
    assert.match(reason, /HL shift \+[\d.]+ ms = \+\d+% of baseline median/);
    const mw = j.metrics.latency.mannWhitney;
    assert.ok(mw.computed && mw.p < 1e-100);
    assert.ok(j.metrics.latency.relativeEffect! > 1.8 && j.metrics.latency.relativeEffect! < 2.2, String(j.metrics.latency.relativeEffect));
    const line = describeJudgement(j);
    assert.match(line, /^fail \[latency-regression\]: p99 canary [\d.]+ ms vs [\d.]+ ms \(\+\d+%, p=[^,]+, shift \+\d+%\); error rate [\d.]+% vs [\d.]+% \(n=1000 vs 1000\); agreement 100\.0% \(312\)$/);
    assertJsonSafe(j);
  });

  test('a tiny but significant slowdown (+2%, 20k requests per slot) passes: below minEffect', () => {
    const j = judgeCanary(window(300, { n: 20_000, canaryScale: 1.02 }));
    assert.equal(j.verdict, 'pass', describeJudgement(j));
    const mw = j.metrics.latency.mannWhitney;
    assert.ok(mw.computed && mw.p < 0.01, `the shift must be significant: p=${mw.computed ? mw.p : 'n/a'}`);
    const effect = j.metrics.latency.relativeEffect!;
    assert.ok(effect > 0.01 && effect < 0.03, String(effect));
    const latency = j.checks.find((c) => c.check === 'latency-regression')!;
    assert.match(latency.message, /significant .* but below minEffect 20\.0%/);
    // With minEffect lowered to 1% the same data fails.
    const strict = judgeCanary(window(300, { n: 20_000, canaryScale: 1.02 }), { minEffect: 0.01 });
    assert.equal(strict.verdict, 'fail');
  });

  test('an error-rate spike fails both error checks, with the numbers', () => {
    const j = judgeCanary(window(400, { canaryErrorRate: 0.05 }));
    assert.ok(j.verdict === 'fail', describeJudgement(j));
    assert.deepEqual(j.failedChecks, ['error-rate', 'error-rate-increase']);
    const rate = j.metrics.canary.errorRate!;
    assert.ok(rate > 0.03 && rate < 0.07);
    assert.match(j.reasons[0], /^error rate: canary \d\.\d\d% \(\d+\/1000\) > max 1\.00%$/);
    assert.match(j.reasons[1]!, /^error rate increase: canary .* points > max \+0\.50 points$/);
    assertJsonSafe(j);
  });

  test('disagreeing predictions fail', () => {
    const j = judgeCanary(window(500, { agreeRate: 0.95, shadowN: 300 }));
    assert.ok(j.verdict === 'fail');
    assert.deepEqual(j.failedChecks, ['prediction-agreement']);
    assert.equal(j.metrics.shadow.agreements, 285);
    assert.match(j.reasons[0], /^prediction agreement: 95\.0% \(285\/300 shadow comparisons agree\) < min 99\.0%; largest \|diff\| /);
  });

  test('every failed check is listed at once', () => {
    const j = judgeCanary(window(600, { canaryScale: 2, canaryErrorRate: 0.2, agreeRate: 0.5 }), { maxP99Ms: 30 });
    assert.ok(j.verdict === 'fail');
    assert.deepEqual(j.failedChecks, ['error-rate', 'error-rate-increase', 'latency-p99', 'latency-regression', 'prediction-agreement']);
    assert.equal(j.reasons.length, 5);
    assert.match(j.reasons[2]!, /^p99 latency: canary [\d.]+ ms \(baseline [\d.]+ ms\) > max 30\.0 ms$/);
  });

  test('10 requests per slot are inconclusive, naming the counts, even if they look terrible', () => {
    const thin: AnalysisWindow = {
      baseline: observations(700, 10),
      canary: observations(701, 10, { scale: 5, errorRate: 1 }).map((o) => ({ ...o, error: true })),
      shadow: shadow(702, 10, 0),
    };
    const j = judgeCanary(thin);
    assert.ok(j.verdict === 'inconclusive', describeJudgement(j));
    assert.deepEqual(j.reasons, ['too few requests: baseline 10, canary 10 (need >= 200 per slot)', 'too few shadow comparisons: 10 (need >= 100)']);
    assert.deepEqual(j.shortfalls, [
      { what: 'canary-requests', have: 10, need: 200 },
      { what: 'baseline-requests', have: 10, need: 200 },
      { what: 'shadow-comparisons', have: 10, need: 100 },
    ]);
    assert.deepEqual(j.inconclusiveChecks, ['error-rate', 'error-rate-increase', 'latency-regression', 'prediction-agreement']);
    assert.match(describeJudgement(j), /^inconclusive \[canary-requests 10\/200, baseline-requests 10\/200, shadow-comparisons 10\/100\]: /);
    assertJsonSafe(j);
  });

  test('enough traffic but too few shadow comparisons is inconclusive, not pass', () => {
    const j = judgeCanary(window(800, { shadowN: 12 }));
    assert.ok(j.verdict === 'inconclusive');
    assert.deepEqual(j.inconclusiveChecks, ['prediction-agreement']);
    assert.deepEqual(j.shortfalls, [{ what: 'shadow-comparisons', have: 12, need: 100 }]);
  });

  test('failed requests do not count as latency samples', () => {
    // 30% errors: enough requests, but only ~140 successful latencies out of 200.
    const w: AnalysisWindow = { baseline: observations(900, 200), canary: observations(901, 200, { errorRate: 0.3 }), shadow: shadow(902, 200) };
    const j = judgeCanary(w);
    assert.ok(j.verdict === 'fail');
    assert.deepEqual(j.failedChecks, ['error-rate', 'error-rate-increase']);
    const latency = j.checks.find((c) => c.check === 'latency-regression')!;
    assert.equal(latency.status, 'inconclusive');
    assert.match(latency.message, /too few successful requests with a valid latency: baseline 200, canary \d+ \(need >= 200 per slot\)/);
  });

  test('deterministic: same input, deep-equal output; the order of observations does not matter', () => {
    const w = window(1000, { canaryScale: 1.1, canaryErrorRate: 0.004 });
    const a = judgeCanary(w);
    const b = judgeCanary(structuredClone(w));
    assert.deepStrictEqual(a, b);
    const c = judgeCanary({ baseline: shuffled(w.baseline, 1), canary: shuffled(w.canary, 2), shadow: shuffled(w.shadow, 3) });
    assert.deepStrictEqual(c, a);
    assert.equal(describeJudgement(a), describeJudgement(c));
  });

  test('edge cases stay JSON-safe: empty window, all errors, constant latencies, invalid values', () => {
    const constant = (n: number): Observation[] => Array.from({ length: n }, () => ({ latencyMs: 12, error: false }));
    const cases: AnalysisWindow[] = [
      { baseline: [], canary: [], shadow: [] },
      { baseline: constant(300), canary: constant(300).map((o) => ({ ...o, error: true })), shadow: shadow(1, 150) },
      { baseline: constant(300), canary: constant(300), shadow: shadow(2, 150) },
      {
        baseline: [...observations(3, 300), { latencyMs: Number.NaN, error: false }, { latencyMs: -0, error: false }],
        canary: [...observations(4, 300), { latencyMs: -5, error: false }, { latencyMs: Number.POSITIVE_INFINITY, error: false }],
        shadow: [...shadow(5, 150), { agree: true, maxAbsDiff: Number.NaN }],
      },
      { baseline: observations(6, 300).map((o) => ({ ...o, latencyMs: 0 })), canary: observations(7, 300), shadow: shadow(8, 150) },
    ];
    const verdicts = cases.map((w) => {
      const j = judgeCanary(w);
      assertJsonSafe(j);
      assert.ok(describeJudgement(j).length > 0);
      return j;
    });
    assert.equal(verdicts[0]!.verdict, 'inconclusive');
    assert.equal(verdicts[1]!.verdict, 'fail');
    assert.equal(verdicts[1]!.metrics.canary.latencyMs, null);
    assert.equal(verdicts[2]!.verdict, 'pass');
    assert.match(verdicts[2]!.checks.find((c) => c.check === 'latency-regression')!.message, /no difference to test/);
    assert.equal(verdicts[3]!.metrics.baseline.invalidLatencies, 1);
    assert.equal(verdicts[3]!.metrics.canary.invalidLatencies, 2);
    assert.equal(verdicts[3]!.metrics.shadow.nonFiniteDiffs, 1);
    // A zero baseline median: the relative effect is undefined, a positive shift still counts.
    assert.equal(verdicts[4]!.metrics.latency.relativeEffect, null);
    assert.ok(verdicts[4]!.verdict === 'fail' && verdicts[4]!.failedChecks.includes('latency-regression'));
  });

  test('policy: defaults, validation, unknown keys', () => {
    assert.deepEqual(resolveCanaryPolicy({}), DEFAULT_CANARY_POLICY);
    assert.deepEqual(resolveCanaryPolicy({ alpha: 0.05, maxP99Ms: undefined }), { ...DEFAULT_CANARY_POLICY, alpha: 0.05 });
    assert.deepEqual(canaryPolicyProblems({ alpha: 0, minSamplesPerSlot: 5, maxP99Ms: -1, minAgreemnt: 0.9 }), [
      'unknown policy key "minAgreemnt"',
      'minSamplesPerSlot must be an integer >= 8, got 5',
      'maxP99Ms must be null or a number > 0, got -1',
      'alpha must be a number in (0, 1), got 0',
    ]);
    assert.throws(() => judgeCanary(window(1), { minEffect: -1 }), /invalid canary policy: minEffect must be a number >= 0/);
  });
});

describe('purity of src/canary/analysis', () => {
  test('relative imports only; no clocks, randomness, I/O or globals from the host', () => {
    const dir = join(PROJECT_ROOT, 'src', 'canary', 'analysis');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 6);
    for (const file of files) {
      const source = readFileSync(join(dir, file), 'utf8');
      for (const m of source.matchAll(/\bfrom\s+'([^']+)'/g)) assert.match(m[1]!, /^\.\/[\w-]+\.js$/, `${file} imports ${m[1]}`);
      for (const banned of [/\bimport\(/, /\brequire\(/, /Math\.random/, /\bDate\b/, /performance\./, /\bprocess\./, /\bglobalThis\b/, /\bconsole\./, /setTimeout|setInterval/, /['"]node:/]) {
        assert.doesNotMatch(source, banned, `${file} uses ${banned}`);
      }
    }
  });
});
