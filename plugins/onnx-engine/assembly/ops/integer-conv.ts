// ConvInteger and QLinearConv: Conv's geometry (ops/window.ts) and im2col (ops/conv.ts) over
// int32 values with the zero points subtracted (padding is the zero point, so it adds 0),
// the exact int32 GEMM of ops/integer-gemm.ts, then int32 output or requantization.
import { failed, unsupported } from "../errors";
import { INT32, INT8, MAX_TENSOR_BYTES, Tensor, allocBuffer, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";
import { im2col } from "./conv";
import { igemm, qlinearInputs, requantize, scales, widen, zeroPoints } from "./integer-gemm";
import { loadQ, quantized } from "./quantize";
import { Window, kernelShape, resolveWindow } from "./window";

class ConvShape {
  n: i32 = 0;
  c: i32 = 0;
  m: i32 = 0;
  group: i32 = 1;
  w: Window = new Window();
  outDims: Array<i32> = [];
}

function convShape(ctx: OpContext, x: Tensor, wt: Tensor): ConvShape | null {
  const r = x.rank;
  if (r < 3) {
    ctx.error("x must have rank >= 3 (N, C, spatial...), has shape " + dimsToString(x.dims));
    return null;
  }
  const s = r - 2;
  if (s > 3) {
    unsupported(s.toString() + " spatial dimensions in " + ctx.label() + " (at most 3)");
    return null;
  }
  if (wt.rank != r) {
    ctx.error("w shape " + dimsToString(wt.dims) + " does not match x rank " + r.toString());
    return null;
  }
  const g64 = ctx.attrInt("group", 1);
  if (failed()) return null;
  const cs = new ConvShape();
  cs.n = x.dims[0];
  cs.c = x.dims[1];
  cs.m = wt.dims[0];
  if (g64 < 1 || g64 > <i64>cs.c) {
    ctx.error("invalid group " + g64.toString());
    return null;
  }
  cs.group = <i32>g64;
  if (cs.c % cs.group != 0 || cs.m % cs.group != 0) {
    ctx.error("channels " + cs.c.toString() + " and filters " + cs.m.toString() + " are not divisible by group " + cs.group.toString());
    return null;
  }
  if (wt.dims[1] != cs.c / cs.group) {
    ctx.error("w shape " + dimsToString(wt.dims) + " expects " + wt.dims[1].toString() + " input channels per group, x has " + (cs.c / cs.group).toString());
    return null;
  }
  const kernel = new StaticArray<i32>(s);
  for (let i = 0; i < s; i++) kernel[i] = wt.dims[i + 2];
  const ks = kernelShape(ctx, s, false);
  if (failed()) return null;
  if (ks !== null) {
    for (let i = 0; i < s; i++) {
      if (ks[i] != kernel[i]) {
        ctx.error("kernel_shape does not match w shape " + dimsToString(wt.dims));
        return null;
      }
    }
  }
  const w = resolveWindow(ctx, x.dims.slice(2), kernel, false, true);
  if (w === null) return null;
  cs.w = w;
  cs.outDims = [cs.n, cs.m];
  for (let i = 0; i < s; i++) cs.outDims.push(w.outDims[3 - s + i]);
  return cs;
}

/** int32 convolution of widened x [N, C, ...] and w [M, C/g, ...] into acc [N, M, out...]. */
function convolve(cs: ConvShape, px: usize, pw: usize, acc: usize): bool {
  const w = cs.w;
  const cg = cs.c / cs.group;
  const mg = cs.m / cs.group;
  const inSize = w.inSize;
  const outSize = w.outSize;
  const rows = <i64>cg * <i64>w.kernelSize;
  if (rows * <i64>outSize * 4 > MAX_TENSOR_BYTES) return false;
  const col = allocBuffer(<i32>(rows * <i64>outSize * 4));
  const pc = changetype<usize>(col);
  for (let b = 0; b < cs.n; b++) {
    for (let g = 0; g < cs.group; g++) {
      im2col(px + ((<usize>(b * cs.c + g * cg) * <usize>inSize) << 2), cg, w, pc);
      igemm(mg, outSize, <i32>rows, pw + ((<usize>(g * mg) * <usize>rows) << 2), pc, acc + ((<usize>(b * cs.m + g * mg) * <usize>outSize) << 2));
    }
  }
  return true;
}

export function convIntegerOp(ctx: OpContext): void {
  const x = ctx.input(0, "x");
  const wt = ctx.input(1, "w");
  if (!quantized(ctx, x, "x") || !quantized(ctx, wt, "w")) return;
  const X = changetype<Tensor>(x);
  const W = changetype<Tensor>(wt);
  const cs = convShape(ctx, X, W);
  if (cs === null) return;
  const xzp = zeroPoints(ctx, ctx.optional(2), X, "x_zero_point", 1, "tensor");
  const wzp = zeroPoints(ctx, ctx.optional(3), W, "w_zero_point", cs.m, "output channel");
  if (xzp === null || wzp === null) return;
  const out = newTensor(INT32, cs.outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const wx = widen(X, xzp, 1);
  const ww = widen(W, wzp, W.size / cs.m);
  if (!convolve(cs, changetype<usize>(wx), changetype<usize>(ww), out.ptr)) return ctx.error("im2col buffer would exceed the engine's tensor limit");
  ctx.setOutput(0, out);
}

export function qlinearConvOp(ctx: OpContext): void {
  const q = qlinearInputs(ctx, "x", "w");
  if (q === null) return;
  const X = q.a, xScale = q.aScale, xZp = q.aZp;
  const W = q.b, wScale = q.bScale, wZp = q.bZp;
  const yScale = q.yScale, yZp = q.yZp;
  const bias = ctx.optional(8);
  if (bias !== null && bias.dtype != INT32) return ctx.unsupportedType(bias, "B");
  const cs = convShape(ctx, X, W);
  if (cs === null) return;
  const xzp = zeroPoints(ctx, xZp, X, "x_zero_point", 1, "tensor");
  const xs = scales(ctx, xScale, "x_scale", 1, "tensor");
  const wzp = zeroPoints(ctx, wZp, W, "w_zero_point", cs.m, "output channel");
  const ws = scales(ctx, wScale, "w_scale", cs.m, "output channel");
  if (xzp === null || xs === null || wzp === null || ws === null) return;
  if (yScale.size != 1 || yZp.size != 1) return unsupported("per-channel y_scale / y_zero_point in " + ctx.label() + " (one value each)");
  if (bias !== null && (bias.rank != 1 || bias.dims[0] != cs.m)) return ctx.error("B shape " + dimsToString(bias.dims) + " should be [" + cs.m.toString() + "]");
  const ys = yScale.getF32(0);
  const yz = loadQ(yZp, 0);
  const signed = yZp.dtype == INT8;
  const out = newTensor(yZp.dtype, cs.outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const wx = widen(X, xzp, 1);
  const ww = widen(W, wzp, W.size / cs.m);
  const acc = allocBuffer(out.size * 4);
  const pacc = changetype<usize>(acc);
  if (!convolve(cs, changetype<usize>(wx), changetype<usize>(ww), pacc)) return ctx.error("im2col buffer would exceed the engine's tensor limit");
  const outSize = cs.w.outSize;
  let e = 0;
  for (let b = 0; b < cs.n; b++) {
    for (let f = 0; f < cs.m; f++) {
      const mult: f32 = (xs[0] * ws[f]) / ys;
      const add = bias === null ? 0 : load<i32>(bias.ptr + (<usize>f << 2));
      for (let p = 0; p < outSize; p++, e++) {
        store<u8>(out.ptr + <usize>e, <u8>requantize(load<i32>(pacc + (<usize>e << 2)) + add, mult, yz, signed));
      }
    }
  }
  ctx.setOutput(0, out);
}
