// Integer matrix products: MatMulInteger and QLinearMatMul, and the exact int32 GEMM they share
// with ConvInteger and QLinearConv. Operands are widened to int32 with their zero points
// subtracted, so every product and sum is exact (as onnxruntime's integer kernels are).
import { broadcastShapes, broadcastStrides } from "../broadcast";
import { unsupported } from "../errors";
import { INT32, INT8, Tensor, allocBuffer, dimsToString, newTensor, nextIndex, typeName } from "../tensor";
import { OpContext } from "./context";
import { loadQ, quantized } from "./quantize";

/** C[M,N] = A[M,K] * B[K,N] over row-major int32 matrices (C overwritten). */
export function igemm(m: i32, n: i32, k: i32, pa: usize, pb: usize, pc: usize): void {
  if (m >= 4 && n >= 8) {
    blockedI32(m, n, k, pa, pb, pc);
    return;
  }
  rowsI32(0, m, 0, n, n, k, pa, pb, pc);
}

/** Rows [i0, i1) and columns [j0, j1) of C by row-wise axpy (edges and small products). */
function rowsI32(i0: i32, i1: i32, j0: i32, j1: i32, n: i32, k: i32, pa: usize, pb: usize, pc: usize): void {
  const rowB = <usize>n << 2;
  for (let i = i0; i < i1; i++) {
    const crow = pc + ((<usize>i * <usize>n) << 2);
    for (let j = j0; j < j1; j++) store<i32>(crow + (<usize>j << 2), 0);
    const arow = pa + ((<usize>i * <usize>k) << 2);
    for (let kk = 0; kk < k; kk++) {
      const a = load<i32>(arow + (<usize>kk << 2));
      if (a == 0) continue;
      const brow = pb + <usize>kk * rowB;
      let j = j0;
      const va = i32x4.splat(a);
      for (; j + 4 <= j1; j += 4) {
        const q = crow + (<usize>j << 2);
        v128.store(q, i32x4.add(v128.load(q), i32x4.mul(va, v128.load(brow + (<usize>j << 2)))));
      }
      for (; j < j1; j++) {
        const q = crow + (<usize>j << 2);
        store<i32>(q, load<i32>(q) + a * load<i32>(brow + (<usize>j << 2)));
      }
    }
  }
}

/**
 * Register-blocked int32 GEMM, as the float kernel in ops/gemm.ts: B packed 8 columns at a
 * time into a contiguous [K, 8] panel, C computed in 4x8 tiles held in registers.
 */
function blockedI32(m: i32, n: i32, k: i32, pa: usize, pb: usize, pc: usize): void {
  const pack = heap.alloc(<usize>k << 5);
  const n8 = n & ~7;
  const m4 = m & ~3;
  const rowA = <usize>k << 2;
  const rowC = <usize>n << 2;
  for (let j0 = 0; j0 < n8; j0 += 8) {
    for (let kk = 0; kk < k; kk++) {
      const src = pb + ((<usize>kk * <usize>n + <usize>j0) << 2);
      const dst = pack + (<usize>kk << 5);
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
    }
    for (let i0 = 0; i0 < m4; i0 += 4) {
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c10 = i32x4.splat(0), c11 = i32x4.splat(0);
      let c20 = i32x4.splat(0), c21 = i32x4.splat(0), c30 = i32x4.splat(0), c31 = i32x4.splat(0);
      let a0 = pa + <usize>i0 * rowA;
      let a1 = a0 + rowA;
      let a2 = a1 + rowA;
      let a3 = a2 + rowA;
      let pp = pack;
      for (let kk = 0; kk < k; kk++) {
        const b0 = v128.load(pp);
        const b1 = v128.load(pp, 16);
        pp += 32;
        let a = i32x4.splat(load<i32>(a0));
        c00 = i32x4.add(c00, i32x4.mul(a, b0));
        c01 = i32x4.add(c01, i32x4.mul(a, b1));
        a = i32x4.splat(load<i32>(a1));
        c10 = i32x4.add(c10, i32x4.mul(a, b0));
        c11 = i32x4.add(c11, i32x4.mul(a, b1));
        a = i32x4.splat(load<i32>(a2));
        c20 = i32x4.add(c20, i32x4.mul(a, b0));
        c21 = i32x4.add(c21, i32x4.mul(a, b1));
        a = i32x4.splat(load<i32>(a3));
        c30 = i32x4.add(c30, i32x4.mul(a, b0));
        c31 = i32x4.add(c31, i32x4.mul(a, b1));
        a0 += 4;
        a1 += 4;
        a2 += 4;
        a3 += 4;
      }
      const p0 = pc + <usize>i0 * rowC + (<usize>j0 << 2);
      v128.store(p0, c00);
      v128.store(p0 + 16, c01);
      v128.store(p0 + rowC, c10);
      v128.store(p0 + rowC + 16, c11);
      v128.store(p0 + 2 * rowC, c20);
      v128.store(p0 + 2 * rowC + 16, c21);
      v128.store(p0 + 3 * rowC, c30);
      v128.store(p0 + 3 * rowC + 16, c31);
    }
  }
  heap.free(pack);
  // the last rows of the panels, then the columns past the last full panel
  rowsI32(m4, m, 0, n8, n, k, pa, pb, pc);
  rowsI32(0, m, n8, n, n, k, pa, pb, pc);
}

/**
 * A zero point that is a scalar, or a 1-D vector of `perLen` values (per row of A / per column of
 * B / per output channel); returns the values to subtract per index, or null on error.
 */
export function zeroPoints(ctx: OpContext, zp: Tensor | null, owner: Tensor, name: string, perLen: i32, perWhat: string): StaticArray<i32> | null {
  const out = new StaticArray<i32>(perLen);
  if (zp === null) return out;
  if (zp.dtype != owner.dtype) {
    ctx.error(name + " type " + typeName(zp.dtype) + " differs from its input's type " + typeName(owner.dtype));
    return null;
  }
  if (zp.size == 1 && zp.rank <= 1) {
    const v = loadQ(zp, 0);
    for (let i = 0; i < perLen; i++) out[i] = v;
    return out;
  }
  if (zp.rank == 1 && zp.dims[0] == perLen) {
    for (let i = 0; i < perLen; i++) out[i] = loadQ(zp, i);
    return out;
  }
  unsupported(name + " of shape " + dimsToString(zp.dims) + " in " + ctx.label() + " (a scalar or one value per " + perWhat + ", " + perLen.toString() + ")");
  return null;
}

/** A scale that is a scalar or a 1-D vector of `perLen` values; returns one value per index. */
export function scales(ctx: OpContext, s: Tensor, name: string, perLen: i32, perWhat: string): StaticArray<f32> | null {
  const out = new StaticArray<f32>(perLen);
  if (s.size == 1 && s.rank <= 1) {
    for (let i = 0; i < perLen; i++) out[i] = s.getF32(0);
    return out;
  }
  if (s.rank == 1 && s.dims[0] == perLen) {
    for (let i = 0; i < perLen; i++) out[i] = s.getF32(i);
    return out;
  }
  unsupported(name + " of shape " + dimsToString(s.dims) + " in " + ctx.label() + " (a scalar or one value per " + perWhat + ", " + perLen.toString() + ")");
  return null;
}

/** t widened to int32 minus zp[(element / stride) % len]. */
export function widen(t: Tensor, zp: StaticArray<i32>, stride: i32): ArrayBuffer {
  const b = allocBuffer(t.size * 4);
  const p = changetype<usize>(b);
  const len = zp.length;
  const signed = t.dtype == INT8;
  for (let e = 0; e < t.size; e++) {
    const v: i32 = signed ? <i32>load<i8>(t.ptr + <usize>e) : <i32>load<u8>(t.ptr + <usize>e);
    store<i32>(p + (<usize>e << 2), v - unchecked(zp[(e / stride) % len]));
  }
  return b;
}

/** y = saturate(round_half_even(acc * multiplier) + zp) into uint8/int8. */
// @ts-ignore: decorator
@inline export function requantize(acc: i32, multiplier: f32, zp: i32, signed: bool): i32 {
  const q = <i32>f32.nearest(<f32>acc * multiplier) + zp;
  const lo = signed ? -128 : 0;
  const hi = signed ? 127 : 255;
  return q < lo ? lo : q > hi ? hi : q;
}

class MatMulShapes {
  m: i32 = 0;
  k: i32 = 0;
  n: i32 = 0;
  batch: Array<i32> = [];
  sa: Array<i32> = [];
  sb: Array<i32> = [];
  outDims: Array<i32> = [];
}

function matmulShapes(ctx: OpContext, a: Tensor, b: Tensor): MatMulShapes | null {
  if (a.rank == 0 || b.rank == 0) {
    ctx.error("inputs must have rank >= 1");
    return null;
  }
  const aDims = a.rank == 1 ? [1, a.dims[0]] : a.dims;
  const bDims = b.rank == 1 ? [b.dims[0], 1] : b.dims;
  const s = new MatMulShapes();
  s.m = aDims[aDims.length - 2];
  s.k = aDims[aDims.length - 1];
  s.n = bDims[bDims.length - 1];
  if (bDims[bDims.length - 2] != s.k) {
    ctx.error("shapes " + dimsToString(a.dims) + " and " + dimsToString(b.dims) + " do not multiply");
    return null;
  }
  const aBatch = aDims.slice(0, aDims.length - 2);
  const bBatch = bDims.slice(0, bDims.length - 2);
  const batch = broadcastShapes(aBatch, bBatch);
  if (batch === null) {
    ctx.error("batch dimensions of " + dimsToString(a.dims) + " and " + dimsToString(b.dims) + " cannot be broadcast");
    return null;
  }
  s.batch = batch;
  s.sa = broadcastStrides(aBatch, batch);
  s.sb = broadcastStrides(bBatch, batch);
  s.outDims = batch.slice(0);
  if (a.rank > 1) s.outDims.push(s.m);
  if (b.rank > 1) s.outDims.push(s.n);
  return s;
}

/** int32 products of every batch into `acc` ([batch, M, N]). */
function batchedProducts(s: MatMulShapes, pa: usize, pb: usize, acc: usize): void {
  let count = 1;
  for (let i = 0; i < s.batch.length; i++) count *= s.batch[i];
  const idx = new Array<i32>(s.batch.length);
  const mk = s.m * s.k;
  const kn = s.k * s.n;
  const mn = s.m * s.n;
  for (let t = 0; t < count; t++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < s.batch.length; d++) {
      ao += idx[d] * s.sa[d];
      bo += idx[d] * s.sb[d];
    }
    igemm(s.m, s.n, s.k, pa + ((<usize>ao * <usize>mk) << 2), pb + ((<usize>bo * <usize>kn) << 2), acc + ((<usize>t * <usize>mn) << 2));
    nextIndex(idx, s.batch, s.batch.length - 1);
  }
}

export function matmulIntegerOp(ctx: OpContext): void {
  const a = ctx.input(0, "A");
  const b = ctx.input(1, "B");
  if (!quantized(ctx, a, "A") || !quantized(ctx, b, "B")) return;
  const A = changetype<Tensor>(a);
  const B = changetype<Tensor>(b);
  const s = matmulShapes(ctx, A, B);
  if (s === null) return;
  const azp = zeroPoints(ctx, ctx.optional(2), A, "a_zero_point", s.m, "row of A");
  if (azp === null) return;
  const bzp = zeroPoints(ctx, ctx.optional(3), B, "b_zero_point", s.n, "column of B");
  if (bzp === null) return;
  const out = newTensor(INT32, s.outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const wa = widen(A, azp, s.k);
  const wb = widen(B, bzp, 1);
  batchedProducts(s, changetype<usize>(wa), changetype<usize>(wb), out.ptr);
  ctx.setOutput(0, out);
}

/** The eight inputs QLinearMatMul and QLinearConv share: two quantized operands, each with its scale and zero point, then y's. */
export class QLinearInputs {
  constructor(
    public a: Tensor,
    public aScale: Tensor,
    public aZp: Tensor,
    public b: Tensor,
    public bScale: Tensor,
    public bZp: Tensor,
    public yScale: Tensor,
    public yZp: Tensor,
  ) {}
}

/** Reads and type-checks them, operands named `a` and `b` ("a"/"b" or "x"/"w"); null after an error. */
export function qlinearInputs(ctx: OpContext, a: string, b: string): QLinearInputs | null {
  const ta = ctx.input(0, a);
  const aScale = ctx.float(1, a + "_scale");
  const aZp = ctx.input(2, a + "_zero_point");
  const tb = ctx.input(3, b);
  const bScale = ctx.float(4, b + "_scale");
  const bZp = ctx.input(5, b + "_zero_point");
  const yScale = ctx.float(6, "y_scale");
  const yZp = ctx.input(7, "y_zero_point");
  if (aScale === null || aZp === null || bScale === null || bZp === null || yScale === null || yZp === null) return null;
  if (!quantized(ctx, ta, a) || !quantized(ctx, tb, b) || !quantized(ctx, yZp, "y_zero_point")) return null;
  return new QLinearInputs(changetype<Tensor>(ta), aScale, aZp, changetype<Tensor>(tb), bScale, bZp, yScale, yZp);
}

export function qlinearMatMulOp(ctx: OpContext): void {
  const q = qlinearInputs(ctx, "a", "b");
  if (q === null) return;
  const A = q.a, aScale = q.aScale, aZp = q.aZp;
  const B = q.b, bScale = q.bScale, bZp = q.bZp;
  const yScale = q.yScale, yZp = q.yZp;
  const s = matmulShapes(ctx, A, B);
  if (s === null) return;
  const azp = zeroPoints(ctx, aZp, A, "a_zero_point", 1, "tensor");
  const as = scales(ctx, aScale, "a_scale", 1, "tensor");
  if (azp === null || as === null) return;
  const bzp = zeroPoints(ctx, bZp, B, "b_zero_point", s.n, "column of b");
  const bs = scales(ctx, bScale, "b_scale", s.n, "column of b");
  if (bzp === null || bs === null) return;
  if (yScale.size != 1 || yZp.size != 1) return unsupported("per-channel y_scale / y_zero_point in " + ctx.label() + " (one value each)");
  const ys = yScale.getF32(0);
  const yz = loadQ(yZp, 0);
  const signed = yZp.dtype == INT8;
  const multipliers = new StaticArray<f32>(s.n);
  for (let j = 0; j < s.n; j++) multipliers[j] = (as[0] * bs[j]) / ys;
  const out = newTensor(yZp.dtype, s.outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const wa = widen(A, azp, 1);
  const wb = widen(B, bzp, 1);
  const acc = allocBuffer(out.size * 4);
  const pacc = changetype<usize>(acc);
  batchedProducts(s, changetype<usize>(wa), changetype<usize>(wb), pacc);
  for (let e = 0; e < out.size; e++) {
    const q = requantize(load<i32>(pacc + (<usize>e << 2)), unchecked(multipliers[e % s.n]), yz, signed);
    store<u8>(out.ptr + <usize>e, <u8>q);
  }
  ctx.setOutput(0, out);
}

