// Data-movement ops. They work on any data type the engine holds (by element size):
// Reshape, Flatten, Transpose, Concat, Squeeze, Unsqueeze, Identity, Constant, Dropout, Shape.
import { failed, unsupported } from "../errors";
import { ATTR_FLOAT, ATTR_FLOATS, ATTR_INT, ATTR_INTS, ATTR_TENSOR } from "../onnx/model";
import { BOOL, DOUBLE, FLOAT, INT64, MAX_RANK, Tensor, dimsToString, elementSize, newTensor, product, shapeFitsI32 } from "../tensor";
import { OpContext } from "./context";

export function identityOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  ctx.setOutput(0, x);
}

export function reshapeOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  let shape: Array<i64> | null;
  if (ctx.opset < 5) {
    shape = ctx.attrInts("shape");
    if (failed()) return;
    if (shape === null) return ctx.error("attribute shape is required");
  } else {
    const st = ctx.int64(1, "shape", false);
    if (st === null) return;
    shape = ctx.int64Values(st, "shape");
    if (shape === null) return;
  }
  const allowZero = ctx.opset >= 14 ? ctx.attrInt("allowzero", 0) != 0 : false;
  if (failed()) return;
  if (shape.length > MAX_RANK) return unsupported("rank " + shape.length.toString() + " in " + ctx.label());
  const dims = new Array<i32>(shape.length);
  let inferAt = -1;
  let known: i64 = 1;
  let hasZero = false;
  let nonZero: i64 = 1;
  for (let i = 0; i < shape.length; i++) {
    let v = shape[i];
    if (v == -1) {
      if (inferAt >= 0) return ctx.error("shape has more than one -1");
      inferAt = i;
      continue;
    }
    if (v == 0 && !allowZero) {
      if (i >= x.rank) return ctx.error("shape[" + i.toString() + "] = 0 copies a dimension the input (shape " + dimsToString(x.dims) + ") does not have");
      v = <i64>x.dims[i];
    } else if (v == 0) {
      hasZero = true;
    }
    if (v < 0 || v > 0x7fffffff) return ctx.error("shape has invalid value " + v.toString());
    dims[i] = <i32>v;
    known *= v;
    if (v > 0) nonZero *= v;
    if (known > 0x7fffffff || !shapeFitsI32(nonZero)) return ctx.error("shape has too many elements");
  }
  if (inferAt >= 0) {
    if (hasZero) return ctx.error("shape has both -1 and 0 with allowzero=1");
    if (known == 0 || <i64>x.size % known != 0) return ctx.error("cannot infer -1: input " + dimsToString(x.dims) + " does not fit shape with known product " + known.toString());
    dims[inferAt] = <i32>(<i64>x.size / known);
    known *= <i64>dims[inferAt];
    if (dims[inferAt] > 0 && !shapeFitsI32(nonZero * <i64>dims[inferAt])) return ctx.error("shape has too many elements");
  }
  if (known != <i64>x.size) return ctx.error("cannot reshape " + dimsToString(x.dims) + " to " + dimsToString(dims));
  ctx.setOutput(0, x.reshaped(dims));
}

export function flattenOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const r = x.rank;
  let axis = ctx.attrInt("axis", 1);
  if (failed()) return;
  if (axis < -<i64>r || axis > <i64>r) return ctx.error("axis " + axis.toString() + " is out of range for rank " + r.toString());
  if (axis < 0) axis += r;
  const a = <i32>axis;
  ctx.setOutput(0, x.reshaped([product(x.dims, 0, a), product(x.dims, a, r)]));
}

/** Copies elements of size es from src (dims, permuted by perm) into dst in output order. */
function transposeInto(x: Tensor, perm: StaticArray<i32>, outDims: Array<i32>, dst: usize): void {
  const r = x.rank;
  const es = <usize>elementSize(x.dtype);
  if (x.size == 0) return;
  if (r == 0) {
    memory.copy(dst, x.ptr, es);
    return;
  }
  const inStrides = new StaticArray<i32>(r);
  let st = 1;
  for (let i = r - 1; i >= 0; i--) {
    inStrides[i] = st;
    st *= x.dims[i];
  }
  const strides = new StaticArray<i32>(r); // input stride of each output dim
  for (let i = 0; i < r; i++) strides[i] = inStrides[perm[i]];
  const inner = outDims[r - 1];
  const innerStride = <usize>strides[r - 1] * es;
  const outer = x.size / inner;
  const idx = new StaticArray<i32>(r);
  let off = 0;
  let p = dst;
  const src = x.ptr;
  for (let o = 0; o < outer; o++) {
    let q = src + <usize>off * es;
    if (es == 4) {
      for (let i = 0; i < inner; i++, p += 4, q += innerStride) store<u32>(p, load<u32>(q));
    } else if (es == 8) {
      for (let i = 0; i < inner; i++, p += 8, q += innerStride) store<u64>(p, load<u64>(q));
    } else if (es == 2) {
      for (let i = 0; i < inner; i++, p += 2, q += innerStride) store<u16>(p, load<u16>(q));
    } else {
      for (let i = 0; i < inner; i++, p += 1, q += innerStride) store<u8>(p, load<u8>(q));
    }
    for (let d = r - 2; d >= 0; d--) {
      const v = idx[d] + 1;
      if (v < outDims[d]) {
        idx[d] = v;
        off += strides[d];
        break;
      }
      idx[d] = 0;
      off -= strides[d] * (v - 1);
    }
  }
}

export function transposeOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const r = x.rank;
  const perm = new StaticArray<i32>(r);
  const p = ctx.attrInts("perm");
  if (failed()) return;
  if (p === null) {
    for (let i = 0; i < r; i++) perm[i] = r - 1 - i;
  } else {
    if (p.length != r) return ctx.error("perm has " + p.length.toString() + " entries for rank " + r.toString());
    const seen = new StaticArray<bool>(r);
    for (let i = 0; i < r; i++) {
      const v = p[i];
      if (v < 0 || v >= <i64>r || seen[<i32>v]) return ctx.error("perm is not a permutation of 0.." + (r - 1).toString());
      seen[<i32>v] = true;
      perm[i] = <i32>v;
    }
  }
  const outDims = new Array<i32>(r);
  for (let i = 0; i < r; i++) outDims[i] = x.dims[perm[i]];
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  transposeInto(x, perm, outDims, out.ptr);
  ctx.setOutput(0, out);
}

export function concatOp(ctx: OpContext): void {
  const n = ctx.inputCount;
  if (n == 0) return ctx.error("needs at least one input");
  const first = ctx.input(0, "inputs[0]");
  if (first === null) return;
  const r = first.rank;
  if (r == 0) return ctx.error("inputs must have rank >= 1");
  const axisAttr = ctx.opset < 4 ? ctx.attrInt("axis", 1) : ctx.attrInt("axis", i64.MIN_VALUE);
  if (failed()) return;
  if (axisAttr == i64.MIN_VALUE) return ctx.error("attribute axis is required");
  const axis = ctx.axis(axisAttr, r, "axis");
  if (failed()) return;
  const dims = first.dims.slice(0);
  let total: i64 = 0;
  for (let i = 0; i < n; i++) {
    const t = ctx.input(i, "inputs[" + i.toString() + "]");
    if (t === null) return;
    if (t.dtype != first.dtype) return ctx.error("inputs have different data types");
    if (t.rank != r) return ctx.error("inputs have different ranks");
    for (let d = 0; d < r; d++) {
      if (d != axis && t.dims[d] != dims[d]) return ctx.error("input shapes " + dimsToString(first.dims) + " and " + dimsToString(t.dims) + " differ outside axis " + axis.toString());
    }
    total += <i64>t.dims[axis];
  }
  if (total > 0x7fffffff) return ctx.error("output too large");
  dims[axis] = <i32>total;
  const out = newTensor(first.dtype, dims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const es = elementSize(first.dtype);
  const outer = product(dims, 0, axis);
  const inner = product(dims, axis + 1, r);
  let p = out.ptr;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < n; i++) {
      const t = ctx.inputs[i]!;
      const block = <usize>t.dims[axis] * <usize>inner * <usize>es;
      memory.copy(p, t.ptr + <usize>o * block, block);
      p += block;
    }
  }
  ctx.setOutput(0, out);
}

/** Axes from the attribute (before opset 13) or the optional int64 input (from 13). */
function axesOf(ctx: OpContext, required: bool): Array<i64> | null {
  if (ctx.opset < 13) {
    const a = ctx.attrInts("axes");
    if (failed()) return null;
    if (a === null && required) ctx.error("attribute axes is required");
    return a;
  }
  const t = ctx.int64(1, "axes", !required);
  if (t === null) return null;
  return ctx.int64Values(t, "axes");
}

export function squeezeOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const axes = axesOf(ctx, false);
  if (failed()) return;
  const r = x.rank;
  const drop = new StaticArray<bool>(r);
  if (axes === null || axes.length == 0) {
    for (let i = 0; i < r; i++) drop[i] = x.dims[i] == 1;
  } else {
    for (let i = 0; i < axes.length; i++) {
      const a = ctx.axis(axes[i], r, "axes value");
      if (failed()) return;
      if (x.dims[a] != 1) return ctx.error("cannot squeeze axis " + a.toString() + " of shape " + dimsToString(x.dims) + " (size is not 1)");
      drop[a] = true;
    }
  }
  const dims = new Array<i32>();
  for (let i = 0; i < r; i++) if (!drop[i]) dims.push(x.dims[i]);
  ctx.setOutput(0, x.reshaped(dims));
}

export function unsqueezeOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const axes = axesOf(ctx, true);
  if (axes === null) return;
  const r = x.rank + axes.length;
  if (r > MAX_RANK) return unsupported("rank " + r.toString() + " in " + ctx.label());
  const insert = new StaticArray<bool>(r);
  for (let i = 0; i < axes.length; i++) {
    const a = ctx.axis(axes[i], r, "axes value");
    if (failed()) return;
    if (insert[a]) return ctx.error("axes has a duplicate value " + axes[i].toString());
    insert[a] = true;
  }
  const dims = new Array<i32>(r);
  let j = 0;
  for (let i = 0; i < r; i++) dims[i] = insert[i] ? 1 : x.dims[j++];
  ctx.setOutput(0, x.reshaped(dims));
}

export function constantOp(ctx: OpContext): void {
  const node = ctx.node;
  let result: Tensor | null = null;
  let count = 0;
  for (let i = 0; i < node.attributes.length; i++) {
    const a = node.attributes[i];
    const name = a.name;
    if (name == "value") {
      count++;
      if (a.type != ATTR_TENSOR || a.t === null) return ctx.error("attribute value must be a tensor");
      result = a.t;
    } else if (name == "value_float") {
      count++;
      if (a.type != ATTR_FLOAT) return ctx.error("attribute value_float must be a FLOAT");
      const t = new Tensor(FLOAT, new Array<i32>(), 1, new ArrayBuffer(4));
      store<f32>(t.ptr, a.f);
      result = t;
    } else if (name == "value_floats") {
      count++;
      if (a.type != ATTR_FLOATS) return ctx.error("attribute value_floats must be FLOATS");
      const n = a.floats.length;
      const t = new Tensor(FLOAT, [n], n, new ArrayBuffer(n * 4));
      for (let k = 0; k < n; k++) store<f32>(t.ptr + (<usize>k << 2), a.floats[k]);
      result = t;
    } else if (name == "value_int") {
      count++;
      if (a.type != ATTR_INT) return ctx.error("attribute value_int must be an INT");
      const t = new Tensor(INT64, new Array<i32>(), 1, new ArrayBuffer(8));
      store<i64>(t.ptr, a.i);
      result = t;
    } else if (name == "value_ints") {
      count++;
      if (a.type != ATTR_INTS) return ctx.error("attribute value_ints must be INTS");
      const n = a.ints.length;
      const t = new Tensor(INT64, [n], n, new ArrayBuffer(n * 8));
      for (let k = 0; k < n; k++) store<i64>(t.ptr + (<usize>k << 3), a.ints[k]);
      result = t;
    } else if (name == "value_string" || name == "value_strings" || name == "sparse_value") {
      return ctx.unsupportedAttr(name, "(" + (name == "sparse_value" ? "sparse tensors" : "strings") + " are not supported)");
    }
  }
  if (count != 1 || result === null) return ctx.error("needs exactly one value attribute, has " + count.toString());
  ctx.setOutput(0, result);
}

export function dropoutOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  if (x.dtype != FLOAT && x.dtype != DOUBLE) return ctx.unsupportedType(x, "data");
  if (ctx.opset >= 12) {
    const ratio = ctx.optional(1);
    const mode = ctx.optional(2);
    if (mode !== null) {
      if (mode.dtype != BOOL) return ctx.unsupportedType(mode, "training_mode");
      if (mode.size != 1) return ctx.error("training_mode must be a scalar");
      if (load<u8>(mode.ptr) != 0) {
        let r: f64 = 0.5;
        if (ratio !== null) {
          if (ratio.size != 1) return ctx.error("ratio must be a scalar");
          if (ratio.dtype == FLOAT) r = <f64>ratio.getF32(0);
          else if (ratio.dtype == DOUBLE) r = load<f64>(ratio.ptr);
          else return ctx.unsupportedType(ratio, "ratio");
        }
        // with ratio 0 training mode drops nothing: still the identity
        if (r != 0) return unsupported("training_mode=true with ratio " + r.toString() + " in " + ctx.label() + " (random dropout is not implemented; inference only)");
      }
    }
  }
  ctx.setOutput(0, x);
  if (ctx.wantsOutput(1)) {
    // opset >= 10: bool mask; before, the mask has the input's type
    const maskType = ctx.opset >= 10 ? BOOL : x.dtype;
    const mask = newTensor(maskType, x.dims, "mask of " + ctx.label());
    if (mask === null) return;
    if (maskType == BOOL) memory.fill(mask.ptr, 1, <usize>mask.size);
    else if (maskType == FLOAT) for (let i = 0; i < mask.size; i++) store<f32>(mask.ptr + (<usize>i << 2), 1);
    else for (let i = 0; i < mask.size; i++) store<f64>(mask.ptr + (<usize>i << 3), 1);
    ctx.setOutput(1, mask);
  }
}

export function shapeOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const r = x.rank;
  let start: i64 = 0;
  let end: i64 = r;
  if (ctx.opset >= 15) {
    start = ctx.attrInt("start", 0);
    end = ctx.attrInt("end", r);
    if (failed()) return;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = min(max(start, 0), <i64>r);
    end = min(max(end, 0), <i64>r);
  }
  const n = end > start ? <i32>(end - start) : 0;
  const out = new Tensor(INT64, [n], n, new ArrayBuffer(n * 8));
  for (let i = 0; i < n; i++) store<i64>(out.ptr + (<usize>i << 3), <i64>x.dims[<i32>start + i]);
  ctx.setOutput(0, out);
}
