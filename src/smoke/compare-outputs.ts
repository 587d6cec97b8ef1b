import { elementValues, type Tensor } from '../sandbox/tensor-codec.js';
import type { SmokeOutputFigures } from '../release/types.js';

export interface Tolerance {
  /** Largest allowed |sandbox - native|. */
  readonly absolute: number;
  /** Largest allowed |sandbox - native| / max(|native|, RELATIVE_FLOOR). */
  readonly relative: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { absolute: 1e-4, relative: 1e-3 };
/** Below this magnitude the relative figure would only restate the absolute one, inflated. */
export const RELATIVE_FLOOR = 1e-3;

/** One output's figures; these go into history as the smoke result. */
export type OutputComparison = SmokeOutputFigures;

export type ComparisonVerdict =
  | { readonly ok: true; readonly outputs: readonly OutputComparison[]; readonly maxAbsDiff: number; readonly maxRelDiff: number }
  | { readonly ok: false; readonly reason: string; readonly outputs: readonly OutputComparison[]; readonly maxAbsDiff: number; readonly maxRelDiff: number };

/**
 * Passes only if names, shapes and types match, every sandbox value is finite, and the
 * largest absolute and relative differences are inside the tolerance.
 */
export function compareOutputs(sandbox: readonly Tensor[], native: readonly Tensor[], tolerance: Tolerance): ComparisonVerdict {
  const outputs: OutputComparison[] = [];
  const problems: string[] = [];
  if (sandbox.map((t) => t.name).join('\u0000') !== native.map((t) => t.name).join('\u0000')) {
    problems.push(`output names differ: sandbox [${sandbox.map((t) => t.name)}], native [${native.map((t) => t.name)}]`);
  }
  for (const reference of native) {
    const got = sandbox.find((t) => t.name === reference.name);
    if (!got) continue;
    if (got.type !== reference.type) {
      problems.push(`${reference.name}: type ${got.type}, native ${reference.type}`);
      continue;
    }
    if (got.dims.join(',') !== reference.dims.join(',')) {
      problems.push(`${reference.name}: shape [${got.dims}], native [${reference.dims}]`);
      continue;
    }
    const a = numbers(got);
    const b = numbers(reference);
    let maxAbsDiff = 0;
    let maxRelDiff = 0;
    let nonFinite = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (!Number.isFinite(x)) {
        nonFinite++;
        continue;
      }
      const diff = Math.abs(x - y);
      maxAbsDiff = Math.max(maxAbsDiff, diff);
      maxRelDiff = Math.max(maxRelDiff, diff / Math.max(Math.abs(y), RELATIVE_FLOOR));
    }
    outputs.push({ name: reference.name, type: reference.type, dims: reference.dims, maxAbsDiff, maxRelDiff, nonFinite });
    if (nonFinite) problems.push(`${reference.name}: ${nonFinite} of ${a.length} values are NaN or infinite`);
    if (maxAbsDiff > tolerance.absolute) problems.push(`${reference.name}: max absolute difference ${maxAbsDiff.toExponential(3)} > ${tolerance.absolute}`);
    if (maxRelDiff > tolerance.relative) problems.push(`${reference.name}: max relative difference ${maxRelDiff.toExponential(3)} > ${tolerance.relative}`);
  }
  const maxAbsDiff = Math.max(0, ...outputs.map((o) => o.maxAbsDiff));
  const maxRelDiff = Math.max(0, ...outputs.map((o) => o.maxRelDiff));
  return problems.length ? { ok: false, reason: problems.join('; '), outputs, maxAbsDiff, maxRelDiff } : { ok: true, outputs, maxAbsDiff, maxRelDiff };
}

function numbers(t: Tensor): ArrayLike<number> {
  const values = elementValues(t);
  return values instanceof BigInt64Array || values instanceof BigUint64Array ? Array.from(values, Number) : (values as ArrayLike<number>);
}
