/**
 * Number formatting for the human-readable parts of a judgement (check messages and
 * `describe`). The metrics themselves are never rounded. Only Number.prototype.toFixed /
 * toExponential are used: deterministic, locale-independent.
 */

/** Milliseconds: one decimal below 1000 ms, whole milliseconds above. */
export function fmtMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  return Math.abs(ms) >= 1000 ? ms.toFixed(0) : ms.toFixed(1);
}

/** A signed shift in ms: "+2.1" / "-0.4". */
export function fmtSignedMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  const s = fmtMs(ms);
  if (Number(s) === 0) return `+${s.replace('-', '')}`; // not "-0.0"
  return s.startsWith('-') ? s : `+${s}`;
}

/** A fraction as a percentage: fmtPct(0.0123) = "1.2%", fmtPct(0.0123, 2) = "1.23%". */
export function fmtPct(fraction: number | null, digits = 1): string {
  if (fraction === null) return 'n/a';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** A signed relative change as a percentage: "+301%" / "-4.0%" (whole percent from 100%). */
export function fmtChange(fraction: number | null): string {
  if (fraction === null) return 'n/a';
  const pct = fraction * 100;
  const s = Math.abs(pct) >= 100 ? pct.toFixed(0) : pct.toFixed(1);
  if (Number(s) === 0) return '+0.0%'; // not "-0.0%"
  return s.startsWith('-') ? `${s}%` : `+${s}%`;
}

/** A p-value: "0.43", "0.012", "3.1e-7", "1e-9", "<1e-300" when it underflowed to 0. */
export function fmtP(p: number | null): string {
  if (p === null) return 'n/a';
  if (p === 0) return '<1e-300';
  if (p >= 0.001) return p >= 0.1 ? p.toFixed(2) : p.toFixed(3);
  return p.toExponential(1).replace('.0e', 'e');
}
