// Element- and slice-indexed gathers and scatters on every held type: GatherElements,
// GatherND (batch_dims), ScatterElements and ScatterND (reduction none/add/mul/max/min), and
// the deprecated Scatter. Negative indices count from the end; any index outside its axis is
// a model error (onnxruntime would read or write out of bounds).
import { failed } from "../errors";
import { CLASS_FLOAT, MAX_RANK, Tensor, UINT64, dimsToString, elementSize, isIntegerType, isNumericType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";

const R_NONE: i32 = 0;
const R_ADD: i32 = 1;
const R_MUL: i32 = 2;
const R_MAX: i32 = 3;
const R_MIN: i32 = 4;

function reductionOf(ctx: OpContext, data: Tensor): i32 {
  if (ctx.opset < 16) return R_NONE;
  const r = ctx.attrString("reduction", "none");
  if (failed()) return -1;
  let code = -1;
  if (r == "none") code = R_NONE;
  else if (r == "add") code = R_ADD;
  else if (r == "mul") code = R_MUL;
  else if ((r == "max" || r == "min") && ctx.opset >= 18) code = r == "max" ? R_MAX : R_MIN;
  if (code < 0) {
    ctx.error('invalid reduction "' + r + '"');
    return -1;
  }
  if (code != R_NONE && !isNumericType(data.dtype)) {
    ctx.unsupportedType(data, "data");
    return -1;
  }
  return code;
}

/** out[pos] = out[pos] (red) upd[j]; floats in f64 (one rounding), integers exactly. */
function combine(out: Tensor, pos: i32, upd: Tensor, j: i32, red: i32, es: usize): void {
  if (red == R_NONE) {
    memory.copy(out.ptr + <usize>pos * es, upd.ptr + <usize>j * es, es);
    return;
  }
  if (typeClass(out.dtype) == CLASS_FLOAT) {
    const a = out.loadF64(pos);
    const b = upd.loadF64(j);
    let r: f64;
    if (red == R_ADD) r = a + b;
    else if (red == R_MUL) r = a * b;
    else if (red == R_MAX) r = a != a || b != b ? NaN : Math.max(a, b);
    else r = a != a || b != b ? NaN : Math.min(a, b);
    out.storeF64(pos, r);
    return;
  }
  const a = out.loadI64(pos);
  const b = upd.loadI64(j);
  const flip: i64 = out.dtype == UINT64 ? i64.MIN_VALUE : 0;
  let r: i64;
  if (red == R_ADD) r = a + b;
  else if (red == R_MUL) r = a * b;
  else if (red == R_MAX) r = (a ^ flip) >= (b ^ flip) ? a : b;
  else r = (a ^ flip) <= (b ^ flip) ? a : b;
  out.storeI64(pos, r);
}

function indexTensor(ctx: OpContext, i: i32): Tensor | null {
  const t = ctx.input(i, "indices");
  if (t === null) return null;
  if (!isIntegerType(t.dtype) || elementSize(t.dtype) < 4) {
    ctx.unsupportedType(t, "indices");
    return null;
  }
  return t;
}

/** An index normalized into [0, len), or -1 (with a model error). */
function normIndex(ctx: OpContext, v: i64, len: i32, axis: i32): i32 {
  if (v < -<i64>len || v >= <i64>len) {
    ctx.error("index " + v.toString() + " is out of range for axis " + axis.toString() + " of size " + len.toString());
    return -1;
  }
  return <i32>(v < 0 ? v + len : v);
}

function strides(dims: Array<i32>): StaticArray<i32> {
  const s = new StaticArray<i32>(max(dims.length, 1));
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/**
 * Walks every element of `dims` (row-major), calling back with its flat index and the flat
 * offset it has in a tensor of `target` dims with the `axis` coordinate replaced by the index
 * value read at the same element: the shared core of GatherElements and ScatterElements.
 */
function elementsOffsets(ctx: OpContext, ind: Tensor, target: Array<i32>, axis: i32): StaticArray<i32> | null {
  const r = ind.rank;
  const ts = strides(target);
  const offs = new StaticArray<i32>(ind.size);
  const idx = new StaticArray<i32>(max(r, 1));
  let base = 0; // offset in target of idx with idx[axis] = 0
  for (let e = 0; e < ind.size; e++) {
    const k = normIndex(ctx, ind.loadI64(e), target[axis], axis);
    if (k < 0) return null;
    offs[e] = base + k * ts[axis];
    for (let d = r - 1; d >= 0; d--) {
      const v = idx[d] + 1;
      if (v < ind.dims[d]) {
        idx[d] = v;
        if (d != axis) base += ts[d];
        break;
      }
      idx[d] = 0;
      if (d != axis) base -= ts[d] * (v - 1);
    }
  }
  return offs;
}

function checkElementsShapes(ctx: OpContext, data: Tensor, ind: Tensor, axis: i32): bool {
  if (ind.rank != data.rank) {
    ctx.error("indices must have the rank of data (" + data.rank.toString() + "), has shape " + dimsToString(ind.dims));
    return false;
  }
  for (let i = 0; i < data.rank; i++) {
    if (i != axis && ind.dims[i] > data.dims[i]) {
      ctx.error("indices shape " + dimsToString(ind.dims) + " exceeds data shape " + dimsToString(data.dims) + " on axis " + i.toString());
      return false;
    }
  }
  return true;
}

export function gatherElementsOp(ctx: OpContext): void {
  const data = ctx.input(0, "data");
  const ind = indexTensor(ctx, 1);
  if (data === null || ind === null) return;
  const a = ctx.attrInt("axis", 0);
  if (failed()) return;
  if (data.rank == 0) return ctx.error("data must have rank >= 1");
  const axis = ctx.axis(a, data.rank, "axis");
  if (failed() || !checkElementsShapes(ctx, data, ind, axis)) return;
  const out = newTensor(data.dtype, ind.dims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  if (data.dims[axis] == 0) return ctx.error("cannot gather from an empty axis");
  const offs = elementsOffsets(ctx, ind, data.dims, axis);
  if (offs === null) return;
  const es = <usize>elementSize(data.dtype);
  for (let e = 0; e < out.size; e++) memory.copy(out.ptr + <usize>e * es, data.ptr + <usize>offs[e] * es, es);
  ctx.setOutput(0, out);
}

/** ScatterElements (reduction from opset 16) and Scatter (opsets 9-10, no reduction). */
export function scatterElementsOp(ctx: OpContext): void {
  const data = ctx.input(0, "data");
  const ind = indexTensor(ctx, 1);
  const upd = ctx.input(2, "updates");
  if (data === null || ind === null || upd === null) return;
  const old = ctx.node.opType == "Scatter";
  if (old && ctx.opset >= 11) return ctx.error("Scatter was removed in opset 11 (use ScatterElements)");
  const a = ctx.attrInt("axis", 0);
  const red = old ? R_NONE : reductionOf(ctx, data);
  if (failed() || red < 0) return;
  if (upd.dtype != data.dtype) return ctx.error("updates has a different data type from data");
  if (data.rank == 0) return ctx.error("data must have rank >= 1");
  const axis = ctx.axis(a, data.rank, "axis");
  if (failed() || !checkElementsShapes(ctx, data, ind, axis)) return;
  if (dimsToString(upd.dims) != dimsToString(ind.dims)) return ctx.error("updates shape " + dimsToString(upd.dims) + " differs from indices shape " + dimsToString(ind.dims));
  const out = newTensor(data.dtype, data.dims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(data.dtype);
  memory.copy(out.ptr, data.ptr, <usize>data.byteLength);
  if (ind.size > 0) {
    const offs = elementsOffsets(ctx, ind, data.dims, axis);
    if (offs === null) return;
    for (let e = 0; e < ind.size; e++) combine(out, offs[e], upd, e, red, es);
  }
  ctx.setOutput(0, out);
}

/** Flat element offsets (into data) of the slices that the index tuples (ind's last axis) address. */
function ndOffsets(ctx: OpContext, data: Tensor, ind: Tensor, batchDims: i32): StaticArray<i32> | null {
  const q = ind.rank;
  const k = ind.dims[q - 1];
  const ds = strides(data.dims);
  let count = 1;
  for (let i = 0; i < q - 1; i++) count *= ind.dims[i];
  let perBatch = 1;
  for (let i = batchDims; i < q - 1; i++) perBatch *= ind.dims[i];
  const batchStride = batchDims > 0 ? ds[batchDims - 1] : 0;
  const result = new StaticArray<i32>(count);
  for (let t = 0; t < count; t++) {
    let off = (t / perBatch) * batchStride;
    for (let m = 0; m < k; m++) {
      const ax = batchDims + m;
      const v = normIndex(ctx, ind.loadI64(t * k + m), data.dims[ax], ax);
      if (v < 0) return null;
      off += v * ds[ax];
    }
    result[t] = off;
  }
  return result;
}

function checkNdShapes(ctx: OpContext, data: Tensor, ind: Tensor, b: i32): bool {
  const q = ind.rank;
  if (q < 1) {
    ctx.error("indices must have rank >= 1");
    return false;
  }
  if (b < 0 || b >= min(q, data.rank)) {
    ctx.error("batch_dims " + b.toString() + " must be less than the ranks of data and indices");
    return false;
  }
  for (let i = 0; i < b; i++) {
    if (ind.dims[i] != data.dims[i]) {
      ctx.error("batch dimension " + i.toString() + " differs: data " + dimsToString(data.dims) + ", indices " + dimsToString(ind.dims));
      return false;
    }
  }
  const k = ind.dims[q - 1];
  if (k > data.rank - b) {
    ctx.error("indices' last dimension " + k.toString() + " exceeds the data rank " + data.rank.toString() + " minus batch_dims");
    return false;
  }
  return true;
}

export function gatherNDOp(ctx: OpContext): void {
  const data = ctx.input(0, "data");
  const ind = indexTensor(ctx, 1);
  if (data === null || ind === null) return;
  const b = <i32>ctx.attrInt("batch_dims", 0);
  if (failed() || !checkNdShapes(ctx, data, ind, b)) return;
  const q = ind.rank;
  const k = ind.dims[q - 1];
  const outDims = new Array<i32>();
  for (let i = 0; i < q - 1; i++) outDims.push(ind.dims[i]);
  for (let i = b + k; i < data.rank; i++) outDims.push(data.dims[i]);
  if (outDims.length > MAX_RANK) return ctx.error("output rank " + outDims.length.toString() + " is too large");
  const out = newTensor(data.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const offs = ndOffsets(ctx, data, ind, b);
  if (offs === null) return;
  const es = <usize>elementSize(data.dtype);
  let slice = 1;
  for (let i = b + k; i < data.rank; i++) slice *= data.dims[i];
  const bytes = <usize>slice * es;
  for (let t = 0; t < offs.length; t++) memory.copy(out.ptr + <usize>t * bytes, data.ptr + <usize>offs[t] * es, bytes);
  ctx.setOutput(0, out);
}

export function scatterNDOp(ctx: OpContext): void {
  const data = ctx.input(0, "data");
  const ind = indexTensor(ctx, 1);
  const upd = ctx.input(2, "updates");
  if (data === null || ind === null || upd === null) return;
  const red = reductionOf(ctx, data);
  if (failed() || red < 0) return;
  if (upd.dtype != data.dtype) return ctx.error("updates has a different data type from data");
  if (!checkNdShapes(ctx, data, ind, 0)) return;
  const q = ind.rank;
  const k = ind.dims[q - 1];
  const want = new Array<i32>();
  for (let i = 0; i < q - 1; i++) want.push(ind.dims[i]);
  for (let i = k; i < data.rank; i++) want.push(data.dims[i]);
  if (dimsToString(want) != dimsToString(upd.dims)) return ctx.error("updates shape " + dimsToString(upd.dims) + " should be " + dimsToString(want));
  const out = newTensor(data.dtype, data.dims, "output of " + ctx.label());
  if (out === null) return;
  memory.copy(out.ptr, data.ptr, <usize>data.byteLength);
  if (upd.size > 0) {
    const offs = ndOffsets(ctx, data, ind, 0);
    if (offs === null) return;
    const es = <usize>elementSize(data.dtype);
    let slice = 1;
    for (let i = k; i < data.rank; i++) slice *= data.dims[i];
    for (let t = 0; t < offs.length; t++) {
      for (let j = 0; j < slice; j++) combine(out, offs[t] + j, upd, t * slice + j, red, es);
    }
  }
  ctx.setOutput(0, out);
}
