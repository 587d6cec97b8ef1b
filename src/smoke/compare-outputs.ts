import { elementValues, type Tensor, type TensorType } from '../tensor/tensor.js';
import type { SmokeOutputFigures, SmokeWorstElement } from '../release/types.js';
import type { ToleranceOption } from './input-spec.js';
import { agreementFigures, quantizedVerdict } from './quantized-agreement.js';

/**
 * For dynamically quantized models: outputs whose tolerance the user did not set explicitly
 * may pass by agreement (quantized-agreement.ts) where allclose fails.
 */
export interface QuantizedComparison {
  /** The dynamic-quantization operators the graph uses (for the message). */
  readonly ops: readonly string[];
  /** True when the user set this output's tolerance (or the release's) explicitly: then allclose alone judges. */
  readonly explicitTolerance: (output: string) => boolean;
}

/**
 * numpy.allclose's per-element rule, as the ONNX backend tests and onnxruntime's test runner
 * apply it: an element passes when |sandbox − native| ≤ absolute + relative·|native|.
 */
export interface Tolerance {
  readonly absolute: number;
  readonly relative: number;
}

/**
 * absolute 1e-4: float32 kernels that sum in another order (or fuse multiply-adds) differ by a
 * few ulps of each partial sum, which for values near zero is ~1e-5..1e-4, above the ONNX backend
 * tests' atol of 1e-7 that suits exact reference outputs; relative 1e-3: the ONNX backend tests'
 * rtol, and onnxruntime's test runner's relative tolerance.
 */
export const DEFAULT_TOLERANCE: Tolerance = { absolute: 1e-4, relative: 1e-3 };
/** Below this magnitude maxRelDiff (a figure, not the rule) would only restate the absolute one, inflated. */
export const RELATIVE_FLOOR = 1e-3;

/** One output's figures; these go into history as the smoke result. */
export type OutputComparison = SmokeOutputFigures;

export type ComparisonVerdict =
  | { readonly ok: true; readonly outputs: readonly OutputComparison[]; readonly maxAbsDiff: number; readonly maxRelDiff: number }
  | { readonly ok: false; readonly reason: string; readonly outputs: readonly OutputComparison[]; readonly maxAbsDiff: number; readonly maxRelDiff: number };

/** The tolerance for one output: its own fields over the release's. */
export function toleranceFor(output: string, tolerance: Tolerance, perOutput: Readonly<Record<string, ToleranceOption>> | undefined): Tolerance {
  return { ...tolerance, ...perOutput?.[output] };
}

/**
 * Passes only if names, shapes and types match, every sandbox value is finite (or the very
 * infinity native gives), integer and bool outputs are equal, and every float element is within
 * its output's tolerance. Each output's figures name its worst element: the one furthest
 * outside (or nearest to the edge of) its allowed difference, with flat and N-d index and
 * both values.
 */
export function compareOutputs(
  sandbox: readonly Tensor[],
  native: readonly Tensor[],
  tolerance: Tolerance,
  perOutput?: Readonly<Record<string, ToleranceOption>>,
  quantized?: QuantizedComparison,
  /** What `native` is, in messages: 'native', or 'expected (from --smoke-data)' when the reference is the user's expected outputs. */
  referenceLabel = 'native',
): ComparisonVerdict {
  const ref = referenceLabel;
  const outputs: OutputComparison[] = [];
  const problems: string[] = [];
  if (sandbox.map((t) => t.name).join('\u0000') !== native.map((t) => t.name).join('\u0000')) {
    problems.push(`output names differ: sandbox [${sandbox.map((t) => t.name)}], ${ref} [${native.map((t) => t.name)}]`);
  }
  for (const name of Object.keys(perOutput ?? {})) {
    if (!native.some((t) => t.name === name)) problems.push(`a tolerance is given for output ${name}, which the model does not have (outputs: ${native.map((t) => t.name).join(', ')})`);
  }
  for (const reference of native) {
    const got = sandbox.find((t) => t.name === reference.name);
    if (!got) continue;
    if (got.type !== reference.type) {
      problems.push(`${reference.name}: type ${got.type}, ${ref} ${reference.type}`);
      continue;
    }
    if (got.dims.join(',') !== reference.dims.join(',')) {
      problems.push(`${reference.name}: shape [${got.dims}], ${ref} [${reference.dims}]`);
      continue;
    }
    const t = toleranceFor(reference.name, tolerance, perOutput);
    let { figures, failing } = compareTensor(got, reference, t);
    if (quantized && isFloat(reference.type) && !figures.nonFinite) {
      const agreement = agreementFigures(got, reference, t.absolute);
      const byAgreement = failing > 0 && !quantized.explicitTolerance(reference.name);
      const why = byAgreement ? quantizedVerdict(agreement) : null;
      figures = { ...figures, agreement: { ...agreement, ...(byAgreement && why === null ? { passedBy: 'agreement' as const } : {}) } };
      if (byAgreement && why === null) failing = 0;
      else if (byAgreement) {
        problems.push(`${reference.name}: quantized (${quantized.ops.join(', ')}) and outside allclose, and ${why}`);
      }
    }
    outputs.push(figures);
    if (figures.nonFinite) problems.push(`${reference.name}: ${figures.nonFinite} of ${elementCountOf(reference)} values are NaN or infinite`);
    if (failing) {
      const w = figures.worst!;
      const rule = isFloat(reference.type) ? `|s − n| ≤ ${t.absolute} + ${t.relative}·|n|` : 'exact equality';
      problems.push(
        `${reference.name}: ${failing} of ${elementCountOf(reference)} elements outside ${rule}; worst at [${w.at.join(', ')}] (flat ${w.index}): sandbox ${w.sandbox}, ${ref} ${w.native}, difference ${Math.abs(w.sandbox - w.native).toExponential(3)}`,
      );
    }
  }
  const maxAbsDiff = Math.max(0, ...outputs.map((o) => o.maxAbsDiff));
  const maxRelDiff = Math.max(0, ...outputs.map((o) => o.maxRelDiff));
  return problems.length ? { ok: false, reason: problems.join('; '), outputs, maxAbsDiff, maxRelDiff } : { ok: true, outputs, maxAbsDiff, maxRelDiff };
}

function compareTensor(got: Tensor, reference: Tensor, t: Tolerance): { figures: OutputComparison; failing: number } {
  const a = elementValues(got);
  const b = elementValues(reference);
  const float = isFloat(reference.type);
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  let nonFinite = 0;
  let failing = 0;
  let worst = -1;
  let worstRatio = -1;
  for (let i = 0; i < a.length; i++) {
    const xv = a[i]!;
    const yv = b[i]!;
    if (!float) {
      // Integers and bools: equal or not (bigints compared as bigints).
      if (xv !== yv) failing++;
      const diff = Math.abs(Number(xv) - Number(yv));
      maxAbsDiff = Math.max(maxAbsDiff, diff);
      maxRelDiff = Math.max(maxRelDiff, diff / Math.max(Math.abs(Number(yv)), RELATIVE_FLOOR));
      if (diff > worstRatio) {
        worstRatio = diff;
        worst = i;
      }
      continue;
    }
    const x = xv as number;
    const y = yv as number;
    if (!Number.isFinite(x)) {
      if (x !== y) nonFinite++;
      continue;
    }
    const diff = Math.abs(x - y);
    maxAbsDiff = Math.max(maxAbsDiff, diff);
    maxRelDiff = Math.max(maxRelDiff, diff / Math.max(Math.abs(y), RELATIVE_FLOOR));
    const allowed = t.absolute + t.relative * Math.abs(y);
    // NaN on the native side fails too, as in numpy.allclose without equal_nan.
    const ratio = Number.isFinite(y) ? (allowed > 0 ? diff / allowed : diff > 0 ? Infinity : 0) : Infinity;
    if (!(diff <= allowed)) failing++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = i;
    }
  }
  const figures: OutputComparison = {
    name: reference.name,
    type: reference.type,
    dims: reference.dims,
    maxAbsDiff,
    maxRelDiff,
    nonFinite,
    tolerance: { absolute: t.absolute, relative: t.relative },
    ...(worst >= 0 ? { worst: worstElement(worst, reference.dims, Number(a[worst]), Number(b[worst]), float ? worstRatio : worstRatio > 0 ? Infinity : 0) } : {}),
  };
  return { figures, failing };
}

function worstElement(index: number, dims: readonly number[], sandbox: number, native: number, ratio: number): SmokeWorstElement {
  const at = new Array<number>(dims.length).fill(0);
  let rest = index;
  for (let k = dims.length - 1; k >= 0; k--) {
    at[k] = rest % dims[k]!;
    rest = Math.floor(rest / dims[k]!);
  }
  // JSON has no Infinity: a ratio past every bound (a NaN, an integer mismatch) is recorded as -1.
  return { index, at, sandbox, native, ratio: Number.isFinite(ratio) ? ratio : -1 };
}

function isFloat(type: TensorType): boolean {
  return type === 'float32' || type === 'float64' || type === 'float16';
}

function elementCountOf(t: Tensor): number {
  return t.dims.reduce((n, d) => n * d, 1);
}
