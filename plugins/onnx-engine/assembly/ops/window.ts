// Sliding-window geometry shared by Conv and the pooling ops: kernel, strides, dilations,
// pads (explicit or auto_pad), ceil_mode and output sizes. 1-D and 2-D problems are
// padded to 3-D with size-1 dimensions so one set of loops serves all ranks.
import { failed, unsupported } from "../errors";
import { OpContext } from "./context";

export class Window {
  spatial: i32 = 0; // number of real spatial dims (1..3)
  inDims: StaticArray<i32> = [1, 1, 1];
  kernel: StaticArray<i32> = [1, 1, 1];
  strides: StaticArray<i32> = [1, 1, 1];
  dilations: StaticArray<i32> = [1, 1, 1];
  padBegin: StaticArray<i32> = [0, 0, 0];
  padEnd: StaticArray<i32> = [0, 0, 0];
  outDims: StaticArray<i32> = [1, 1, 1];

  get inSize(): i32 {
    return this.inDims[0] * this.inDims[1] * this.inDims[2];
  }
  get outSize(): i32 {
    return this.outDims[0] * this.outDims[1] * this.outDims[2];
  }
  get kernelSize(): i32 {
    return this.kernel[0] * this.kernel[1] * this.kernel[2];
  }
}

/** Attribute `name` as `n` values in [min, 2^31), or `def` for each when absent; null after an error naming the attribute. */
export function ints(ctx: OpContext, name: string, n: i32, def: i32, min: i32): StaticArray<i32> | null {
  const out = new StaticArray<i32>(n);
  const a = ctx.attrInts(name);
  if (failed()) return null;
  if (a === null) {
    for (let i = 0; i < n; i++) out[i] = def;
    return out;
  }
  if (a.length != n) {
    ctx.error("attribute " + name + " has " + a.length.toString() + " values, expected " + n.toString());
    return null;
  }
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (v < <i64>min || v > 0x7fffffff) {
      ctx.error("attribute " + name + " has invalid value " + v.toString());
      return null;
    }
    out[i] = <i32>v;
  }
  return out;
}

/**
 * Resolves the window for input spatial dims `inSpatial` and kernel `kernel` (length 1..3).
 * `ceilMode` applies to pooling; `allowDilations` is false where the attribute does not exist.
 */
export function resolveWindow(ctx: OpContext, inSpatial: Array<i32>, kernel: StaticArray<i32>, ceilMode: bool, allowDilations: bool): Window | null {
  const s = inSpatial.length;
  const w = new Window();
  w.spatial = s;
  const off = 3 - s;
  const strides = ints(ctx, "strides", s, 1, 1);
  if (strides === null) return null;
  let dilations: StaticArray<i32> | null = null;
  if (allowDilations) {
    dilations = ints(ctx, "dilations", s, 1, 1);
    if (dilations === null) return null;
  } else if (ctx.hasAttr("dilations")) {
    const d = ints(ctx, "dilations", s, 1, 1);
    if (d === null) return null;
    for (let i = 0; i < s; i++) {
      if (d[i] != 1) {
        ctx.unsupportedAttr("dilations", d[i].toString() + " (this opset has no dilations)");
        return null;
      }
    }
  }
  const autoPad = ctx.attrString("auto_pad", "NOTSET");
  if (failed()) return null;
  if ((autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") && dilations !== null) {
    for (let i = 0; i < s; i++) {
      if (dilations[i] != 1) {
        // onnxruntime refuses (Conv) or miscomputes (pooling) this combination
        unsupported("auto_pad " + autoPad + " with dilations > 1 in " + ctx.where());
        return null;
      }
    }
  }
  let pads: StaticArray<i32> | null = null;
  if (autoPad == "NOTSET") {
    pads = ints(ctx, "pads", 2 * s, 0, 0);
    if (pads === null) return null;
  } else if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" && autoPad != "VALID") {
    ctx.error('attribute auto_pad has invalid value "' + autoPad + '"');
    return null;
  }
  for (let i = 0; i < s; i++) {
    const j = i + off;
    const inD = inSpatial[i];
    const k = kernel[i];
    const st = strides[i];
    const dl = dilations === null ? 1 : dilations[i];
    const ek: i64 = <i64>(k - 1) * <i64>dl + 1; // effective kernel extent
    let pb: i64 = 0;
    let pe: i64 = 0;
    let out: i64 = 0;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = (<i64>inD + st - 1) / st;
      let total = (out - 1) * st + ek - inD;
      if (total < 0) total = 0;
      if (autoPad == "SAME_UPPER") pb = total / 2;
      else pb = (total + 1) / 2;
      pe = total - pb;
    } else {
      if (pads !== null) {
        pb = pads[i];
        pe = pads[i + s];
      }
      const span = <i64>inD + pb + pe - ek;
      if (span < 0) {
        ctx.error("kernel extent " + ek.toString() + " is larger than the padded input (" + (<i64>inD + pb + pe).toString() + ") in spatial dimension " + i.toString());
        return null;
      }
      if (ceilMode) {
        out = (span + st - 1) / st + 1;
        // a window that would start inside the end padding is dropped (onnxruntime, PyTorch)
        if ((out - 1) * st >= <i64>inD + pb) out--;
      } else {
        out = span / st + 1;
      }
    }
    if (out > 0x7fffffff || pb > 0x7fffffff || pe > 0x7fffffff || ek > 0x7fffffff) {
      ctx.error("window geometry out of range");
      return null;
    }
    w.inDims[j] = inD;
    w.kernel[j] = k;
    w.strides[j] = st;
    w.dilations[j] = dl;
    w.padBegin[j] = <i32>pb;
    w.padEnd[j] = <i32>pe;
    w.outDims[j] = <i32>out;
  }
  return w;
}

/** The kernel_shape attribute (required for pooling), validated against `s` spatial dims. */
export function kernelShape(ctx: OpContext, s: i32, required: bool): StaticArray<i32> | null {
  const a = ctx.attrInts("kernel_shape");
  if (failed()) return null;
  if (a === null) {
    if (required) ctx.error("attribute kernel_shape is required");
    return null;
  }
  if (a.length != s) {
    ctx.error("kernel_shape has " + a.length.toString() + " values for " + s.toString() + " spatial dimensions");
    return null;
  }
  const out = new StaticArray<i32>(s);
  for (let i = 0; i < s; i++) {
    if (a[i] < 1 || a[i] > 0x7fffffff) {
      ctx.error("kernel_shape has invalid value " + a[i].toString());
      return null;
    }
    out[i] = <i32>a[i];
  }
  return out;
}
