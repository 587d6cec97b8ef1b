// Matrix products: a float32 GEMM kernel shared by Gemm, MatMul and Conv (im2col).
import { broadcastShapes, broadcastStrides, broadcastsTo } from "../broadcast";
import { failed } from "../errors";
import { FLOAT, dimsToString, newTensor, nextIndex } from "../tensor";
import { OpContext } from "./context";

/** y[0..n) += a * x[0..n) */
// @ts-ignore: decorator
@inline function axpy(py: usize, a: f32, px: usize, n: i32): void {
  const va = f32x4.splat(a);
  const end4 = py + (<usize>(n & ~3) << 2);
  const end = py + (<usize>n << 2);
  for (; py < end4; py += 16, px += 16) v128.store(py, f32x4.add(v128.load(py), f32x4.mul(va, v128.load(px))));
  for (; py < end; py += 4, px += 4) store<f32>(py, load<f32>(py) + a * load<f32>(px));
}

/** sum x[i] * y[i] for i < n */
// @ts-ignore: decorator
@inline function dot(px: usize, py: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  const end4 = px + (<usize>(n & ~3) << 2);
  const end = px + (<usize>n << 2);
  for (; px < end4; px += 16, py += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(px), v128.load(py)));
  let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; px < end; px += 4, py += 4) s += load<f32>(px) * load<f32>(py);
  return s;
}

/**
 * C[M,N] += alpha * op(A) * op(B), row-major, where op(A) is [M,K] (A stored [K,M] when
 * transA) and op(B) is [K,N] (B stored [N,K] when transB).
 */
export function sgemm(m: i32, n: i32, k: i32, alpha: f32, pa: usize, transA: bool, pb: usize, transB: bool, pc: usize): void {
  if (m == 0 || n == 0 || k == 0) return;
  if (m >= 4 && n >= 8) {
    if (transA) {
      // rare: make A row-major first
      const at = heap.alloc(<usize>m * <usize>k << 2);
      for (let i = 0; i < m; i++) {
        for (let kk = 0; kk < k; kk++) store<f32>(at + ((<usize>i * <usize>k + <usize>kk) << 2), load<f32>(pa + ((<usize>kk * <usize>m + <usize>i) << 2)));
      }
      blocked(m, n, k, alpha, at, pb, transB, pc);
      heap.free(at);
    } else {
      blocked(m, n, k, alpha, pa, pb, transB, pc);
    }
    return;
  }
  if (!transB) {
    for (let i = 0; i < m; i++) {
      const crow = pc + ((<usize>i * <usize>n) << 2);
      for (let kk = 0; kk < k; kk++) {
        const av = transA ? load<f32>(pa + ((<usize>kk * <usize>m + <usize>i) << 2)) : load<f32>(pa + ((<usize>i * <usize>k + <usize>kk) << 2));
        axpy(crow, alpha * av, pb + ((<usize>kk * <usize>n) << 2), n);
      }
    }
  } else if (!transA) {
    for (let i = 0; i < m; i++) {
      const arow = pa + ((<usize>i * <usize>k) << 2);
      const crow = pc + ((<usize>i * <usize>n) << 2);
      for (let j = 0; j < n; j++) {
        const p = crow + (<usize>j << 2);
        store<f32>(p, load<f32>(p) + alpha * dot(arow, pb + ((<usize>j * <usize>k) << 2), k));
      }
    }
  } else {
    for (let i = 0; i < m; i++) {
      const crow = pc + ((<usize>i * <usize>n) << 2);
      for (let j = 0; j < n; j++) {
        const brow = pb + ((<usize>j * <usize>k) << 2);
        let s: f32 = 0;
        for (let kk = 0; kk < k; kk++) s += load<f32>(pa + ((<usize>kk * <usize>m + <usize>i) << 2)) * load<f32>(brow + (<usize>kk << 2));
        const p = crow + (<usize>j << 2);
        store<f32>(p, load<f32>(p) + alpha * s);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function accumulate(pc: usize, alpha: v128, acc: v128): void {
  v128.store(pc, f32x4.add(v128.load(pc), f32x4.mul(alpha, acc)));
}

/**
 * Register-blocked SIMD GEMM for row-major A [M,K]: B is packed 8 columns at a time into a
 * contiguous [K,8] panel, and C is computed in 4x8 tiles held in registers.
 */
function blocked(m: i32, n: i32, k: i32, alpha: f32, pa: usize, pb: usize, transB: bool, pc: usize): void {
  const pack = heap.alloc(<usize>k << 5);
  const va = f32x4.splat(alpha);
  const n8 = n & ~7;
  const m4 = m & ~3;
  const rowA = <usize>k << 2;
  const rowC = <usize>n << 2;
  for (let j0 = 0; j0 < n8; j0 += 8) {
    if (!transB) {
      for (let kk = 0; kk < k; kk++) {
        const src = pb + ((<usize>kk * <usize>n + <usize>j0) << 2);
        const dst = pack + (<usize>kk << 5);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      }
    } else {
      for (let jj = 0; jj < 8; jj++) {
        const src = pb + ((<usize>(j0 + jj) * <usize>k) << 2);
        for (let kk = 0; kk < k; kk++) store<f32>(pack + (<usize>kk << 5) + (<usize>jj << 2), load<f32>(src + (<usize>kk << 2)));
      }
    }
    for (let i0 = 0; i0 < m4; i0 += 4) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let a0 = pa + <usize>i0 * rowA;
      let a1 = a0 + rowA;
      let a2 = a1 + rowA;
      let a3 = a2 + rowA;
      let pp = pack;
      for (let kk = 0; kk < k; kk++) {
        const b0 = v128.load(pp);
        const b1 = v128.load(pp, 16);
        pp += 32;
        let a = f32x4.splat(load<f32>(a0));
        c00 = f32x4.add(c00, f32x4.mul(a, b0));
        c01 = f32x4.add(c01, f32x4.mul(a, b1));
        a = f32x4.splat(load<f32>(a1));
        c10 = f32x4.add(c10, f32x4.mul(a, b0));
        c11 = f32x4.add(c11, f32x4.mul(a, b1));
        a = f32x4.splat(load<f32>(a2));
        c20 = f32x4.add(c20, f32x4.mul(a, b0));
        c21 = f32x4.add(c21, f32x4.mul(a, b1));
        a = f32x4.splat(load<f32>(a3));
        c30 = f32x4.add(c30, f32x4.mul(a, b0));
        c31 = f32x4.add(c31, f32x4.mul(a, b1));
        a0 += 4;
        a1 += 4;
        a2 += 4;
        a3 += 4;
      }
      const p0 = pc + <usize>i0 * rowC + (<usize>j0 << 2);
      accumulate(p0, va, c00);
      accumulate(p0 + 16, va, c01);
      accumulate(p0 + rowC, va, c10);
      accumulate(p0 + rowC + 16, va, c11);
      accumulate(p0 + 2 * rowC, va, c20);
      accumulate(p0 + 2 * rowC + 16, va, c21);
      accumulate(p0 + 3 * rowC, va, c30);
      accumulate(p0 + 3 * rowC + 16, va, c31);
    }
    for (let i = m4; i < m; i++) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      let a0 = pa + <usize>i * rowA;
      let pp = pack;
      for (let kk = 0; kk < k; kk++) {
        const a = f32x4.splat(load<f32>(a0));
        c0 = f32x4.add(c0, f32x4.mul(a, v128.load(pp)));
        c1 = f32x4.add(c1, f32x4.mul(a, v128.load(pp, 16)));
        pp += 32;
        a0 += 4;
      }
      const p0 = pc + <usize>i * rowC + (<usize>j0 << 2);
      accumulate(p0, va, c0);
      accumulate(p0 + 16, va, c1);
    }
  }
  // remaining columns
  for (let j = n8; j < n; j++) {
    for (let i = 0; i < m; i++) {
      const arow = pa + <usize>i * rowA;
      let s: f32 = 0;
      if (!transB) {
        for (let kk = 0; kk < k; kk++) s += load<f32>(arow + (<usize>kk << 2)) * load<f32>(pb + ((<usize>kk * <usize>n + <usize>j) << 2));
      } else {
        s = dot(arow, pb + ((<usize>j * <usize>k) << 2), k);
      }
      const p = pc + <usize>i * rowC + (<usize>j << 2);
      store<f32>(p, load<f32>(p) + alpha * s);
    }
  }
  heap.free(pack);
}

export function gemmOp(ctx: OpContext): void {
  const a = ctx.float(0, "A");
  const b = ctx.float(1, "B");
  if (a === null || b === null) return;
  const c = ctx.optFloat(2, "C");
  if (failed()) return;
  const alpha = ctx.attrFloat("alpha", 1);
  const beta = ctx.attrFloat("beta", 1);
  const transA = ctx.attrInt("transA", 0) != 0;
  const transB = ctx.attrInt("transB", 0) != 0;
  if (failed()) return;
  if (a.rank != 2) return ctx.error("A must be 2-D, has shape " + dimsToString(a.dims));
  if (b.rank != 2) return ctx.error("B must be 2-D, has shape " + dimsToString(b.dims));
  const m = transA ? a.dims[1] : a.dims[0];
  const k = transA ? a.dims[0] : a.dims[1];
  const kb = transB ? b.dims[1] : b.dims[0];
  const n = transB ? b.dims[0] : b.dims[1];
  if (k != kb) return ctx.error("A " + dimsToString(a.dims) + " and B " + dimsToString(b.dims) + " do not multiply (transA=" + (transA ? "1" : "0") + ", transB=" + (transB ? "1" : "0") + ")");
  const outDims = [m, n];
  const out = newTensor(FLOAT, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (c !== null && beta != 0) {
    if (!broadcastsTo(c.dims, outDims)) return ctx.error("C shape " + dimsToString(c.dims) + " does not broadcast to " + dimsToString(outDims));
    const st = broadcastStrides(c.dims, outDims);
    const s0 = st[0];
    const s1 = st[1];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        store<f32>(out.ptr + ((<usize>(i * n + j)) << 2), beta * c.getF32(i * s0 + j * s1));
      }
    }
  } else if (c !== null && !broadcastsTo(c.dims, outDims)) {
    return ctx.error("C shape " + dimsToString(c.dims) + " does not broadcast to " + dimsToString(outDims));
  }
  sgemm(m, n, k, alpha, a.ptr, transA, b.ptr, transB, out.ptr);
  ctx.setOutput(0, out);
}

/** MatMul with numpy semantics: 1-D promotion and broadcast batch dimensions. */
export function matmulOp(ctx: OpContext): void {
  const a = ctx.float(0, "A");
  const b = ctx.float(1, "B");
  if (a === null || b === null) return;
  if (a.rank == 0 || b.rank == 0) return ctx.error("inputs must have rank >= 1");
  const aDims = a.rank == 1 ? [1, a.dims[0]] : a.dims;
  const bDims = b.rank == 1 ? [b.dims[0], 1] : b.dims;
  const ar = aDims.length;
  const br = bDims.length;
  const m = aDims[ar - 2];
  const k = aDims[ar - 1];
  const n = bDims[br - 1];
  if (bDims[br - 2] != k) return ctx.error("shapes " + dimsToString(a.dims) + " and " + dimsToString(b.dims) + " do not multiply");
  const aBatch = aDims.slice(0, ar - 2);
  const bBatch = bDims.slice(0, br - 2);
  const batch = broadcastShapes(aBatch, bBatch);
  if (batch === null) return ctx.error("batch dimensions of " + dimsToString(a.dims) + " and " + dimsToString(b.dims) + " cannot be broadcast");
  const outDims = batch.slice(0);
  if (a.rank > 1) outDims.push(m);
  if (b.rank > 1) outDims.push(n);
  const out = newTensor(FLOAT, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const sa = broadcastStrides(aBatch, batch);
  const sb = broadcastStrides(bBatch, batch);
  let count = 1;
  for (let i = 0; i < batch.length; i++) count *= batch[i];
  const idx = new Array<i32>(batch.length);
  const mk = m * k;
  const kn = k * n;
  const mn = m * n;
  for (let t = 0; t < count; t++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < batch.length; d++) {
      ao += idx[d] * sa[d];
      bo += idx[d] * sb[d];
    }
    sgemm(m, n, k, 1, a.ptr + ((<usize>ao * <usize>mk) << 2), false, b.ptr + ((<usize>bo * <usize>kn) << 2), false, out.ptr + ((<usize>t * <usize>mn) << 2));
    nextIndex(idx, batch, batch.length - 1);
  }
  ctx.setOutput(0, out);
}
