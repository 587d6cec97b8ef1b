// BatchNormalization (inference, and training_mode from opset 14), InstanceNormalization,
// LayerNormalization.
import { failed, unsupported } from "../errors";
import { FLOAT, Tensor, dimsToString, newTensor, product } from "../tensor";
import { OpContext } from "./context";

export function batchNormOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const scale = ctx.float(1, "scale");
  const bias = ctx.float(2, "B");
  const mean = ctx.float(3, "input_mean");
  const variance = ctx.float(4, "input_var");
  if (x === null || scale === null || bias === null || mean === null || variance === null) return;
  const eps = ctx.attrFloat("epsilon", 1e-5);
  if (failed()) return;
  if (ctx.opset >= 14) {
    const tm = ctx.attrInt("training_mode", 0);
    if (failed()) return;
    if (tm != 0) return batchNormTraining(ctx, x, scale, bias, mean, variance, eps);
  } else if (ctx.opset < 7) {
    const isTest = ctx.attrInt("is_test", 0);
    if (failed()) return;
    // is_test=0 asks for training statistics only when the extra outputs are requested
    if (isTest == 0 && (ctx.wantsOutput(1) || ctx.wantsOutput(2))) return ctx.unsupportedAttr("is_test", "0 (inference only)");
  }
  for (let i = 1; i < ctx.node.outputs.length; i++) {
    if (ctx.wantsOutput(i)) return unsupported("training outputs (running mean/var) of " + ctx.where() + " (inference only)");
  }
  let spatial = true;
  if (ctx.opset < 9) {
    spatial = ctx.attrInt("spatial", 1) != 0;
    if (failed()) return;
  }
  if (x.rank < 2) return ctx.error("X must have rank >= 2, has shape " + dimsToString(x.dims));
  const n = x.dims[0];
  const c = x.dims[1];
  const inner = product(x.dims, 2, x.rank);
  // per-parameter block: channels (spatial) or channels x spatial positions (spatial=0)
  const params = spatial ? c : c * inner;
  const run = spatial ? inner : 1;
  const ps: Array<Tensor> = [changetype<Tensor>(scale), changetype<Tensor>(bias), changetype<Tensor>(mean), changetype<Tensor>(variance)];
  const names = ["scale", "B", "input_mean", "input_var"];
  for (let i = 0; i < 4; i++) {
    const p = ps[i];
    if (p.size != params) return ctx.error(names[i] + " shape " + dimsToString(p.dims) + " does not match X shape " + dimsToString(x.dims));
  }
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < params; q++) {
      const a = scale.getF32(q) / Mathf.sqrt(variance.getF32(q) + eps);
      const sh = bias.getF32(q) - mean.getF32(q) * a;
      const off = (<usize>(b * params + q) * <usize>run) << 2;
      const pi = x.ptr + off;
      const po = out.ptr + off;
      for (let i = 0; i < run; i++) store<f32>(po + (<usize>i << 2), load<f32>(pi + (<usize>i << 2)) * a + sh);
    }
  }
  ctx.setOutput(0, out);
}

export function instanceNormOp(ctx: OpContext): void {
  const x = ctx.float(0, "input");
  const scale = ctx.float(1, "scale");
  const bias = ctx.float(2, "B");
  if (x === null || scale === null || bias === null) return;
  const eps = ctx.attrFloat("epsilon", 1e-5);
  if (failed()) return;
  if (x.rank < 3) return ctx.error("input must have rank >= 3, has shape " + dimsToString(x.dims));
  const c = x.dims[1];
  if (scale.size != c || bias.size != c) return ctx.error("scale and B must have " + c.toString() + " elements");
  const inner = product(x.dims, 2, x.rank);
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  normalizeRows(x, out, x.dims[0] * c, inner, eps, scale, bias, c, true, null, null);
  ctx.setOutput(0, out);
}

export function layerNormOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const scale = ctx.float(1, "Scale");
  if (x === null || scale === null) return;
  const bias = ctx.optFloat(2, "B");
  if (failed()) return;
  const eps = ctx.attrFloat("epsilon", 1e-5);
  const axisAttr = ctx.attrInt("axis", -1);
  const stashType = ctx.attrInt("stash_type", 1);
  if (failed()) return;
  if (stashType != 1) return ctx.unsupportedAttr("stash_type", stashType.toString());
  const r = x.rank;
  if (r == 0) return ctx.error("X must have rank >= 1");
  const axis = ctx.axis(axisAttr, r, "axis");
  if (failed()) return;
  const rows = product(x.dims, 0, axis);
  const inner = product(x.dims, axis, r);
  const normDims = x.dims.slice(axis);
  if (!suffixBroadcast(scale, normDims)) return ctx.error("Scale shape " + dimsToString(scale.dims) + " does not broadcast to " + dimsToString(normDims));
  if (bias !== null && !suffixBroadcast(bias, normDims)) return ctx.error("B shape " + dimsToString(bias.dims) + " does not broadcast to " + dimsToString(normDims));
  if (scale.size != inner || (bias !== null && bias.size != inner)) {
    return unsupported("broadcast Scale/B shapes in " + ctx.where() + " (they must cover the normalized dimensions)");
  }
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  // Mean and InvStdDev outputs: X's shape with the normalized dims set to 1
  const statDims = x.dims.slice(0);
  for (let i = axis; i < r; i++) statDims[i] = 1;
  let meanOut: Tensor | null = null;
  let invOut: Tensor | null = null;
  if (ctx.wantsOutput(1)) meanOut = new Tensor(FLOAT, statDims, rows, new ArrayBuffer(rows * 4));
  if (ctx.wantsOutput(2)) invOut = new Tensor(FLOAT, statDims.slice(0), rows, new ArrayBuffer(rows * 4));
  normalizeRows(x, out, rows, inner, eps, scale, bias, 0, false, meanOut, invOut);
  ctx.setOutput(0, out);
  if (meanOut !== null) ctx.setOutput(1, meanOut);
  if (invOut !== null) ctx.setOutput(2, invOut);
}

function suffixBroadcast(t: Tensor, dims: Array<i32>): bool {
  if (t.rank > dims.length) return false;
  const off = dims.length - t.rank;
  for (let i = 0; i < t.rank; i++) if (t.dims[i] != 1 && t.dims[i] != dims[i + off]) return false;
  return true;
}

/**
 * Normalizes `rows` rows of length `inner` to zero mean / unit variance, then applies scale
 * and bias: per row (channel = row % channels) when perChannel, else per element.
 */
function normalizeRows(x: Tensor, out: Tensor, rows: i32, inner: i32, eps: f32, scale: Tensor, bias: Tensor | null, channels: i32, perChannel: bool, meanOut: Tensor | null, invOut: Tensor | null): void {
  for (let r = 0; r < rows; r++) {
    const pi = x.ptr + ((<usize>r * <usize>inner) << 2);
    const po = out.ptr + ((<usize>r * <usize>inner) << 2);
    let sum: f64 = 0;
    for (let i = 0; i < inner; i++) sum += <f64>load<f32>(pi + (<usize>i << 2));
    const mean = inner > 0 ? sum / <f64>inner : 0;
    let sq: f64 = 0;
    for (let i = 0; i < inner; i++) {
      const d = <f64>load<f32>(pi + (<usize>i << 2)) - mean;
      sq += d * d;
    }
    const inv = <f32>(1.0 / Math.sqrt((inner > 0 ? sq / <f64>inner : 0) + <f64>eps));
    const m = <f32>mean;
    if (meanOut !== null) store<f32>(meanOut.ptr + (<usize>r << 2), m);
    if (invOut !== null) store<f32>(invOut.ptr + (<usize>r << 2), inv);
    if (perChannel) {
      const ch = r % channels;
      const s = scale.getF32(ch) * inv;
      const b = bias === null ? <f32>0 : bias.getF32(ch);
      for (let i = 0; i < inner; i++) store<f32>(po + (<usize>i << 2), (load<f32>(pi + (<usize>i << 2)) - m) * s + b);
    } else {
      for (let i = 0; i < inner; i++) {
        const v = (load<f32>(pi + (<usize>i << 2)) - m) * inv * scale.getF32(i);
        store<f32>(po + (<usize>i << 2), bias === null ? v : v + bias.getF32(i));
      }
    }
  }
}

/**
 * training_mode=1: normalizes by the batch's own per-channel mean and population variance and
 * returns the updated running statistics (input * momentum + batch * (1 - momentum)).
 */
function batchNormTraining(ctx: OpContext, x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: f32): void {
  const momentum = <f64>ctx.attrFloat("momentum", 0.9);
  if (failed()) return;
  if (x.rank < 2) return ctx.error("X must have rank >= 2, has shape " + dimsToString(x.dims));
  const n = x.dims[0];
  const c = x.dims[1];
  const inner = product(x.dims, 2, x.rank);
  const ps: Array<Tensor> = [scale, bias, mean, variance];
  const names = ["scale", "B", "input_mean", "input_var"];
  for (let i = 0; i < 4; i++) {
    if (ps[i].size != c) return ctx.error(names[i] + " shape " + dimsToString(ps[i].dims) + " does not match X shape " + dimsToString(x.dims));
  }
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  const runMean = newTensor(FLOAT, [c], "running_mean of " + ctx.label());
  const runVar = newTensor(FLOAT, [c], "running_var of " + ctx.label());
  if (out === null || runMean === null || runVar === null) return;
  const count = <f64>(n * inner);
  for (let q = 0; q < c; q++) {
    let s: f64 = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) s += <f64>x.getF32((b * c + q) * inner + i);
    const m = count > 0 ? s / count : 0;
    let v: f64 = 0;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        const d = <f64>x.getF32((b * c + q) * inner + i) - m;
        v += d * d;
      }
    }
    v = count > 0 ? v / count : 0;
    const a = <f64>scale.getF32(q) / Math.sqrt(v + <f64>eps);
    const sh = <f64>bias.getF32(q) - m * a;
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        const e = (b * c + q) * inner + i;
        out.storeF64(e, <f64>x.getF32(e) * a + sh);
      }
    }
    runMean.storeF64(q, <f64>mean.getF32(q) * momentum + m * (1 - momentum));
    runVar.storeF64(q, <f64>variance.getF32(q) * momentum + v * (1 - momentum));
  }
  ctx.setOutput(0, out);
  ctx.setOutput(1, runMean);
  ctx.setOutput(2, runVar);
}
