/**
 * The comparison rule for quantized graphs. Dynamic quantization (DynamicQuantizeLinear,
 * MatMulInteger, ConvInteger, onnxruntime's DynamicQuantizeLSTM/DynamicQuantizeMatMul) picks
 * its scale from each run's own data; static QDQ graphs (QuantizeLinear/DequantizeLinear around
 * convs and matmuls, fused by onnxruntime into int8 kernels) have fixed scales. Either way the
 * graph rounds to int8 inside, and two correct kernels (WebAssembly SIMD against x86 VNNI/AVX2)
 * round some values to the neighbouring step: the step is the quantization scale, far above any
 * float tolerance (measured: smart-turn's QDQ Whisper encoder differs by up to 5.8e-3 on a sine
 * wave, the dynamically quantized CRNN by 0.15). Element-wise allclose then judges rounding, not the
 * model. What must hold instead is what a user of the outputs relies on:
 *
 * - direction: cosine similarity of the whole output >= 0.999 (an RMS disagreement of about 4.5%
 *   of the output's norm);
 * - decisions: on every row (last axis) where native's top-1 beats its runner-up by more than
 *   the output's absolute tolerance plus 1% of its range, the sandbox picks the same top-1, in at
 *   least 99% of such rows. Near-ties are not decisions either kernel can be held to.
 *
 * An output passes when allclose passes or both hold. A tolerance the user set explicitly wins.
 */
import { elementValues, type Tensor } from '../tensor/tensor.js';
import type { GraphInfo } from '../onnx/graph-info.js';
import { opName } from '../onnx/graph-info.js';

export const QUANTIZED_RULE = Object.freeze({ minCosine: 0.999, minTop1Agreement: 0.99, decisiveMarginOfRange: 0.01 });

/** Operators whose int8 rounding depends on the kernel. */
const QUANTIZATION_OPS = new Set([
  'DynamicQuantizeLinear',
  'MatMulInteger',
  'ConvInteger',
  'QuantizeLinear',
  'QLinearConv',
  'QLinearMatMul',
  'com.microsoft.DynamicQuantizeLSTM',
  'com.microsoft.DynamicQuantizeMatMul',
  'com.microsoft.MatMulIntegerToFloat',
  'com.microsoft.QAttention',
  'com.microsoft.QuantizeLinear',
  'com.microsoft.QLinearAdd',
  'com.microsoft.QLinearMul',
  'com.microsoft.QLinearConv',
  'com.microsoft.QLinearSigmoid',
  'com.microsoft.QLinearGlobalAveragePool',
]);

/** The quantization operators the graph uses (empty: the model is judged by allclose alone). */
export function quantizationOps(graph: Pick<GraphInfo, 'ops'>): string[] {
  return [...new Set(graph.ops.map(opName))].filter((op) => QUANTIZATION_OPS.has(op) || QUANTIZATION_OPS.has(`com.microsoft.${op}`));
}

export interface AgreementFigures {
  readonly cosine: number;
  /** Rows of the last axis where native's top-1 is decisive, and how many the sandbox agrees on. */
  readonly decisiveRows: number;
  readonly top1Agreeing: number;
}

/** Cosine similarity and decisive top-1 agreement of a float output (same shape). */
export function agreementFigures(sandbox: Tensor, native: Tensor, absoluteTolerance: number): AgreementFigures {
  const a = elementValues(sandbox) as ArrayLike<number>;
  const b = elementValues(native) as ArrayLike<number>;
  let dot = 0;
  let na = 0;
  let nb = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < b.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
    min = Math.min(min, b[i]!);
    max = Math.max(max, b[i]!);
  }
  const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  const width = native.dims.at(-1) ?? 1;
  const margin = absoluteTolerance + QUANTIZED_RULE.decisiveMarginOfRange * (max - min);
  let decisiveRows = 0;
  let top1Agreeing = 0;
  if (width > 1) {
    for (let row = 0; row + width <= b.length; row += width) {
      let best = row;
      let second = -Infinity;
      let mine = row;
      for (let j = row + 1; j < row + width; j++) {
        if (b[j]! > b[best]!) {
          second = b[best]!;
          best = j;
        } else if (b[j]! > second) second = b[j]!;
        if (a[j]! > a[mine]!) mine = j;
      }
      if (b[best]! - second <= margin) continue;
      decisiveRows++;
      if (mine === best) top1Agreeing++;
    }
  }
  return { cosine, decisiveRows, top1Agreeing };
}

/** Whether the figures meet QUANTIZED_RULE, and if not, why. */
export function quantizedVerdict(f: AgreementFigures): string | null {
  const problems: string[] = [];
  if (!(f.cosine >= QUANTIZED_RULE.minCosine)) problems.push(`cosine ${f.cosine.toFixed(5)} < ${QUANTIZED_RULE.minCosine}`);
  if (f.decisiveRows > 0 && f.top1Agreeing / f.decisiveRows < QUANTIZED_RULE.minTop1Agreement) {
    problems.push(`top-1 agrees on ${f.top1Agreeing} of ${f.decisiveRows} decisive rows (< ${QUANTIZED_RULE.minTop1Agreement * 100}%)`);
  }
  return problems.length ? problems.join(', ') : null;
}
