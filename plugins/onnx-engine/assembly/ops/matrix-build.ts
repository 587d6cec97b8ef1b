// Matrix construction and masking on every held type: Trilu, EyeLike, OneHot.
import { failed, unsupported } from "../errors";
import { BOOL, INT64, MAX_RANK, dimsToString, elementSize, isFloatType, isNumericType, newTensor } from "../tensor";
import { OpContext } from "./context";

/** Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes. */
export function triluOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const upper = ctx.attrInt("upper", 1) != 0;
  if (failed()) return;
  let k: i64 = 0;
  const kt = ctx.optional(1);
  if (kt !== null) {
    if (kt.dtype != INT64) return ctx.unsupportedType(kt, "k");
    if (kt.size != 1) return ctx.error("k must be a scalar, has shape " + dimsToString(kt.dims));
    k = kt.getI64(0);
  }
  if (x.rank < 2) return ctx.error("input must have rank >= 2, has shape " + dimsToString(x.dims));
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const n = x.dims[x.rank - 2];
  const m = x.dims[x.rank - 1];
  const es = <usize>elementSize(x.dtype);
  const mats = n * m == 0 ? 0 : x.size / (n * m);
  for (let b = 0; b < mats; b++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        const d = <i64>j - <i64>i;
        if (upper ? d >= k : d <= k) {
          const off = <usize>((b * n + i) * m + j) * es;
          memory.copy(out.ptr + off, x.ptr + off, es);
        }
      }
    }
  }
  ctx.setOutput(0, out);
}

/** EyeLike: a 2-D tensor of input's shape with ones on diagonal k, in `dtype` (default input's). */
export function eyeLikeOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const dtype = <i32>ctx.attrInt("dtype", x.dtype);
  const k = ctx.attrInt("k", 0);
  if (failed()) return;
  if (elementSize(dtype) == 0 || !(isNumericType(dtype) || dtype == BOOL)) return unsupported("data type " + dtype.toString() + " as the dtype of " + ctx.label());
  if (x.rank != 2) return ctx.error("input must be 2-D, has shape " + dimsToString(x.dims));
  const out = newTensor(dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const n = x.dims[0];
  const m = x.dims[1];
  for (let i = 0; i < n; i++) {
    const j = <i64>i + k;
    if (j >= 0 && j < <i64>m) out.storeF64(i * m + <i32>j, 1);
  }
  ctx.setOutput(0, out);
}

/** OneHot: values[1] where the index (negative counts from depth) equals the position on `axis`, else values[0]. */
export function oneHotOp(ctx: OpContext): void {
  const ind = ctx.input(0, "indices");
  const dt = ctx.input(1, "depth");
  const vals = ctx.input(2, "values");
  if (ind === null || dt === null || vals === null) return;
  if (!isNumericType(ind.dtype)) return ctx.unsupportedType(ind, "indices");
  if (!isNumericType(dt.dtype)) return ctx.unsupportedType(dt, "depth");
  if (dt.size != 1) return ctx.error("depth must be a scalar, has shape " + dimsToString(dt.dims));
  if (vals.rank != 1 || vals.size != 2) return ctx.error("values must have shape [2], has " + dimsToString(vals.dims));
  const a = ctx.attrInt("axis", -1);
  if (failed()) return;
  const depthF = dt.loadF64(0);
  if (!(depthF >= 1) || depthF > 0x7fffffff) return ctx.error("depth must be positive, is " + depthF.toString());
  const depth = <i32>depthF;
  const r = ind.rank + 1;
  if (r > MAX_RANK) return unsupported("rank " + r.toString() + " in " + ctx.label());
  const axis = ctx.axis(a, r, "axis");
  if (failed()) return;
  const outDims = new Array<i32>();
  for (let i = 0; i < axis; i++) outDims.push(ind.dims[i]);
  outDims.push(depth);
  for (let i = axis; i < ind.rank; i++) outDims.push(ind.dims[i]);
  const out = newTensor(vals.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(vals.dtype);
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= ind.dims[i];
  const inner = outer == 0 ? 0 : ind.size / max(outer, 1);
  for (let e = 0; e < out.size; e++) memory.copy(out.ptr + <usize>e * es, vals.ptr, es);
  const intIndex = !isFloatType(ind.dtype);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let v: i64 = intIndex ? ind.loadI64(o * inner + j) : <i64>ind.loadF64(o * inner + j);
      if (v < 0) v += depth;
      if (v < 0 || v >= <i64>depth) continue;
      const pos = (o * depth + <i32>v) * inner + j;
      memory.copy(out.ptr + <usize>pos * es, vals.ptr + es, es);
    }
  }
  ctx.setOutput(0, out);
}
