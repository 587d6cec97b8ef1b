// Indexing and shape-building ops on any held data type: Gather, Slice, Expand, Tile, Pad,
// Split, ConstantOfShape, Range, Size, DepthToSpace, SpaceToDepth.
import { Plan, broadcastShapes } from "../broadcast";
import { failed, unsupported } from "../errors";
import { ATTR_TENSOR } from "../onnx/model";
import { DOUBLE, FLOAT, INT16, INT32, INT64, MAX_RANK, Tensor, dimsToString, elementSize, newTensor, nextIndex, product } from "../tensor";
import { OpContext } from "./context";

/** Integer values of a 0-D/1-D int32 or int64 input. */
function intValues(ctx: OpContext, t: Tensor, name: string): Array<i64> | null {
  if (t.dtype != INT64 && t.dtype != INT32) {
    ctx.unsupportedType(t, name);
    return null;
  }
  if (t.rank > 1) {
    ctx.error("input " + name + " must be 0-D or 1-D, has shape " + dimsToString(t.dims));
    return null;
  }
  const out = new Array<i64>(t.size);
  for (let i = 0; i < t.size; i++) out[i] = t.dtype == INT64 ? t.getI64(i) : <i64>load<i32>(t.ptr + (<usize>i << 2));
  return out;
}

/** dims from int64 values, each in [0, 2^31). */
function shapeFrom(ctx: OpContext, v: Array<i64>, what: string): Array<i32> | null {
  if (v.length > MAX_RANK) {
    unsupported("rank " + v.length.toString() + " in " + ctx.label());
    return null;
  }
  const dims = new Array<i32>(v.length);
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] > 0x7fffffff) {
      ctx.error(what + " has invalid dimension " + v[i].toString());
      return null;
    }
    dims[i] = <i32>v[i];
  }
  return dims;
}

@inline function copyElem(dst: usize, src: usize, es: usize): void {
  if (es == 4) store<u32>(dst, load<u32>(src));
  else if (es == 8) store<u64>(dst, load<u64>(src));
  else if (es == 2) store<u16>(dst, load<u16>(src));
  else store<u8>(dst, load<u8>(src));
}

export function gatherOp(ctx: OpContext): void {
  const data = ctx.input(0, "data");
  const ind = ctx.input(1, "indices");
  if (data === null || ind === null) return;
  if (ind.dtype != INT64 && ind.dtype != INT32) return ctx.unsupportedType(ind, "indices");
  const axisAttr = ctx.attrInt("axis", 0);
  if (failed()) return;
  const r = data.rank;
  if (r == 0) return ctx.error("data must have rank >= 1");
  const axis = ctx.axis(axisAttr, r, "axis");
  if (failed()) return;
  const outDims = new Array<i32>();
  for (let i = 0; i < axis; i++) outDims.push(data.dims[i]);
  for (let i = 0; i < ind.rank; i++) outDims.push(ind.dims[i]);
  for (let i = axis + 1; i < r; i++) outDims.push(data.dims[i]);
  if (outDims.length > MAX_RANK) return unsupported("rank " + outDims.length.toString() + " in " + ctx.label());
  const out = newTensor(data.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(data.dtype);
  const outer = product(data.dims, 0, axis);
  const len = data.dims[axis];
  const block = <usize>product(data.dims, axis + 1, r) * es;
  let p = out.ptr;
  for (let i = 0; i < ind.size; i++) {
    const v: i64 = ind.dtype == INT64 ? ind.getI64(i) : <i64>load<i32>(ind.ptr + (<usize>i << 2));
    if (v < -<i64>len || v >= <i64>len) return ctx.error("index " + v.toString() + " is out of range for axis " + axis.toString() + " of size " + len.toString());
  }
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < ind.size; i++) {
      let v: i64 = ind.dtype == INT64 ? ind.getI64(i) : <i64>load<i32>(ind.ptr + (<usize>i << 2));
      if (v < 0) v += len;
      memory.copy(p, data.ptr + (<usize>o * <usize>len + <usize>v) * block, block);
      p += block;
    }
  }
  ctx.setOutput(0, out);
}

export function sliceOp(ctx: OpContext): void {
  const data = ctx.input(0, "data");
  if (data === null) return;
  const r = data.rank;
  let starts: Array<i64> | null;
  let ends: Array<i64> | null;
  let axes: Array<i64> | null = null;
  let steps: Array<i64> | null = null;
  if (ctx.opset < 10) {
    starts = ctx.attrInts("starts");
    ends = ctx.attrInts("ends");
    axes = ctx.attrInts("axes");
    if (failed()) return;
    if (starts === null || ends === null) return ctx.error("attributes starts and ends are required");
  } else {
    const ts = ctx.input(1, "starts");
    const te = ctx.input(2, "ends");
    if (ts === null || te === null) return;
    starts = intValues(ctx, ts, "starts");
    if (starts === null) return;
    ends = intValues(ctx, te, "ends");
    if (ends === null) return;
    const ta = ctx.optional(3);
    if (ta !== null) {
      axes = intValues(ctx, ta, "axes");
      if (axes === null) return;
    }
    const tp = ctx.optional(4);
    if (tp !== null) {
      steps = intValues(ctx, tp, "steps");
      if (steps === null) return;
    }
  }
  const n = starts.length;
  if (ends.length != n || (axes !== null && axes.length != n) || (steps !== null && steps.length != n)) {
    return ctx.error("starts, ends, axes and steps must have the same length");
  }
  const st = new StaticArray<i64>(r);
  const sp = new StaticArray<i64>(r);
  const outDims = data.dims.slice(0);
  const seen = new StaticArray<bool>(r);
  for (let i = 0; i < r; i++) sp[i] = 1;
  for (let i = 0; i < n; i++) {
    const a = ctx.axis(axes === null ? <i64>i : axes[i], r, "axes value");
    if (failed()) return;
    if (seen[a]) return ctx.error("axes has a duplicate value");
    seen[a] = true;
    const step: i64 = steps === null ? 1 : steps[i];
    if (step == 0) return ctx.error("steps must not be 0");
    const dim = <i64>data.dims[a];
    let s = starts[i];
    let e = ends[i];
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    let count: i64;
    if (step > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      count = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      count = s > e ? (s - e + (-step) - 1) / -step : 0;
    }
    st[a] = s;
    sp[a] = step;
    outDims[a] = <i32>count;
  }
  const out = newTensor(data.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const es = <usize>elementSize(data.dtype);
  if (r == 0) {
    memory.copy(out.ptr, data.ptr, es);
    return ctx.setOutput(0, out);
  }
  // input element strides, and the odometer over the output
  const istr = new StaticArray<i64>(r);
  let s: i64 = 1;
  for (let i = r - 1; i >= 0; i--) {
    istr[i] = s;
    s *= <i64>data.dims[i];
  }
  const idx = new StaticArray<i32>(r);
  let off: i64 = 0;
  for (let i = 0; i < r; i++) off += st[i] * istr[i];
  const inner = outDims[r - 1];
  const innerStep = sp[r - 1] * istr[r - 1];
  let p = out.ptr;
  const outer = out.size / inner;
  for (let o = 0; o < outer; o++) {
    let q = off;
    for (let i = 0; i < inner; i++, q += innerStep, p += es) copyElem(p, data.ptr + <usize>q * es, es);
    for (let d = r - 2; d >= 0; d--) {
      const v = idx[d] + 1;
      if (v < outDims[d]) {
        idx[d] = v;
        off += sp[d] * istr[d];
        break;
      }
      idx[d] = 0;
      off -= sp[d] * istr[d] * <i64>(v - 1);
    }
  }
  ctx.setOutput(0, out);
}

export function expandOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const ts = ctx.int64(1, "shape", false);
  if (x === null || ts === null) return;
  const v = ctx.int64Values(ts, "shape");
  if (v === null) return;
  const shape = shapeFrom(ctx, v, "shape");
  if (shape === null) return;
  const outDims = broadcastShapes(x.dims, shape);
  if (outDims === null) return ctx.error("input shape " + dimsToString(x.dims) + " cannot be expanded to " + dimsToString(shape));
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const es = <usize>elementSize(x.dtype);
  const plan = new Plan(outDims, [x.dims]);
  const si = <usize>plan.innerStride(0) * es;
  let p = out.ptr;
  for (let o = 0; o < plan.outer; o++) {
    let q = x.ptr + <usize>plan.offset(0) * es;
    for (let i = 0; i < plan.inner; i++, p += es, q += si) copyElem(p, q, es);
    plan.step();
  }
  ctx.setOutput(0, out);
}

export function tileOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  const tr = ctx.int64(1, "repeats", false);
  if (x === null || tr === null) return;
  const reps = ctx.int64Values(tr, "repeats");
  if (reps === null) return;
  const r = x.rank;
  if (reps.length != r) return ctx.error("repeats has " + reps.length.toString() + " values for rank " + r.toString());
  const outDims = new Array<i32>(r);
  for (let i = 0; i < r; i++) {
    if (reps[i] < 0) return ctx.error("repeats must be non-negative");
    const d = <i64>x.dims[i] * reps[i];
    if (d > 0x7fffffff) return ctx.error("output too large");
    outDims[i] = <i32>d;
  }
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const es = <usize>elementSize(x.dtype);
  if (r == 0) {
    memory.copy(out.ptr, x.ptr, es);
    return ctx.setOutput(0, out);
  }
  const istr = new StaticArray<i32>(r);
  let s = 1;
  for (let i = r - 1; i >= 0; i--) {
    istr[i] = s;
    s *= x.dims[i];
  }
  const idx = new StaticArray<i32>(r);
  let p = out.ptr;
  const inner = outDims[r - 1];
  const lastDim = x.dims[r - 1];
  const outer = out.size / inner;
  for (let o = 0; o < outer; o++) {
    let base = 0;
    for (let d = 0; d < r - 1; d++) base += (idx[d] % x.dims[d]) * istr[d];
    for (let i = 0; i < inner; i++, p += es) copyElem(p, x.ptr + <usize>(base + i % lastDim) * es, es);
    nextIndex(idx, outDims, r - 2);
  }
  ctx.setOutput(0, out);
}

export function padOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const r = x.rank;
  const mode = ctx.attrString("mode", "constant");
  if (failed()) return;
  if (mode != "constant" && mode != "reflect" && mode != "edge" && !(mode == "wrap" && ctx.opset >= 19)) {
    return ctx.error('invalid mode "' + mode + '"');
  }
  let pads: Array<i64> | null;
  let cval: Tensor | null = null;
  let fval: f32 = 0;
  let axes: Array<i64> | null = null;
  if (ctx.opset < 11) {
    pads = ctx.attrInts(ctx.opset < 2 ? "paddings" : "pads");
    fval = ctx.attrFloat("value", 0);
    if (failed()) return;
    if (pads === null) return ctx.error("attribute pads is required");
    if (x.dtype != FLOAT) return ctx.unsupportedType(x, "data");
  } else {
    const tp = ctx.int64(1, "pads", false);
    if (tp === null) return;
    pads = ctx.int64Values(tp, "pads");
    if (pads === null) return;
    cval = ctx.optional(2);
    if (cval !== null) {
      if (cval.dtype != x.dtype) return ctx.error("constant_value has a different data type from data");
      if (cval.size != 1) return ctx.error("constant_value must be a scalar");
    }
    if (ctx.opset >= 18) {
      const ta = ctx.optional(3);
      if (ta !== null) {
        axes = intValues(ctx, ta, "axes");
        if (axes === null) return;
      }
    }
  }
  const begin = new StaticArray<i64>(r);
  const end = new StaticArray<i64>(r);
  const na = axes === null ? r : axes.length;
  if (pads.length != 2 * na) return ctx.error("pads has " + pads.length.toString() + " values, expected " + (2 * na).toString());
  for (let i = 0; i < na; i++) {
    const a = axes === null ? i : ctx.axis(axes[i], r, "axes value");
    if (failed()) return;
    begin[a] = pads[i];
    end[a] = pads[i + na];
  }
  const outDims = new Array<i32>(r);
  for (let i = 0; i < r; i++) {
    const d = <i64>x.dims[i] + begin[i] + end[i];
    if (d < 0 || d > 0x7fffffff) return ctx.error("pads give dimension " + i.toString() + " size " + d.toString());
    if (mode != "constant" && d > 0 && x.dims[i] == 0) return ctx.error("cannot pad an empty dimension in " + mode + " mode");
    if (mode == "reflect" && (begin[i] >= <i64>x.dims[i] || end[i] >= <i64>x.dims[i]) && (begin[i] > 0 || end[i] > 0)) {
      return ctx.error("reflect pads must be smaller than the dimension");
    }
    outDims[i] = <i32>d;
  }
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const es = <usize>elementSize(x.dtype);
  const fill = new ArrayBuffer(8);
  if (cval !== null) memory.copy(changetype<usize>(fill), cval.ptr, es);
  else if (x.dtype == FLOAT) store<f32>(changetype<usize>(fill), fval);
  if (r == 0) {
    memory.copy(out.ptr, x.ptr, es);
    return ctx.setOutput(0, out);
  }
  const istr = new StaticArray<i64>(r);
  let s: i64 = 1;
  for (let i = r - 1; i >= 0; i--) {
    istr[i] = s;
    s *= <i64>x.dims[i];
  }
  const idx = new StaticArray<i32>(r);
  let p = out.ptr;
  for (let e = 0; e < out.size; e++, p += es) {
    let off: i64 = 0;
    let inside = true;
    for (let d = 0; d < r; d++) {
      const dim = <i64>x.dims[d];
      let c = <i64>idx[d] - begin[d];
      if (c < 0 || c >= dim) {
        if (mode == "constant") {
          inside = false;
          break;
        } else if (mode == "edge") {
          c = c < 0 ? 0 : dim - 1;
        } else if (mode == "wrap") {
          c = ((c % dim) + dim) % dim;
        } else {
          // reflect without repeating the edge
          const period = 2 * (dim - 1);
          if (period == 0) c = 0;
          else {
            c = ((c % period) + period) % period;
            if (c >= dim) c = period - c;
          }
        }
      }
      off += c * istr[d];
    }
    if (inside) copyElem(p, x.ptr + <usize>off * es, es);
    else copyElem(p, changetype<usize>(fill), es);
    nextIndex(idx, outDims, r - 1);
  }
  ctx.setOutput(0, out);
}

export function splitOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const r = x.rank;
  if (r == 0) return ctx.error("input must have rank >= 1");
  const axisAttr = ctx.attrInt("axis", 0);
  if (failed()) return;
  const axis = ctx.axis(axisAttr, r, "axis");
  if (failed()) return;
  const nOut = ctx.node.outputs.length;
  if (nOut == 0) return ctx.error("needs at least one output");
  let split: Array<i64> | null = null;
  if (ctx.opset < 13) {
    split = ctx.attrInts("split");
    if (failed()) return;
  } else {
    const ts = ctx.optional(1);
    if (ts !== null) {
      split = ctx.int64Values(ts, "split");
      if (split === null) return;
    }
  }
  const dim = x.dims[axis];
  const sizes = new Array<i32>(nOut);
  if (split !== null && split.length > 0) {
    if (split.length != nOut) return ctx.error("split has " + split.length.toString() + " values for " + nOut.toString() + " outputs");
    let total: i64 = 0;
    for (let i = 0; i < nOut; i++) {
      if (split[i] < 0) return ctx.error("split values must be non-negative");
      total += split[i];
      if (total > 0x7fffffff) return ctx.error("split values too large");
      sizes[i] = <i32>split[i];
    }
    if (total != <i64>dim) return ctx.error("split values sum to " + total.toString() + ", axis has size " + dim.toString());
  } else {
    let parts = nOut;
    if (ctx.opset >= 18) {
      const no = ctx.attrInt("num_outputs", -1);
      if (failed()) return;
      if (no >= 0 && no != <i64>nOut) return ctx.error("num_outputs does not match the number of outputs");
      if (no >= 1) {
        // ceil-sized chunks, the last one smaller
        const chunk = (dim + parts - 1) / parts;
        let left = dim;
        for (let i = 0; i < parts; i++) {
          sizes[i] = min(chunk, left);
          left -= sizes[i];
        }
        parts = -1;
      }
    }
    if (parts > 0) {
      if (dim % parts != 0) return ctx.error("axis size " + dim.toString() + " does not split evenly into " + parts.toString() + " outputs");
      for (let i = 0; i < parts; i++) sizes[i] = dim / parts;
    }
  }
  const es = <usize>elementSize(x.dtype);
  const outer = product(x.dims, 0, axis);
  const inner = <usize>product(x.dims, axis + 1, r) * es;
  let startRow = 0;
  for (let k = 0; k < nOut; k++) {
    const dims = x.dims.slice(0);
    dims[axis] = sizes[k];
    const out = newTensor(x.dtype, dims, "output of " + ctx.label());
    if (out === null) return;
    const block = <usize>sizes[k] * inner;
    for (let o = 0; o < outer; o++) {
      memory.copy(out.ptr + <usize>o * block, x.ptr + (<usize>o * <usize>dim + <usize>startRow) * inner, block);
    }
    startRow += sizes[k];
    ctx.setOutput(k, out);
  }
}

export function constantOfShapeOp(ctx: OpContext): void {
  const ts = ctx.int64(0, "input", false);
  if (ts === null) return;
  const v = ctx.int64Values(ts, "input");
  if (v === null) return;
  const dims = shapeFrom(ctx, v, "input");
  if (dims === null) return;
  let value: Tensor | null = null;
  const a = ctx.node.attr("value");
  if (a !== null) {
    if (a.type != ATTR_TENSOR || a.t === null) return ctx.error("attribute value must be a tensor");
    const t = a.t!;
    if (t.size != 1) return ctx.error("attribute value must have exactly one element");
    value = t;
  }
  const dtype = value === null ? FLOAT : value.dtype;
  const out = newTensor(dtype, dims, "output of " + ctx.label());
  if (out === null) return;
  if (value !== null) {
    const es = <usize>elementSize(dtype);
    for (let i = 0; i < out.size; i++) copyElem(out.ptr + <usize>i * es, value.ptr, es);
  }
  ctx.setOutput(0, out);
}

/** Range over float32, float64, int16, int32, int64 (the spec's types); integer counts are exact. */
export function rangeOp(ctx: OpContext): void {
  const s = ctx.input(0, "start");
  const l = ctx.input(1, "limit");
  const d = ctx.input(2, "delta");
  if (s === null || l === null || d === null) return;
  const t = s.dtype;
  if (!(t == FLOAT || t == DOUBLE || t == INT16 || t == INT32 || t == INT64)) return ctx.unsupportedType(s, "start");
  if (l.dtype != t || d.dtype != t) return ctx.error("start, limit and delta must have the same data type");
  if (s.size != 1 || l.size != 1 || d.size != 1) return ctx.error("start, limit and delta must be scalars");
  const isInt = t != FLOAT && t != DOUBLE;
  let n: f64;
  if (!isInt) {
    const st = s.loadF64(0), li = l.loadF64(0), de = d.loadF64(0);
    if (de == 0) return ctx.error("delta must not be 0");
    n = Math.ceil((li - st) / de);
  } else {
    const st = s.loadI64(0), li = l.loadI64(0), de = d.loadI64(0);
    if (de == 0) return ctx.error("delta must not be 0");
    // ceil((li - st) / de) in integers
    const span = li - st;
    let q = span / de;
    if (span % de != 0 && (span < 0) == (de < 0)) q += 1;
    n = <f64>q;
  }
  if (!(n > 0)) n = 0;
  if (n > 0x7fffffff) return ctx.error("range too large");
  const count = <i32>n;
  const out = newTensor(t, [count], "output of " + ctx.label());
  if (out === null) return;
  if (t == FLOAT) {
    // accumulate in f32, as the reference does
    const st = s.getF32(0), de = d.getF32(0);
    let v = st;
    for (let i = 0; i < count; i++) {
      store<f32>(out.ptr + (<usize>i << 2), v);
      v += de;
    }
  } else if (t == DOUBLE) {
    const st = s.loadF64(0), de = d.loadF64(0);
    let v = st;
    for (let i = 0; i < count; i++) {
      out.storeF64(i, v);
      v += de;
    }
  } else {
    const st = s.loadI64(0), de = d.loadI64(0);
    for (let i = 0; i < count; i++) out.storeI64(i, st + <i64>i * de);
  }
  ctx.setOutput(0, out);
}

export function sizeOp(ctx: OpContext): void {
  const x = ctx.input(0, "data");
  if (x === null) return;
  const out = new Tensor(INT64, new Array<i32>(), 1, new ArrayBuffer(8));
  store<i64>(out.ptr, <i64>x.size);
  ctx.setOutput(0, out);
}

/** DepthToSpace (DCR / CRD) and SpaceToDepth on [N, C, H, W]. */
export function depthSpaceOp(ctx: OpContext, toSpace: bool): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  const bs64 = ctx.attrInt("blocksize", 0);
  const mode = toSpace && ctx.opset >= 11 ? ctx.attrString("mode", "DCR") : "DCR";
  if (failed()) return;
  if (x.rank != 4) return ctx.error("input must be 4-D, has shape " + dimsToString(x.dims));
  if (bs64 < 1 || bs64 > 0xffff) return ctx.error("invalid blocksize " + bs64.toString());
  if (mode != "DCR" && mode != "CRD") return ctx.error('invalid mode "' + mode + '"');
  const b = <i32>bs64;
  const n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3];
  let outDims: Array<i32>;
  if (toSpace) {
    if (c % (b * b) != 0) return ctx.error("channels " + c.toString() + " are not divisible by blocksize^2");
    outDims = [n, c / (b * b), h * b, w * b];
  } else {
    if (h % b != 0 || w % b != 0) return ctx.error("height and width must be divisible by blocksize");
    outDims = [n, c * b * b, h / b, w / b];
  }
  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  const es = <usize>elementSize(x.dtype);
  const oc = outDims[1], oh = outDims[2], ow = outDims[3];
  let p = out.ptr;
  for (let in_ = 0; in_ < n; in_++) {
    for (let co = 0; co < oc; co++) {
      for (let y = 0; y < oh; y++) {
        for (let xo = 0; xo < ow; xo++, p += es) {
          let ci: i32, yi: i32, xi: i32;
          if (toSpace) {
            const by = y % b, bx = xo % b;
            yi = y / b;
            xi = xo / b;
            ci = mode == "DCR" ? (by * b + bx) * oc + co : co * b * b + by * b + bx;
          } else {
            // SpaceToDepth: output channel = (by * b + bx) * C + c
            const blk = co / c;
            const cc = co % c;
            const by = blk / b, bx = blk % b;
            ci = cc;
            yi = y * b + by;
            xi = xo * b + bx;
          }
          copyElem(p, x.ptr + <usize>(((in_ * c + ci) * h + yi) * w + xi) * es, es);
        }
      }
    }
  }
  ctx.setOutput(0, out);
}
