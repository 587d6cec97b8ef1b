// Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (reductions none/sum/mean,
// class weights, ignore_index), on float16/float32/float64, accumulated in f64.
import { failed } from "../errors";
import { CLASS_FLOAT, Tensor, dimsToString, isIntegerType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

const NONE: i32 = 0;
const SUM: i32 = 1;
const MEAN: i32 = 2;

function reductionOf(ctx: OpContext): i32 {
  const r = ctx.attrString("reduction", "mean");
  if (r == "none") return NONE;
  if (r == "sum") return SUM;
  if (r == "mean") return MEAN;
  ctx.error('attribute reduction must be "none", "sum" or "mean", is "' + r + '"');
  return -1;
}

/**
 * loss[n, d...] = -logp[n, target[n, d...], d...] * weight[target] (0 where target is
 * ignore_index), then reduced; `mean` divides by the sum of the weights used.
 */
function nll(ctx: OpContext, logp: Tensor, target: Tensor, weight: Tensor | null, outIndex: i32): void {
  if (typeClass(logp.dtype) != CLASS_FLOAT) return ctx.unsupportedType(logp, "input");
  if (!isIntegerType(target.dtype)) return ctx.unsupportedType(target, "target");
  if (weight !== null && weight.dtype != logp.dtype) return ctx.error("weight has a different data type from the input");
  const red = reductionOf(ctx);
  const hasIgnore = ctx.hasAttr("ignore_index");
  const ignore = ctx.attrInt("ignore_index", 0);
  if (failed() || red < 0) return;
  const r = logp.rank;
  if (r < 2) return ctx.error("input must have shape (N, C, d1, ...), has " + dimsToString(logp.dims));
  let shapeOk = target.rank == r - 1 && target.dims[0] == logp.dims[0];
  for (let i = 2; shapeOk && i < r; i++) shapeOk = target.dims[i - 1] == logp.dims[i];
  if (!shapeOk) return ctx.error("target shape " + dimsToString(target.dims) + " does not match input shape " + dimsToString(logp.dims));
  const n = logp.dims[0];
  const c = logp.dims[1];
  if (weight !== null && (weight.rank != 1 || weight.dims[0] != c)) return ctx.error("weight must have shape [" + c.toString() + "], has " + dimsToString(weight.dims));
  let inner = 1;
  for (let i = 2; i < r; i++) inner *= logp.dims[i];
  const out = newTensor(logp.dtype, red == NONE ? target.dims : new Array<i32>(0), "output of " + ctx.label());
  if (out === null) return;
  let sum: f64 = 0;
  let wsum: f64 = 0;
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < inner; j++) {
      const ti = b * inner + j;
      const t = target.loadI64(ti);
      let loss: f64 = 0;
      if (!(hasIgnore && t == ignore)) {
        if (t < 0 || t >= <i64>c) return ctx.error("target value " + t.toString() + " is out of range for " + c.toString() + " classes");
        const w = weight !== null ? weight.loadF64(<i32>t) : 1.0;
        loss = -logp.loadF64((b * c + <i32>t) * inner + j) * w;
        wsum += w;
      }
      if (red == NONE) out.storeF64(ti, loss);
      else sum += loss;
    }
  }
  if (red == SUM) out.storeF64(0, sum);
  else if (red == MEAN) out.storeF64(0, sum / wsum);
  ctx.setOutput(outIndex, out);
}

export function nllLossOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const t = ctx.input(1, "target");
  if (x === null || t === null) return;
  nll(ctx, x, t, ctx.optional(2), 0);
}

/** log_softmax over axis 1, then the NLL loss; the optional second output is the log-probabilities. */
export function softmaxCrossEntropyOp(ctx: OpContext): void {
  const x = ctx.input(0, "scores");
  const t = ctx.input(1, "labels");
  if (x === null || t === null) return;
  if (typeClass(x.dtype) != CLASS_FLOAT) return ctx.unsupportedType(x, "scores");
  if (x.rank < 2) return ctx.error("scores must have shape (N, C, d1, ...), has " + dimsToString(x.dims));
  const logp = newTensor(x.dtype, x.dims, "log_prob of " + ctx.label());
  if (logp === null) return;
  const n = x.dims[0];
  const c = x.dims[1];
  const inner = c == 0 ? 0 : x.size / (n * c);
  for (let b = 0; b < n; b++) {
    for (let j = 0; j < inner; j++) {
      const base = b * c * inner + j;
      let m = -Infinity;
      for (let k = 0; k < c; k++) m = Math.max(m, x.loadF64(base + k * inner));
      let s: f64 = 0;
      for (let k = 0; k < c; k++) s += Math.exp(x.loadF64(base + k * inner) - m);
      const ls = Math.log(s);
      for (let k = 0; k < c; k++) logp.storeF64(base + k * inner, x.loadF64(base + k * inner) - m - ls);
    }
  }
  nll(ctx, logp, t, ctx.optional(2), 0);
  if (ctx.wantsOutput(1)) ctx.setOutput(1, logp);
}
