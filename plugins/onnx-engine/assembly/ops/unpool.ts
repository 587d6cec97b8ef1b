// MaxUnpool: scatters each value to the flat position its MaxPool index names, in a zeroed
// tensor of the inferred shape ((in - 1) * stride - pads + kernel). An output_shape that
// differs from the inferred one is refused: onnxruntime and the ONNX reference place the
// values differently there.
import { failed, unsupported } from "../errors";
import { INT64, dimsToString, elementSize, newTensor } from "../tensor";
import { OpContext } from "./context";

export function maxUnpoolOp(ctx: OpContext): void {
  const x = ctx.input(0, "X");
  const ind = ctx.input(1, "I");
  if (x === null || ind === null) return;
  if (ind.dtype != INT64) return ctx.unsupportedType(ind, "I");
  const kernel = ctx.attrInts("kernel_shape");
  const pads = ctx.attrInts("pads");
  const strides = ctx.attrInts("strides");
  if (failed()) return;
  const r = x.rank;
  const sp = r - 2;
  if (sp < 1) return ctx.error("X must have rank >= 3, has shape " + dimsToString(x.dims));
  if (kernel === null || kernel.length != sp) return ctx.error("kernel_shape must have " + sp.toString() + " values");
  if (pads !== null && pads.length != 2 * sp) return ctx.error("pads must have " + (2 * sp).toString() + " values");
  if (strides !== null && strides.length != sp) return ctx.error("strides must have " + sp.toString() + " values");
  if (dimsToString(ind.dims) != dimsToString(x.dims)) return ctx.error("I shape " + dimsToString(ind.dims) + " differs from X shape " + dimsToString(x.dims));
  const dims = [x.dims[0], x.dims[1]];
  for (let d = 0; d < sp; d++) {
    const s = strides !== null ? strides[d] : 1;
    const p = pads !== null ? pads[d] + pads[sp + d] : 0;
    const v = <i64>(x.dims[d + 2] - 1) * s - p + kernel[d];
    if (v < 0 || v > 0x7fffffff) return ctx.error("inferred output dimension " + v.toString() + " is out of range");
    dims.push(<i32>v);
  }
  const shapeT = ctx.optional(2);
  if (shapeT !== null) {
    if (shapeT.dtype != INT64) return ctx.unsupportedType(shapeT, "output_shape");
    let same = shapeT.size == r;
    for (let i = 0; same && i < r; i++) same = shapeT.getI64(i) == <i64>dims[i];
    if (!same) return unsupported("an output_shape other than the inferred " + dimsToString(dims) + " for " + ctx.where() + " (onnxruntime and the ONNX reference disagree on it)");
  }
  const out = newTensor(x.dtype, dims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(x.dtype);
  for (let e = 0; e < x.size; e++) {
    const k = ind.getI64(e);
    if (k < 0 || k >= <i64>out.size) return ctx.error("index " + k.toString() + " is out of range for an output of " + out.size.toString() + " elements");
    memory.copy(out.ptr + <usize>k * es, x.ptr + <usize>e * es, es);
  }
  ctx.setOutput(0, out);
}
