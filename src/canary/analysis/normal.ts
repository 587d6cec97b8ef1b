/**
 * The standard normal distribution, in plain arithmetic (no I/O, no randomness): safe to run
 * inside a Temporal workflow.
 *
 * `erfc` follows W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
 * approximations for the error function", Math. Comp. 23, 1969, pp. 631-638; the netlib
 * SPECFUN `CALERF` packet): three intervals, near-minimax to about 18 significant digits in
 * exact arithmetic, so in doubles the result is within a few ulps. For large |x| the factor
 * exp(-x^2) is computed as exp(-a^2) * exp(-(x-a)(x+a)) with `a` = x truncated to 1/16, which
 * avoids the rounding error of squaring x. `normalSf` applies the same splitting to
 * exp(-z^2/2) directly, so the normal tail is accurate in relative terms far out: within
 * 2e-15 of a 60-digit evaluation for 1 <= z <= 37 in the tests (scipy's ndtr is within ~2e-13).
 *
 * Determinism: only +, -, *, / (correctly rounded in IEEE 754), Math.abs, Math.trunc and
 * Math.exp are used. V8 implements Math.exp in software (an fdlibm port), so the same Node
 * binary always produces the same bits; this is what workflow replay relies on.
 */

// Coefficients for erf(x), |x| <= 0.46875.
const A = [3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153] as const;
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062] as const;
// Coefficients for erfc(x), 0.46875 < x <= 4.
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131, 881.95222124176909,
  1712.04761263407058, 2051.07837782607147, 1230.33935479799725, 2.15311535474403846e-8,
] as const;
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019, 3290.79923573345963,
  4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
] as const;
// Coefficients for erfc(x), x > 4.
const P = [0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766, 6.58749161529837803e-4, 0.0163153871373020978] as const;
const Q = [2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191, 0.00233520497626869185] as const;

/** 1 / sqrt(pi). */
const ONE_OVER_SQRT_PI = 0.56418958354775628695;
/** Below this, x*x is negligible next to the leading coefficients (and might underflow). */
const X_SMALL = 1.11e-16;
/** erfc(x) underflows to 0 (below the smallest subnormal) from here on. */
const X_BIG = 26.543;

/** exp(-y*y) without the rounding error of forming y*y directly (Cody's splitting). */
function expNegSquare(y: number): number {
  const head = Math.trunc(y * 16) / 16;
  const tail = (y - head) * (y + head);
  return Math.exp(-head * head) * Math.exp(-tail);
}

/** exp(-z*z/2), split the same way: head*head/2 is exact, so only the small tail rounds. */
function expNegHalfSquare(z: number): number {
  const head = Math.trunc(z * 16) / 16;
  const tail = ((z - head) * (z + head)) / 2;
  return Math.exp(-(head * head) / 2) * Math.exp(-tail);
}

/** Above this, erfc(y) exp(y^2) = 1 / (y sqrt(pi)) to double precision. */
const X_HUGE = 6.71e7;

/** erfc(y) * exp(y*y) for y > 0.46875: the rational part of Cody's approximations. */
function scaledTail(y: number): number {
  if (y <= 4) {
    let num = C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y;
      den = (den + D[i]!) * y;
    }
    return (num + C[7]) / (den + D[7]);
  }
  if (y >= X_HUGE) return ONE_OVER_SQRT_PI / y;
  const ysq = 1 / (y * y);
  let num = P[5] * ysq;
  let den = ysq;
  for (let i = 0; i < 4; i++) {
    num = (num + P[i]!) * ysq;
    den = (den + Q[i]!) * ysq;
  }
  const r = (ysq * (num + P[4])) / (den + Q[4]);
  return (ONE_OVER_SQRT_PI - r) / y;
}

/** erf(x) for |x| <= 0.46875. */
function erfSmall(x: number): number {
  const y = Math.abs(x);
  const ysq = y > X_SMALL ? y * y : 0;
  let num = A[4] * ysq;
  let den = ysq;
  for (let i = 0; i < 3; i++) {
    num = (num + A[i]!) * ysq;
    den = (den + B[i]!) * ysq;
  }
  return (x * (num + A[3])) / (den + B[3]);
}

/** The complementary error function erfc(x) = 1 - erf(x), for any real x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  if (y <= 0.46875) return 1 - erfSmall(x);
  const tail = y >= X_BIG ? 0 : scaledTail(y) * expNegSquare(y);
  return x < 0 ? 2 - tail : tail;
}

/** The error function erf(x). */
export function erf(x: number): number {
  if (Math.abs(x) <= 0.46875) return erfSmall(x); // keeps its relative precision near 0
  return x < 0 ? erfc(-x) - 1 : 1 - erfc(x);
}

/**
 * P(Z > z) for a standard normal Z (the upper tail). For z > 0.66 it is computed as
 * 0.5 * [erfc(y) exp(y^2)](y = z/sqrt 2) * exp(-z^2/2), with exp(-z^2/2) formed from z itself:
 * rounding z/sqrt(2) then only perturbs the smooth rational factor, not the exponential, so
 * the tail keeps ~1e-15 relative accuracy down to the subnormal range (z ~ 38.5).
 */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z < 0) return 1 - normalSf(-z);
  const y = z / Math.SQRT2;
  if (y <= 0.46875) return 0.5 * (1 - erfSmall(y));
  if (z > 40) return 0; // below the smallest subnormal from z ~ 38.5 on
  return 0.5 * scaledTail(y) * expNegHalfSquare(z);
}

/** P(Z <= z) for a standard normal Z (precise for very negative z). */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

/**
 * The z with P(Z > z) = p, for 0 < p < 1 (the upper-tail quantile; 1.959963984540054 for
 * p = 0.025). Found by bisection on `normalSf`, which is monotone: a fixed, deterministic
 * number of steps that stops when the bracket can no longer shrink in doubles.
 */
export function normalUpperQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalUpperQuantile needs 0 < p < 1, got ${p}`);
  if (p === 0.5) return 0;
  if (p > 0.5) return -normalUpperQuantile(1 - p);
  let lo = 0; // normalSf(lo) >= p
  let hi = 40; // normalSf(hi) < p for every representable p > 0 that matters here
  for (let i = 0; i < 2000; i++) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (normalSf(mid) >= p) lo = mid;
    else hi = mid;
  }
  return lo;
}
