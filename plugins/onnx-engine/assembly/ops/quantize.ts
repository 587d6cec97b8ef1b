// QuantizeLinear, DequantizeLinear (per tensor; per axis from opset 13; blocked from 21) and
// DynamicQuantizeLinear. Rounding is half to even (f32.nearest), as onnxruntime's kernels do,
// and quantized values saturate to the output type's range.
import { failed, unsupported } from "../errors";
import { FLOAT, INT32, INT8, Tensor, UINT8, dimsToString, newTensor, product, typeName } from "../tensor";
import { OpContext } from "./context";

/** How each element of x finds its scale and zero point: view x as [outer, len, inner] around the axis. */
class QuantLayout {
  perTensor: bool = true;
  outer: i32 = 1;
  len: i32 = 1;
  inner: i32 = 1;
  block: i32 = 0; // 0: per axis (one scale per index along the axis); > 0: blocks of this length
  blocks: i32 = 1; // scales along the axis when blocked
}

// @ts-ignore: decorator
@inline function qmin(t: i32): f32 {
  return t == INT8 ? -128 : 0;
}

// @ts-ignore: decorator
@inline function qmax(t: i32): f32 {
  return t == INT8 ? 127 : 255;
}

/** A uint8, int8 or int32 element as i32. */
export function loadQ(t: Tensor, i: i32): i32 {
  if (t.dtype == UINT8) return <i32>load<u8>(t.ptr + <usize>i);
  if (t.dtype == INT8) return <i32>load<i8>(t.ptr + <usize>i);
  return load<i32>(t.ptr + (<usize>i << 2));
}

/** Resolves how the scale (and zero point, checked to have the same shape) apply to x. */
function layout(ctx: OpContext, x: Tensor, scale: Tensor, zp: Tensor | null): QuantLayout | null {
  const l = new QuantLayout();
  if (zp !== null && dimsToString(zp.dims) != dimsToString(scale.dims)) {
    ctx.error("zero point shape " + dimsToString(zp.dims) + " does not match scale shape " + dimsToString(scale.dims));
    return null;
  }
  const axisAttr = ctx.opset >= 13 ? ctx.attrInt("axis", 1) : 1;
  const block64 = ctx.opset >= 21 ? ctx.attrInt("block_size", 0) : 0;
  if (failed()) return null;
  if (block64 < 0) {
    ctx.error("block_size must be >= 0, is " + block64.toString());
    return null;
  }
  if (scale.size == 1 && scale.rank <= 1 && block64 == 0) {
    l.inner = x.size;
    return l;
  }
  if (ctx.opset < 13) {
    ctx.error("scale must be a scalar before opset 13, has shape " + dimsToString(scale.dims));
    return null;
  }
  if (x.rank == 0) {
    ctx.error("a scalar x needs a scalar scale, has shape " + dimsToString(scale.dims));
    return null;
  }
  const axis = ctx.axis(axisAttr, x.rank, "axis");
  if (failed()) return null;
  l.perTensor = false;
  l.outer = product(x.dims, 0, axis);
  l.len = x.dims[axis];
  l.inner = product(x.dims, axis + 1, x.rank);
  if (block64 == 0) {
    if (scale.rank != 1 || scale.dims[0] != l.len) {
      ctx.error("per-axis scale must have shape [" + l.len.toString() + "] (axis " + axis.toString() + " of x " + dimsToString(x.dims) + "), has " + dimsToString(scale.dims));
      return null;
    }
    return l;
  }
  if (block64 > 0x7fffffff) {
    ctx.error("block_size " + block64.toString() + " is too large");
    return null;
  }
  l.block = <i32>block64;
  l.blocks = (l.len + l.block - 1) / l.block;
  let ok = scale.rank == x.rank;
  for (let d = 0; ok && d < x.rank; d++) ok = scale.dims[d] == (d == axis ? l.blocks : x.dims[d]);
  if (!ok) {
    ctx.error("blocked scale shape " + dimsToString(scale.dims) + " does not match x " + dimsToString(x.dims) + " with block_size " + l.block.toString() + " on axis " + axis.toString());
    return null;
  }
  return l;
}

/** The scale / zero point index of element (o, j, i) of the [outer, len, inner] view. */
// @ts-ignore: decorator
@inline function paramIndex(l: QuantLayout, o: i32, j: i32, i: i32): i32 {
  if (l.perTensor) return 0;
  if (l.block == 0) return j;
  return (o * l.blocks + j / l.block) * l.inner + i;
}

// @ts-ignore: decorator
@inline function quantizeValue(v: f32, scale: f32, zp: f32, lo: f32, hi: f32): f32 {
  const q = f32.nearest(v / scale) + zp;
  return q < lo ? lo : q > hi ? hi : q; // NaN saturates to lo (onnxruntime's max/min order)
}

export function quantizeLinearOp(ctx: OpContext): void {
  const x = ctx.float(0, "x");
  const scale = ctx.float(1, "y_scale");
  if (x === null || scale === null) return;
  const zp = ctx.optional(2);
  if (failed()) return;
  let outType = UINT8;
  if (zp !== null) outType = zp.dtype;
  else if (ctx.opset >= 21) {
    const od = ctx.attrInt("output_dtype", 0);
    if (failed()) return;
    if (od != 0) outType = <i32>od;
  }
  if (zp !== null && ctx.opset >= 21 && ctx.hasAttr("output_dtype")) {
    const od = ctx.attrInt("output_dtype", 0);
    if (failed()) return;
    if (od != 0 && <i32>od != zp.dtype) return ctx.error("output_dtype " + typeName(<i32>od) + " does not match y_zero_point type " + typeName(zp.dtype));
  }
  if (outType != UINT8 && outType != INT8) {
    if (zp !== null) return ctx.unsupportedType(zp, "y_zero_point");
    return ctx.unsupportedAttr("output_dtype", typeName(outType));
  }
  if (ctx.opset >= 23) {
    const precision = ctx.attrInt("precision", 0);
    if (failed()) return;
    if (precision != 0 && <i32>precision != FLOAT) return ctx.unsupportedAttr("precision", typeName(<i32>precision) + " (float32 only)");
  }
  const l = layout(ctx, x, scale, zp);
  if (l === null) return;
  const out = newTensor(outType, x.dims, "output of " + ctx.label());
  if (out === null) return;
  const lo = qmin(outType);
  const hi = qmax(outType);
  let e = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let j = 0; j < l.len; j++) {
      for (let i = 0; i < l.inner; i++, e++) {
        const p = paramIndex(l, o, j, i);
        const z: f32 = zp === null ? 0 : <f32>loadQ(zp, p);
        const q = quantizeValue(x.getF32(e), scale.getF32(p), z, lo, hi);
        if (outType == UINT8) store<u8>(out.ptr + <usize>e, <u8>(<i32>q));
        else store<i8>(out.ptr + <usize>e, <i8>(<i32>q));
      }
    }
  }
  ctx.setOutput(0, out);
}

export function dequantizeLinearOp(ctx: OpContext): void {
  const x = ctx.input(0, "x");
  const scale = ctx.float(1, "x_scale");
  if (x === null || scale === null) return;
  if (x.dtype != UINT8 && x.dtype != INT8 && x.dtype != INT32) return ctx.unsupportedType(x, "x");
  const zp = ctx.optional(2);
  if (failed()) return;
  if (zp !== null && zp.dtype != x.dtype) return ctx.error("x_zero_point type " + typeName(zp.dtype) + " differs from x type " + typeName(x.dtype));
  if (ctx.opset >= 23) {
    const od = ctx.attrInt("output_dtype", 0);
    if (failed()) return;
    if (od != 0 && <i32>od != FLOAT) return ctx.unsupportedAttr("output_dtype", typeName(<i32>od) + " (float32 only)");
  }
  const l = layout(ctx, x, scale, zp);
  if (l === null) return;
  if (x.dtype == INT32 && zp !== null) {
    for (let i = 0; i < zp.size; i++) if (loadQ(zp, i) != 0) return ctx.error("an int32 x needs a zero x_zero_point");
  }
  const out = newTensor(FLOAT, x.dims, "output of " + ctx.label());
  if (out === null) return;
  let e = 0;
  for (let o = 0; o < l.outer; o++) {
    for (let j = 0; j < l.len; j++) {
      for (let i = 0; i < l.inner; i++, e++) {
        const p = paramIndex(l, o, j, i);
        const z = zp === null ? 0 : loadQ(zp, p);
        store<f32>(out.ptr + (<usize>e << 2), <f32>(loadQ(x, e) - z) * scale.getF32(p));
      }
    }
  }
  ctx.setOutput(0, out);
}

/** uint8 quantization of x with a scale and zero point chosen to cover [min(x, 0), max(x, 0)]. */
export function dynamicQuantizeLinearOp(ctx: OpContext): void {
  const x = ctx.float(0, "x");
  if (x === null) return;
  let lo: f32 = 0;
  let hi: f32 = 0;
  for (let i = 0; i < x.size; i++) {
    const v = x.getF32(i);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale: f32 = hi == lo ? 1 : (hi - lo) / 255;
  const initialZp: f32 = 0 - lo / scale;
  const zp: f32 = f32.nearest(initialZp < 0 ? 0 : initialZp > 255 ? 255 : initialZp);
  const y = newTensor(UINT8, x.dims, "output y of " + ctx.label());
  if (y === null) return;
  for (let i = 0; i < x.size; i++) store<u8>(y.ptr + <usize>i, <u8>(<i32>quantizeValue(x.getF32(i), scale, zp, 0, 255)));
  const s = newTensor(FLOAT, [], "y_scale");
  const z = newTensor(UINT8, [], "y_zero_point");
  if (s === null || z === null) return;
  store<f32>(s.ptr, scale);
  store<u8>(z.ptr, <u8>(<i32>zp));
  ctx.setOutput(0, y);
  ctx.setOutput(1, s);
  ctx.setOutput(2, z);
}

/** Checks that a quantized input is uint8 or int8. */
export function quantized(ctx: OpContext, t: Tensor | null, name: string): bool {
  if (t === null || failed()) return false;
  if (t.dtype != UINT8 && t.dtype != INT8) {
    unsupported("data type " + typeName(t.dtype) + " for input " + name + " of " + ctx.label() + " (uint8 or int8)");
    return false;
  }
  return true;
}

