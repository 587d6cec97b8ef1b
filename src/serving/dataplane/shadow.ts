import type ort from 'onnxruntime-node';

/** Largest |stable - canary| at which two non-classification outputs still agree. */
export const SHADOW_ABS_TOLERANCE = 1e-3;

export interface ShadowVerdict {
  readonly agree: boolean;
  /** Largest |stable - canary| over every numeric element; null when shapes or names differ, or a value is not finite. */
  readonly maxAbsDiff: number | null;
  /** Why they disagree, when they do. */
  readonly reason?: string;
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

/**
 * The shadow agreement rule, output by output (the stable model's output names):
 *
 *  - a 2-D floating-point output [rows, k] with k ≥ 2 (scores or probabilities per class)
 *    agrees when every row has the same argmax (first index on ties) in both;
 *  - any other output agrees when its values are all within 1e-3 (|stable - canary| ≤ 1e-3;
 *    for integers, booleans and strings that means equal);
 *  - a missing output, a different shape or type, or a non-finite difference disagrees.
 *
 * The predictions agree when every output does. `maxAbsDiff` is reported for every
 * comparison, whichever rule decided it.
 */
export function compareShadow(stable: ort.InferenceSession.OnnxValueMapType, canary: ort.InferenceSession.OnnxValueMapType, outputNames: readonly string[]): ShadowVerdict {
  let maxAbsDiff: number | null = 0;
  const problems: string[] = [];
  for (const name of outputNames) {
    const a = stable[name] as ort.Tensor | undefined;
    const b = canary[name] as ort.Tensor | undefined;
    if (!a) continue;
    if (!b) {
      problems.push(`${name}: missing from the canary's outputs`);
      maxAbsDiff = null;
      continue;
    }
    if (a.type !== b.type || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
      problems.push(`${name}: stable ${a.type}[${a.dims.join(',')}], canary ${b.type}[${b.dims.join(',')}]`);
      maxAbsDiff = null;
      continue;
    }
    const x = a.data as ArrayLike<number | bigint | string>;
    const y = b.data as ArrayLike<number | bigint | string>;
    let diff = 0;
    let unequal = false;
    for (let i = 0; i < x.length; i++) {
      if (typeof x[i] === 'string' || typeof y[i] === 'string') {
        if (x[i] !== y[i]) unequal = true;
        continue;
      }
      const d = Math.abs(Number(x[i]) - Number(y[i]));
      if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    }
    if (maxAbsDiff !== null) maxAbsDiff = Number.isFinite(diff) ? Math.max(maxAbsDiff, diff) : null;
    if (FLOAT_TYPES.has(a.type) && a.dims.length === 2 && a.dims[1]! >= 2) {
      const rows = a.dims[0]!;
      const k = a.dims[1]!;
      for (let r = 0; r < rows; r++) {
        if (argmax(x as ArrayLike<number>, r * k, k) !== argmax(y as ArrayLike<number>, r * k, k)) {
          problems.push(`${name}: row ${r} argmax differs`);
          break;
        }
      }
    } else if (unequal || !(diff <= SHADOW_ABS_TOLERANCE)) {
      problems.push(`${name}: max |diff| ${unequal ? 'n/a (strings differ)' : diff} > ${SHADOW_ABS_TOLERANCE}`);
    }
  }
  return problems.length ? { agree: false, maxAbsDiff, reason: problems.join('; ') } : { agree: true, maxAbsDiff };
}

function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let j = 1; j < length; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}
