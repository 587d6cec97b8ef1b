// Window functions (opset 17): HannWindow, HammingWindow, BlackmanWindow, periodic or
// symmetric, in any float or integer output_datatype (computed in f64).
import { failed, unsupported } from "../errors";
import { FLOAT, dimsToString, isIntegerType, isNumericType, newTensor } from "../tensor";
import { OpContext } from "./context";

export const HANN: i32 = 0;
export const HAMMING: i32 = 1;
export const BLACKMAN: i32 = 2;

export function windowOp(ctx: OpContext, kind: i32): void {
  const st = ctx.input(0, "size");
  if (st === null) return;
  if (!isIntegerType(st.dtype)) return ctx.unsupportedType(st, "size");
  if (st.size != 1) return ctx.error("size must be a scalar, has shape " + dimsToString(st.dims));
  const dtype = <i32>ctx.attrInt("output_datatype", FLOAT);
  const periodic = ctx.attrInt("periodic", 1) != 0;
  if (failed()) return;
  if (!isNumericType(dtype)) return unsupported("data type " + dtype.toString() + " as the output_datatype of " + ctx.label());
  const size = st.loadI64(0);
  if (size < 0 || size > 0x7fffffff) return ctx.error("size " + size.toString() + " is out of range");
  const n = <i32>size;
  const out = newTensor(dtype, [n], "output of " + ctx.label());
  if (out === null) return;
  const denom = <f64>(periodic ? n : n - 1);
  for (let i = 0; i < n; i++) {
    const x = denom > 0 ? (2 * Math.PI * <f64>i) / denom : 0;
    let v: f64;
    if (kind == HANN) v = 0.5 - 0.5 * Math.cos(x);
    else if (kind == HAMMING) v = 25.0 / 46.0 - (21.0 / 46.0) * Math.cos(x);
    else v = 0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x);
    out.storeF64(i, v);
  }
  ctx.setOutput(0, out);
}
