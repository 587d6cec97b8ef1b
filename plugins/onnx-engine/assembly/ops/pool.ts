// MaxPool (with optional Indices), AveragePool, GlobalAveragePool, GlobalMaxPool.
import { failed, unsupported } from "../errors";
import { FLOAT, INT64, Tensor, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";
import { Window, kernelShape, resolveWindow } from "./window";

function poolInput(ctx: OpContext): Tensor | null {
  const x = ctx.float(0, "X");
  if (x === null) return null;
  if (x.rank < 3) {
    ctx.error("X must have rank >= 3 (N, C, spatial...), has shape " + dimsToString(x.dims));
    return null;
  }
  if (x.rank > 5) {
    unsupported(ctx.node.opType + " with " + (x.rank - 2).toString() + " spatial dimensions in " + ctx.where() + " (at most 3)");
    return null;
  }
  return x;
}

function poolWindow(ctx: OpContext, x: Tensor, allowDilations: bool): Window | null {
  const s = x.rank - 2;
  const kernel = kernelShape(ctx, s, true);
  if (kernel === null) return null;
  const ceil = ctx.opset >= 10 ? ctx.attrInt("ceil_mode", 0) : 0;
  if (failed()) return null;
  return resolveWindow(ctx, x.dims.slice(2), kernel, ceil != 0, allowDilations);
}

function outDimsOf(x: Tensor, w: Window): Array<i32> {
  const s = x.rank - 2;
  const dims = [x.dims[0], x.dims[1]];
  for (let i = 0; i < s; i++) dims.push(w.outDims[3 - s + i]);
  return dims;
}

export function maxPoolOp(ctx: OpContext): void {
  const x = poolInput(ctx);
  if (x === null) return;
  const w = poolWindow(ctx, x, ctx.opset >= 10);
  if (w === null) return;
  const storageOrder = ctx.opset >= 8 ? ctx.attrInt("storage_order", 0) : 0;
  if (failed()) return;
  if (storageOrder != 0 && storageOrder != 1) return ctx.error("storage_order must be 0 or 1");
  const wantIndices = ctx.wantsOutput(1);
  const outDims = outDimsOf(x, w);
  const out = newTensor(FLOAT, outDims, "output of " + ctx.label());
  if (out === null) return;
  let idx: Tensor | null = null;
  if (wantIndices) {
    idx = newTensor(INT64, outDims, "Indices of " + ctx.label());
    if (idx === null) return;
  }
  const planes = x.dims[0] * x.dims[1];
  const D = w.inDims[0], H = w.inDims[1], W = w.inDims[2];
  const OD = w.outDims[0], OH = w.outDims[1], OW = w.outDims[2];
  const inSize = w.inSize;
  const outSize = w.outSize;
  // Index strides of the real spatial dims, row-major or (storage_order 1) column-major.
  const s = w.spatial;
  const istr = new StaticArray<i64>(3); // strides for padded dims 0..2 (unused dims stay 0)
  if (storageOrder == 0) {
    istr[2] = 1;
    istr[1] = <i64>W;
    istr[0] = <i64>H * <i64>W;
  } else {
    let st: i64 = 1;
    for (let i = 3 - s; i < 3; i++) {
      istr[i] = st;
      st *= <i64>w.inDims[i];
    }
  }
  let po = out.ptr;
  let pi: usize = idx === null ? 0 : idx.ptr;
  for (let p = 0; p < planes; p++) {
    const px = x.ptr + ((<usize>p * <usize>inSize) << 2);
    const base: i64 = <i64>p * <i64>inSize;
    for (let od = 0; od < OD; od++) {
      const d0 = od * w.strides[0] - w.padBegin[0];
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * w.strides[1] - w.padBegin[1];
        for (let ow = 0; ow < OW; ow++) {
          const w0 = ow * w.strides[2] - w.padBegin[2];
          let best: f32 = -3.4028234663852886e38;
          let bestIndex: i64 = -1;
          for (let a = 0; a < w.kernel[0]; a++) {
            const id = d0 + a * w.dilations[0];
            if (id < 0 || id >= D) continue;
            for (let b = 0; b < w.kernel[1]; b++) {
              const ih = h0 + b * w.dilations[1];
              if (ih < 0 || ih >= H) continue;
              const row = px + ((<usize>(id * H + ih) * <usize>W) << 2);
              for (let e = 0; e < w.kernel[2]; e++) {
                const iw = w0 + e * w.dilations[2];
                if (iw < 0 || iw >= W) continue;
                const v = load<f32>(row + (<usize>iw << 2));
                if (v > best) {
                  // like onnxruntime: start at the lowest float, NaN never wins
                  best = v;
                  bestIndex = base + <i64>id * istr[0] + <i64>ih * istr[1] + <i64>iw * istr[2];
                }
              }
            }
          }
          store<f32>(po, best);
          po += 4;
          if (pi != 0) {
            store<i64>(pi, bestIndex);
            pi += 8;
          }
        }
      }
    }
  }
  ctx.setOutput(0, out);
  if (wantIndices) ctx.setOutput(1, idx);
}

export function averagePoolOp(ctx: OpContext): void {
  const x = poolInput(ctx);
  if (x === null) return;
  const w = poolWindow(ctx, x, ctx.opset >= 19);
  if (w === null) return;
  const includePad = ctx.opset >= 7 ? ctx.attrInt("count_include_pad", 0) != 0 : false;
  if (failed()) return;
  const out = newTensor(FLOAT, outDimsOf(x, w), "output of " + ctx.label());
  if (out === null) return;
  const planes = x.dims[0] * x.dims[1];
  const D = w.inDims[0], H = w.inDims[1], W = w.inDims[2];
  const OD = w.outDims[0], OH = w.outDims[1], OW = w.outDims[2];
  const inSize = w.inSize;
  let po = out.ptr;
  for (let p = 0; p < planes; p++) {
    const px = x.ptr + ((<usize>p * <usize>inSize) << 2);
    for (let od = 0; od < OD; od++) {
      const d0 = od * w.strides[0] - w.padBegin[0];
      const cd = windowCount(d0, w.kernel[0], w.dilations[0], D, w.padBegin[0], w.padEnd[0], includePad);
      for (let oh = 0; oh < OH; oh++) {
        const h0 = oh * w.strides[1] - w.padBegin[1];
        const ch = windowCount(h0, w.kernel[1], w.dilations[1], H, w.padBegin[1], w.padEnd[1], includePad);
        for (let ow = 0; ow < OW; ow++) {
          const w0 = ow * w.strides[2] - w.padBegin[2];
          const cw = windowCount(w0, w.kernel[2], w.dilations[2], W, w.padBegin[2], w.padEnd[2], includePad);
          let sum: f32 = 0;
          for (let a = 0; a < w.kernel[0]; a++) {
            const id = d0 + a * w.dilations[0];
            if (id < 0 || id >= D) continue;
            for (let b = 0; b < w.kernel[1]; b++) {
              const ih = h0 + b * w.dilations[1];
              if (ih < 0 || ih >= H) continue;
              const row = px + ((<usize>(id * H + ih) * <usize>W) << 2);
              for (let e = 0; e < w.kernel[2]; e++) {
                const iw = w0 + e * w.dilations[2];
                if (iw < 0 || iw >= W) continue;
                sum += load<f32>(row + (<usize>iw << 2));
              }
            }
          }
          const count = cd * ch * cw;
          store<f32>(po, count > 0 ? sum / <f32>count : <f32>0);
          po += 4;
        }
      }
    }
  }
  ctx.setOutput(0, out);
}

/** Number of window taps along one dim that count toward the average. */
function windowCount(start: i32, k: i32, dil: i32, size: i32, padBegin: i32, padEnd: i32, includePad: bool): i32 {
  const lo = includePad ? -padBegin : 0;
  const hi = includePad ? size + padEnd : size;
  let n = 0;
  for (let a = 0; a < k; a++) {
    const i = start + a * dil;
    if (i >= lo && i < hi) n++;
  }
  return n;
}

export function globalPoolOp(ctx: OpContext, isMax: bool): void {
  const x = ctx.float(0, "X");
  if (x === null) return;
  if (x.rank < 2) return ctx.error("X must have rank >= 2, has shape " + dimsToString(x.dims));
  const dims = [x.dims[0], x.dims[1]];
  let spatial = 1;
  for (let i = 2; i < x.rank; i++) {
    dims.push(1);
    spatial *= x.dims[i];
  }
  const out = newTensor(FLOAT, dims, "output of " + ctx.label());
  if (out === null) return;
  const planes = x.dims[0] * x.dims[1];
  for (let p = 0; p < planes; p++) {
    const px = x.ptr + ((<usize>p * <usize>spatial) << 2);
    let r: f32;
    if (isMax) {
      r = -Infinity;
      for (let i = 0; i < spatial; i++) {
        const v = load<f32>(px + (<usize>i << 2));
        if (v > r || v != v) r = v;
      }
    } else {
      let sum: f64 = 0;
      for (let i = 0; i < spatial; i++) sum += <f64>load<f32>(px + (<usize>i << 2));
      r = spatial > 0 ? <f32>(sum / <f64>spatial) : NaN;
    }
    store<f32>(out.ptr + (<usize>p << 2), r);
  }
  ctx.setOutput(0, out);
}
