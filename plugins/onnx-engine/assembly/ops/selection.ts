// Selecting and ordering elements on every held type: TopK (largest/smallest, sorted, ties
// by lower index), NonZero, Unique (sorted or in first-occurrence order, with or without an
// axis), Compress.
import { failed } from "../errors";
import { BOOL, CLASS_FLOAT, INT64, MAX_RANK, Tensor, dimsToString, elementSize, isNumericType, newTensor, typeClass } from "../tensor";
import { OpContext } from "./context";
import { Order, compareElems, stableSort } from "./sort";

/** Elements base + k*stride of one TopK slice, largest or smallest first. */
class SliceValues extends Order {
  constructor(public t: Tensor, public base: i32, public stride: i32, public largest: bool) {
    super();
  }
  compare(a: i32, b: i32): i32 {
    const c = compareElems(this.t, this.base + a * this.stride, this.base + b * this.stride);
    return this.largest ? -c : c;
  }
}

export function topKOp(ctx: OpContext): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  if (!isNumericType(x.dtype)) return ctx.unsupportedType(x, "X");
  let kv: i64;
  if (ctx.opset < 10) {
    kv = ctx.attrInt("k", -1);
  } else {
    const kt = ctx.int64(1, "K", false);
    if (kt === null) return;
    if (kt.size != 1) return ctx.error("K must hold one value, has shape " + dimsToString(kt.dims));
    kv = kt.getI64(0);
  }
  const a = ctx.attrInt("axis", -1);
  const largest = ctx.opset >= 11 ? ctx.attrInt("largest", 1) != 0 : true;
  const sorted = ctx.opset >= 11 ? ctx.attrInt("sorted", 1) != 0 : true;
  if (failed()) return;
  if (x.rank == 0) return ctx.error("X must have rank >= 1");
  const axis = ctx.axis(a, x.rank, "axis");
  if (failed()) return;
  const len = x.dims[axis];
  if (kv < 0 || kv > <i64>len) return ctx.error("K " + kv.toString() + " is out of range for axis " + axis.toString() + " of size " + len.toString());
  const k = <i32>kv;
  const dims = x.dims.slice(0);
  dims[axis] = k;
  const values = newTensor(x.dtype, dims, "Values of " + ctx.label());
  const indices = newTensor(INT64, dims, "Indices of " + ctx.label());
  if (values === null || indices === null) return;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= x.dims[i];
  for (let i = axis + 1; i < x.rank; i++) inner *= x.dims[i];
  const es = <usize>elementSize(x.dtype);
  const idx = new StaticArray<i32>(len);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * len * inner + j;
      for (let i = 0; i < len; i++) idx[i] = i;
      stableSort(idx, new SliceValues(x, base, inner, largest));
      // sorted=0 keeps the chosen k in index order, as onnxruntime does
      const chosen = StaticArray.slice<i32>(idx, 0, k);
      if (!sorted) stableSort(chosen, new Ascending());
      for (let t = 0; t < k; t++) {
        const pos = (o * k + t) * inner + j;
        memory.copy(values.ptr + <usize>pos * es, x.ptr + <usize>(base + chosen[t] * inner) * es, es);
        indices.storeI64(pos, <i64>chosen[t]);
      }
    }
  }
  ctx.setOutput(0, values);
  ctx.setOutput(1, indices);
}

class Ascending extends Order {
  compare(a: i32, b: i32): i32 {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

/** True where element i of t is non-zero (NaN counts as non-zero). */
@inline function nonZeroAt(t: Tensor, i: i32): bool {
  return typeClass(t.dtype) == CLASS_FLOAT ? t.loadF64(i) != 0 : t.loadI64(i) != 0;
}

export function nonZeroOp(ctx: OpContext): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  if (!(isNumericType(x.dtype) || x.dtype == BOOL)) return ctx.unsupportedType(x, "X");
  let count = 0;
  for (let i = 0; i < x.size; i++) if (nonZeroAt(x, i)) count++;
  // a scalar is treated as shape [1], as onnxruntime does
  const r = max(x.rank, 1);
  const dims = x.rank == 0 ? [1] : x.dims;
  const out = newTensor(INT64, [r, count], "output of " + ctx.label());
  if (out === null) return;
  const idx = new StaticArray<i32>(r);
  let c = 0;
  for (let i = 0; i < x.size; i++) {
    if (nonZeroAt(x, i)) {
      for (let d = 0; d < r; d++) out.storeI64(d * count + c, <i64>idx[d]);
      c++;
    }
    for (let d = r - 1; d >= 0; d--) {
      const v = idx[d] + 1;
      if (v < dims[d]) {
        idx[d] = v;
        break;
      }
      idx[d] = 0;
    }
  }
  ctx.setOutput(0, out);
}

/** Slices of x along an axis (or single elements, flattened), compared lexicographically. */
class Slices extends Order {
  constructor(public t: Tensor, public outer: i32, public len: i32, public inner: i32) {
    super();
  }
  compare(a: i32, b: i32): i32 {
    for (let o = 0; o < this.outer; o++) {
      for (let j = 0; j < this.inner; j++) {
        const base = o * this.len * this.inner + j;
        const c = compareElems(this.t, base + a * this.inner, base + b * this.inner);
        if (c != 0) return c;
      }
    }
    return 0;
  }
}

/** X seen as [outer, len, inner] around its optional "axis" attribute; flattened (axis -1) without it. */
class AxisSplit {
  axis: i32 = -1;
  outer: i32 = 1;
  len: i32 = 0;
  inner: i32 = 1;
}

function optionalAxis(ctx: OpContext, x: Tensor, name: string): AxisSplit | null {
  const hasAxis = ctx.hasAttr("axis");
  const a = ctx.attrInt("axis", 0);
  if (failed()) return null;
  const split = new AxisSplit();
  split.len = x.size;
  if (!hasAxis) return split;
  if (x.rank == 0) {
    ctx.error(name + " must have rank >= 1 with an axis");
    return null;
  }
  const axis = ctx.axis(a, x.rank, "axis");
  if (failed()) return null;
  split.axis = axis;
  split.len = x.dims[axis];
  for (let i = 0; i < axis; i++) split.outer *= x.dims[i];
  for (let i = axis + 1; i < x.rank; i++) split.inner *= x.dims[i];
  return split;
}

export function uniqueOp(ctx: OpContext): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  if (!isNumericType(x.dtype)) return ctx.unsupportedType(x, "X");
  const sorted = ctx.attrInt("sorted", 1) != 0;
  const split = optionalAxis(ctx, x, "X");
  if (split === null) return;
  const hasAxis = split.axis >= 0;
  const axis = split.axis, outer = split.outer, len = split.len, inner = split.inner;
  const ord = new Slices(x, outer, len, inner);
  const idx = new StaticArray<i32>(len);
  for (let i = 0; i < len; i++) idx[i] = i;
  stableSort(idx, ord);
  // groups of equal slices; each group's first member (stable) is its first occurrence
  const groupOf = new StaticArray<i32>(len);
  const firsts = new Array<i32>();
  const counts = new Array<i32>();
  for (let i = 0; i < len; i++) {
    if (i == 0 || ord.compare(idx[i - 1], idx[i]) != 0) {
      firsts.push(idx[i]);
      counts.push(0);
    }
    groupOf[idx[i]] = firsts.length - 1;
    counts[counts.length - 1]++;
  }
  const u = firsts.length;
  // output order: sorted, or by first occurrence
  const order = new StaticArray<i32>(u);
  for (let g = 0; g < u; g++) order[g] = g;
  if (!sorted) stableSort(order, new ByFirst(firsts));
  const rank = new StaticArray<i32>(u);
  for (let p = 0; p < u; p++) rank[order[p]] = p;
  const ydims = hasAxis ? x.dims.slice(0) : [u];
  if (hasAxis) ydims[axis] = u;
  const y = newTensor(x.dtype, ydims, "Y of " + ctx.label());
  const indices = newTensor(INT64, [u], "indices of " + ctx.label());
  const inverse = newTensor(INT64, [len], "inverse_indices of " + ctx.label());
  const cnt = newTensor(INT64, [u], "counts of " + ctx.label());
  if (y === null || indices === null || inverse === null || cnt === null) return;
  const es = <usize>elementSize(x.dtype);
  for (let p = 0; p < u; p++) {
    const g = order[p];
    const src = firsts[g];
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        memory.copy(y.ptr + <usize>((o * u + p) * inner + j) * es, x.ptr + <usize>((o * len + src) * inner + j) * es, es);
      }
    }
    indices.storeI64(p, <i64>src);
    cnt.storeI64(p, <i64>counts[g]);
  }
  for (let i = 0; i < len; i++) inverse.storeI64(i, <i64>rank[groupOf[i]]);
  ctx.setOutput(0, y);
  ctx.setOutput(1, indices);
  ctx.setOutput(2, inverse);
  ctx.setOutput(3, cnt);
}

class ByFirst extends Order {
  constructor(public firsts: Array<i32>) {
    super();
  }
  compare(a: i32, b: i32): i32 {
    const x = this.firsts[a];
    const y = this.firsts[b];
    return x < y ? -1 : x > y ? 1 : 0;
  }
}

/** Compress: the slices along axis (or elements of the flattened input) where condition is true. */
export function compressOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const cond = ctx.input(1, "condition");
  if (x === null || cond === null) return;
  if (cond.dtype != BOOL) return ctx.unsupportedType(cond, "condition");
  if (cond.rank != 1) return ctx.error("condition must be 1-D, has shape " + dimsToString(cond.dims));
  const split = optionalAxis(ctx, x, "input");
  if (split === null) return;
  const hasAxis = split.axis >= 0;
  const axis = split.axis, outer = split.outer, len = split.len, inner = split.inner;
  if (cond.size > len) return ctx.error("condition has " + cond.size.toString() + " values, more than the " + len.toString() + " along the axis");
  const keep = new Array<i32>();
  for (let i = 0; i < cond.size; i++) if (load<u8>(cond.ptr + <usize>i) != 0) keep.push(i);
  const n = keep.length;
  const dims = hasAxis ? x.dims.slice(0) : [n];
  if (hasAxis) dims[axis] = n;
  if (dims.length > MAX_RANK) return ctx.error("rank too large");
  const out = newTensor(x.dtype, dims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(x.dtype);
  const block = <usize>inner * es;
  let p = out.ptr;
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < n; t++) {
      memory.copy(p, x.ptr + <usize>(o * len + keep[t]) * block, block);
      p += block;
    }
  }
  ctx.setOutput(0, out);
}

/** ReverseSequence: reverses the first sequence_lens[b] steps along time_axis for each batch b. */
export function reverseSequenceOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const lens = ctx.input(1, "sequence_lens");
  if (x === null || lens === null) return;
  if (lens.dtype != INT64) return ctx.unsupportedType(lens, "sequence_lens");
  const ba = ctx.attrInt("batch_axis", 1);
  const ta = ctx.attrInt("time_axis", 0);
  if (failed()) return;
  if (x.rank < 2) return ctx.error("input must have rank >= 2, has shape " + dimsToString(x.dims));
  if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0))) return ctx.error("batch_axis and time_axis must be 0 and 1 in some order");
  const bAxis = <i32>ba;
  const tAxis = <i32>ta;
  const nb = x.dims[bAxis];
  const nt = x.dims[tAxis];
  if (lens.rank != 1 || lens.dims[0] != nb) return ctx.error("sequence_lens must have shape [" + nb.toString() + "], has " + dimsToString(lens.dims));
  const out = newTensor(x.dtype, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(x.dtype);
  let inner = 1;
  for (let i = 2; i < x.rank; i++) inner *= x.dims[i];
  const block = <usize>inner * es;
  for (let b = 0; b < nb; b++) {
    const l = lens.getI64(b);
    if (l < 0 || l > <i64>nt) return ctx.error("sequence_lens value " + l.toString() + " is out of range for " + nt.toString() + " steps");
    for (let t = 0; t < nt; t++) {
      const src = <i64>t < l ? <i32>l - 1 - t : t;
      const o = bAxis == 0 ? b * nt + t : t * nb + b;
      const s = bAxis == 0 ? b * nt + src : src * nb + b;
      memory.copy(out.ptr + <usize>o * block, x.ptr + <usize>s * block, block);
    }
  }
  ctx.setOutput(0, out);
}
