// Reductions: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp (axes as an
// attribute before opset 13 for ReduceSum and 18 for the others, as an input after),
// ArgMax/ArgMin, CumSum. Float types accumulate in f64; integers exactly in i64.
import { failed } from "../errors";
import { CLASS_FLOAT, FLOAT, INT32, INT64, Tensor, UINT64, dimsToString, isIntegerType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

export const R_SUM: i32 = 0;
export const R_MEAN: i32 = 1;
export const R_MAX: i32 = 2;
export const R_MIN: i32 = 3;
export const R_PROD: i32 = 4;
export const R_L1: i32 = 5;
export const R_L2: i32 = 6;
export const R_SUM_SQUARE: i32 = 7;
export const R_LOG_SUM: i32 = 8;
export const R_LOG_SUM_EXP: i32 = 9;

/** Marks the reduced axes; null on error. Empty axes reduce everything unless noop is set. */
function reducedAxes(ctx: OpContext, rank: i32, axesFromInput: bool, noop: bool): StaticArray<bool> | null {
  let axes: Array<i64> | null = null;
  if (axesFromInput) {
    const t = ctx.int64(1, "axes", true);
    if (failed()) return null;
    if (t !== null) {
      axes = ctx.int64Values(t, "axes");
      if (axes === null) return null;
    }
  } else {
    axes = ctx.attrInts("axes");
    if (failed()) return null;
  }
  const mark = new StaticArray<bool>(rank);
  if (axes === null || axes.length == 0) {
    if (!noop) for (let i = 0; i < rank; i++) mark[i] = true;
    return mark;
  }
  for (let i = 0; i < axes.length; i++) {
    const a = ctx.axis(axes[i], rank, "axes value");
    if (failed()) return null;
    if (mark[a]) {
      ctx.error("axes has a duplicate value " + axes[i].toString());
      return null;
    }
    mark[a] = true;
  }
  return mark;
}

export function reduceOp(ctx: OpContext, op: i32): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const isInt = isIntegerType(x.dtype);
  const intOk = op != R_L2 && op != R_LOG_SUM && op != R_LOG_SUM_EXP;
  if (!(typeClass(x.dtype) == CLASS_FLOAT || (isInt && intOk))) return ctx.unsupportedType(x, "data");
  const keepdims = ctx.attrInt("keepdims", 1) != 0;
  const fromInput = op == R_SUM ? ctx.opset >= 13 : ctx.opset >= 18;
  const noop = fromInput ? ctx.attrInt("noop_with_empty_axes", 0) != 0 : false;
  if (failed()) return;
  const r = x.rank;
  const mark = reducedAxes(ctx, r, fromInput, noop);
  if (mark === null) return;
  // with noop_with_empty_axes and no axes nothing is reduced, but the elementwise part still
  // applies (ReduceSumSquare squares, ReduceL1 takes |x|, ...), as in the ONNX reference
  // output shape and the output stride of each input dim (0 on reduced dims)
  const outDims = new Array<i32>();
  for (let i = 0; i < r; i++) {
    if (!mark[i]) outDims.push(x.dims[i]);
    else if (keepdims) outDims.push(1);
  }
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  const ostr = new StaticArray<i32>(max(r, 1));
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    if (mark[i]) ostr[i] = 0;
    else {
      ostr[i] = s;
      s *= x.dims[i];
    }
  }
  const n = out.size;
  const count = n > 0 ? x.size / n : 0;
  if (isInt) {
    reduceInt(x, out, op, ostr, count);
    return ctx.setOutput(0, out);
  }
  const acc = new StaticArray<f64>(n);
  // initial values
  let init: f64 = 0;
  if (op == R_PROD) init = 1;
  else if (op == R_MAX || op == R_LOG_SUM_EXP) init = -Infinity;
  else if (op == R_MIN) init = Infinity;
  for (let i = 0; i < n; i++) acc[i] = init;
  const idx = new StaticArray<i32>(max(r, 1));
  // pass 1 (pass 2 for LogSumExp uses the maxima from pass 1)
  for (let pass = 0; pass < (op == R_LOG_SUM_EXP ? 2 : 1); pass++) {
    let sums: StaticArray<f64> | null = null;
    if (pass == 1) {
      sums = new StaticArray<f64>(n);
    }
    let o = 0;
    for (let i = 0; i < r; i++) idx[i] = 0;
    for (let e = 0; e < x.size; e++) {
      const v = x.loadF64(e);
      if (pass == 1) {
        const m = acc[o];
        const sm = sums!;
        sm[o] = sm[o] + Math.exp(v - (m == -Infinity ? 0 : m));
      } else {
        const a = acc[o];
        switch (op) {
          case R_SUM: case R_MEAN: case R_LOG_SUM: acc[o] = a + v; break;
          case R_MAX: case R_LOG_SUM_EXP: acc[o] = v > a || v != v ? v : a; break;
          case R_MIN: acc[o] = v < a || v != v ? v : a; break;
          case R_PROD: acc[o] = a * v; break;
          case R_L1: acc[o] = a + Math.abs(v); break;
          case R_L2: case R_SUM_SQUARE: acc[o] = a + v * v; break;
        }
      }
      o = nextOffset(idx, x.dims, ostr, o);
    }
    if (pass == 1) {
      const sm = sums!;
      for (let i = 0; i < n; i++) {
        const m = acc[i];
        acc[i] = (m == -Infinity ? 0 : m) + Math.log(sm[i]);
      }
    }
  }
  for (let i = 0; i < n; i++) {
    let v = acc[i];
    if (op == R_MEAN) v = v / <f64>count;
    else if (op == R_L2) v = Math.sqrt(v);
    else if (op == R_LOG_SUM) v = Math.log(v);
    out.storeF64(i, v);
  }
  ctx.setOutput(0, out);
}

/**
 * Steps the row-major index `idx` over `dims` to the next element and returns output offset
 * `o` moved with it (`ostr` is 0 along reduced axes, so their elements share one output).
 */
@inline
function nextOffset(idx: StaticArray<i32>, dims: Array<i32>, ostr: StaticArray<i32>, o: i32): i32 {
  for (let d = dims.length - 1; d >= 0; d--) {
    const nv = idx[d] + 1;
    if (nv < dims[d]) {
      idx[d] = nv;
      return o + ostr[d];
    }
    idx[d] = 0;
    o -= ostr[d] * (nv - 1);
  }
  return o;
}

/** Integer reductions, exact in i64 (wrapping like the C++ kernels); Mean truncates. */
function reduceInt(x: Tensor, out: Tensor, op: i32, ostr: StaticArray<i32>, count: i32): void {
  const n = out.size;
  const r = x.rank;
  const u64 = x.dtype == UINT64;
  const acc = new StaticArray<i64>(n);
  let init: i64 = 0;
  if (op == R_PROD) init = 1;
  else if (op == R_MAX) init = u64 ? 0 : i64.MIN_VALUE;
  else if (op == R_MIN) init = u64 ? -1 : i64.MAX_VALUE;
  for (let i = 0; i < n; i++) acc[i] = init;
  const idx = new StaticArray<i32>(max(r, 1));
  let o = 0;
  for (let e = 0; e < x.size; e++) {
    const v = x.loadI64(e);
    const a = acc[o];
    switch (op) {
      case R_SUM: case R_MEAN: acc[o] = a + v; break;
      case R_MAX: acc[o] = (u64 ? <u64>v > <u64>a : v > a) ? v : a; break;
      case R_MIN: acc[o] = (u64 ? <u64>v < <u64>a : v < a) ? v : a; break;
      case R_PROD: acc[o] = a * v; break;
      case R_L1: acc[o] = a + (v < 0 ? -v : v); break;
      case R_SUM_SQUARE: acc[o] = a + v * v; break;
    }
    o = nextOffset(idx, x.dims, ostr, o);
  }
  for (let i = 0; i < n; i++) {
    let v = acc[i];
    if (op == R_MEAN && count > 0) v = u64 ? <i64>(<u64>v / <u64>count) : v / <i64>count;
    out.storeI64(i, v);
  }
}

export function argOp(ctx: OpContext, isMax: bool): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const cls = typeClass(x.dtype);
  if (!(cls == CLASS_FLOAT || isIntegerType(x.dtype))) return ctx.unsupportedType(x, "data");
  const keepdims = ctx.attrInt("keepdims", 1) != 0;
  const last = ctx.opset >= 12 ? ctx.attrInt("select_last_index", 0) != 0 : false;
  const axisAttr = ctx.attrInt("axis", 0);
  if (failed()) return;
  const r = x.rank;
  if (r == 0) return ctx.error("data must have rank >= 1");
  const axis = ctx.axis(axisAttr, r, "axis");
  if (failed()) return;
  const len = x.dims[axis];
  if (len == 0) return ctx.error("cannot take " + ctx.node.opType + " over an empty axis");
  const outDims = new Array<i32>();
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < r; i++) {
    if (i < axis) outer *= x.dims[i];
    if (i > axis) inner *= x.dims[i];
    if (i != axis) outDims.push(x.dims[i]);
    else if (keepdims) outDims.push(1);
  }
  const out = newTensor(INT64, outDims, "output of " + ctx.label());
  if (out === null) return;
  let p = out.ptr;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      const bi = cls == CLASS_FLOAT ? argFloat(x, base, inner, len, isMax, last) : argInt(x, base, inner, len, isMax, last);
      store<i64>(p, <i64>bi);
      p += 8;
    }
  }
  ctx.setOutput(0, out);
}

function argFloat(x: Tensor, base: i32, inner: i32, len: i32, isMax: bool, last: bool): i32 {
  let best = x.loadF64(base);
  let bi = 0;
  for (let k = 1; k < len; k++) {
    const v = x.loadF64(base + k * inner);
    const better = isMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
    if (better) {
      best = v;
      bi = k;
    }
  }
  return bi;
}

function argInt(x: Tensor, base: i32, inner: i32, len: i32, isMax: bool, last: bool): i32 {
  // uint64 compares unsigned: flip the sign bit so signed order matches
  const flip: i64 = x.dtype == UINT64 ? i64.MIN_VALUE : 0;
  let best = x.loadI64(base) ^ flip;
  let bi = 0;
  for (let k = 1; k < len; k++) {
    const v = x.loadI64(base + k * inner) ^ flip;
    const better = isMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
    if (better) {
      best = v;
      bi = k;
    }
  }
  return bi;
}

export function cumSumOp(ctx: OpContext): void {
  const x = ctx.input(0, "x");
  const at = ctx.input(1, "axis");
  if (x === null || at === null) return;
  const isInt = isIntegerType(x.dtype);
  if (!(typeClass(x.dtype) == CLASS_FLOAT || isInt)) return ctx.unsupportedType(x, "x");
  if (at.dtype != INT64 && at.dtype != INT32) return ctx.unsupportedType(at, "axis");
  if (at.size != 1) return ctx.error("axis must be a scalar, has shape " + dimsToString(at.dims));
  const exclusive = ctx.attrInt("exclusive", 0) != 0;
  const reverse = ctx.attrInt("reverse", 0) != 0;
  if (failed()) return;
  const r = x.rank;
  if (r == 0) return ctx.error("x must have rank >= 1");
  const av: i64 = at.dtype == INT64 ? at.getI64(0) : <i64>load<i32>(at.ptr);
  const axis = ctx.axis(av, r, "axis");
  if (failed()) return;
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const len = x.dims[axis];
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= x.dims[i];
  for (let i = axis + 1; i < r; i++) inner *= x.dims[i];
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      // float32 sums in f32 (as onnxruntime), float16/float64 in f64, integers in i64
      let sum: f64 = 0;
      let isum: i64 = 0;
      const f32sum = x.dtype == FLOAT;
      for (let t = 0; t < len; t++) {
        const k = reverse ? len - 1 - t : t;
        const off = base + k * inner;
        if (isInt) {
          if (exclusive) out.storeI64(off, isum);
          isum += x.loadI64(off);
          if (!exclusive) out.storeI64(off, isum);
        } else {
          if (exclusive) out.storeF64(off, sum);
          sum = f32sum ? <f64>(<f32>sum + <f32>x.getF32(off)) : sum + x.loadF64(off);
          if (!exclusive) out.storeF64(off, sum);
        }
      }
    }
  }
  ctx.setOutput(0, out);
}
