// Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9): nearest, linear and cubic
// interpolation over any number of axes. Each resized axis gets a precomputed table of taps
// (input index and weight per output index); linear and cubic are applied one axis at a time
// (separable, last axis first, as onnxruntime orders its cubic sums), nearest is one gather.
// Coordinates are computed in float32 with onnxruntime's exact expressions, since nearest
// rounding decisions depend on them.
import { failed } from "../errors";
import { BOOL, DOUBLE, FLOAT, INT32, INT64, INT8, UINT8, Tensor, allocBuffer, dimsToString, elementSize, newTensor, product } from "../tensor";
import { OpContext } from "./context";

const NEAREST: i32 = 0;
const LINEAR: i32 = 1;
const CUBIC: i32 = 2;

const HALF_PIXEL: i32 = 0;
const ASYMMETRIC: i32 = 1;
const PYTORCH_HALF_PIXEL: i32 = 2;
const TF_HALF_PIXEL_FOR_NN: i32 = 3;
const ALIGN_CORNERS: i32 = 4;
const TF_CROP_AND_RESIZE: i32 = 5;
const HALF_PIXEL_SYMMETRIC: i32 = 6;

/** Resize-10 and Upsample have no nearest_mode: truncate, or ceil when downsampling. */
const SIMPLE: i32 = 0;
const ROUND_PREFER_FLOOR: i32 = 1;
const ROUND_PREFER_CEIL: i32 = 2;
const FLOOR: i32 = 3;
const CEIL: i32 = 4;

const STRETCH: i32 = 0;
const NOT_LARGER: i32 = 1;
const NOT_SMALLER: i32 = 2;

class Params {
  mode: i32 = NEAREST;
  coord: i32 = ASYMMETRIC;
  nearest: i32 = SIMPLE;
  cubicA: f32 = -0.75;
  excludeOutside: bool = false;
  antialias: bool = false;
  extrapolation: f32 = 0;
  policy: i32 = STRETCH;
  axes: Array<i32> | null = null;
}

/** One resized axis: `taps` (input index, weight) pairs per output index, and which outputs are extrapolated. */
class AxisTaps {
  taps: i32;
  index: StaticArray<i32>;
  weight: StaticArray<f32>;
  outside: StaticArray<bool> | null = null;

  constructor(outLen: i32, taps: i32) {
    this.taps = taps;
    this.index = new StaticArray<i32>(outLen * taps);
    this.weight = new StaticArray<f32>(outLen * taps);
  }
}

function modeCode(ctx: OpContext, isUpsample: bool): i32 {
  const m = ctx.attrString("mode", "nearest");
  if (failed()) return -1;
  if (m == "nearest") return NEAREST;
  if (m == "linear") return LINEAR;
  if (m == "cubic" && !isUpsample && ctx.opset >= 11) return CUBIC;
  ctx.error('attribute mode has invalid value "' + m + '" (nearest, linear' + (!isUpsample && ctx.opset >= 11 ? " or cubic)" : ")"));
  return -1;
}

function coordCode(ctx: OpContext): i32 {
  const c = ctx.attrString("coordinate_transformation_mode", "half_pixel");
  if (failed()) return -1;
  if (c == "half_pixel") return HALF_PIXEL;
  if (c == "asymmetric") return ASYMMETRIC;
  if (c == "pytorch_half_pixel") return PYTORCH_HALF_PIXEL;
  // removed from the spec in opset 13; onnxruntime still runs it
  if (c == "tf_half_pixel_for_nn") return TF_HALF_PIXEL_FOR_NN;
  if (c == "align_corners") return ALIGN_CORNERS;
  if (c == "tf_crop_and_resize") return TF_CROP_AND_RESIZE;
  if (c == "half_pixel_symmetric") {
    if (ctx.opset >= 19) return HALF_PIXEL_SYMMETRIC;
    ctx.error("coordinate_transformation_mode half_pixel_symmetric needs opset 19 (model has " + ctx.opset.toString() + ")");
    return -1;
  }
  ctx.error('attribute coordinate_transformation_mode has invalid value "' + c + '"');
  return -1;
}

function nearestCode(ctx: OpContext): i32 {
  const n = ctx.attrString("nearest_mode", "round_prefer_floor");
  if (failed()) return -1;
  if (n == "round_prefer_floor") return ROUND_PREFER_FLOOR;
  if (n == "round_prefer_ceil") return ROUND_PREFER_CEIL;
  if (n == "floor") return FLOOR;
  if (n == "ceil") return CEIL;
  ctx.error('attribute nearest_mode has invalid value "' + n + '"');
  return -1;
}

function readParams(ctx: OpContext, isUpsample: bool, rank: i32): Params | null {
  const p = new Params();
  p.mode = modeCode(ctx, isUpsample);
  if (failed()) return null;
  const resize11 = !isUpsample && ctx.opset >= 11;
  if (resize11) {
    p.coord = coordCode(ctx);
    if (failed()) return null;
    if (p.mode == NEAREST) p.nearest = nearestCode(ctx);
    p.cubicA = ctx.attrFloat("cubic_coeff_a", -0.75);
    p.excludeOutside = ctx.attrInt("exclude_outside", 0) != 0;
    p.extrapolation = ctx.attrFloat("extrapolation_value", 0);
    if (failed()) return null;
  }
  if (!isUpsample && ctx.opset >= 18) {
    const aa = ctx.attrInt("antialias", 0);
    const policy = ctx.attrString("keep_aspect_ratio_policy", "stretch");
    if (failed()) return null;
    p.antialias = aa != 0;
    if (p.antialias && p.mode == NEAREST) {
      ctx.error("antialias needs mode linear or cubic");
      return null;
    }
    if (policy == "stretch") p.policy = STRETCH;
    else if (policy == "not_larger") p.policy = NOT_LARGER;
    else if (policy == "not_smaller") p.policy = NOT_SMALLER;
    else {
      ctx.error('attribute keep_aspect_ratio_policy has invalid value "' + policy + '"');
      return null;
    }
    const axes = ctx.attrInts("axes");
    if (failed()) return null;
    if (axes !== null) {
      const out = new Array<i32>(axes.length);
      for (let i = 0; i < axes.length; i++) {
        const a = ctx.axis(axes[i], rank, "axes value");
        if (failed()) return null;
        for (let k = 0; k < i; k++) {
          if (out[k] == a) {
            ctx.error("axes has axis " + a.toString() + " twice");
            return null;
          }
        }
        out[i] = a;
      }
      p.axes = out;
    }
  }
  if (p.excludeOutside && p.mode != CUBIC && !(p.antialias && p.mode == LINEAR)) {
    ctx.error("exclude_outside=1 needs mode cubic (or linear with antialias)");
    return null;
  }
  return p;
}

/** A float32 input's values, or null when absent or empty (Resize treats both as "not given"). */
function optionalFloats(ctx: OpContext, i: i32, name: string): Array<f32> | null {
  const t = ctx.optional(i);
  if (t === null || failed() || t.size == 0) return null;
  if (t.dtype != FLOAT) {
    ctx.unsupportedType(t, name);
    return null;
  }
  if (t.rank != 1) {
    ctx.error("input " + name + " must be 1-D, has shape " + dimsToString(t.dims));
    return null;
  }
  const out = new Array<f32>(t.size);
  for (let k = 0; k < t.size; k++) out[k] = t.getF32(k);
  return out;
}

/** Spreads per-axis values over all `rank` axes (`fill` elsewhere) when `axes` is given. */
function spread<T>(ctx: OpContext, v: Array<T>, axes: Array<i32> | null, rank: i32, fill: Array<T>, what: string): Array<T> | null {
  const want = axes === null ? rank : axes.length;
  if (v.length != want) {
    ctx.error(what + " has " + v.length.toString() + " values, expected " + want.toString() + (axes === null ? " (the rank of X)" : " (one per axis in axes)"));
    return null;
  }
  if (axes === null) return v;
  const out = fill;
  for (let i = 0; i < axes.length; i++) out[axes[i]] = v[i];
  return out;
}

/** std::round: halves away from zero. */
// @ts-ignore: decorator
@inline function roundHalfAway(x: f64): f64 {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + (x < 0 ? -1 : 1) : t;
}

function originalCoordinate(coord: i32, x: f32, scale: f32, outLen: f32, inLen: f32, roiStart: f32, roiEnd: f32): f32 {
  const half: f32 = 0.5;
  switch (coord) {
    case ASYMMETRIC: return x / scale;
    case PYTORCH_HALF_PIXEL: return outLen > 1 ? (x + half) / scale - half : 0;
    case TF_HALF_PIXEL_FOR_NN: return (x + half) / scale;
    case ALIGN_CORNERS: return outLen == 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
    case TF_CROP_AND_RESIZE:
      if (outLen > 1) return roiStart * (inLen - 1) + (x * (roiEnd - roiStart) * (inLen - 1)) / (outLen - 1);
      return <f32>(0.5 * <f64>(roiStart + roiEnd) * <f64>(inLen - 1));
    case HALF_PIXEL_SYMMETRIC: {
      const adjustment: f32 = outLen / (scale * inLen);
      const offset: f32 = (inLen / 2) * (1 - adjustment);
      return <f32>(<f64>offset + (<f64>x + 0.5) / <f64>scale - 0.5);
    }
    default: return (x + half) / scale - half;
  }
}

function nearestPixel(mode: i32, x: f32, down: bool): f64 {
  const v = <f64>x;
  switch (mode) {
    case SIMPLE: return down ? Math.ceil(v) : Math.trunc(v);
    case ROUND_PREFER_CEIL: return roundHalfAway(v);
    case FLOOR: return Math.floor(v);
    case CEIL: return Math.ceil(v);
    default: return x == <f32>Math.trunc(v) + <f32>0.5 ? Math.floor(v) : roundHalfAway(v);
  }
}

// @ts-ignore: decorator
@inline function clampIndex(v: f64, len: i32): i32 {
  if (!(v > 0)) return 0; // also NaN
  if (v >= <f64>(len - 1)) return len - 1;
  return <i32>v;
}

function cubicCoeff(s: f32, a: f32, k: i32): f32 {
  if (k == 0) return ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a;
  if (k == 1) return ((a + 2) * s - (a + 3)) * s * s + 1;
  if (k == 2) return ((a + 2) * (1 - s) - (a + 3)) * (1 - s) * (1 - s) + 1;
  return ((a * (2 - s) - 5 * a) * (2 - s) + 8 * a) * (2 - s) - 4 * a;
}

/** The antialias filters (Pillow's, as onnxruntime uses them): triangle for linear, Keys cubic with cubic_coeff_a. */
function antialiasFilter(cubic: bool, a: f32, x: f32): f32 {
  x = Mathf.abs(x);
  if (!cubic) return x < 1 ? 1 - x : 0;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/**
 * Antialiased taps: the filter stretched by 1/scale when downsampling, over the input positions
 * within its support; taps past the edges fold onto the edge pixel unless exclude_outside.
 */
function antialiasTaps(p: Params, inLen: i32, outLen: i32, scale: f32, roiStart: f32, roiEnd: f32): AxisTaps {
  const cubic = p.mode == CUBIC;
  const ratio: f32 = 1 / scale; // input pixels per output pixel
  const half: f32 = cubic ? 2 : 1;
  const support: f32 = ratio >= 1 ? half * ratio : half;
  const taps = <i32>Mathf.ceil(support) * 2 + 1;
  const invRatio: f32 = ratio >= 1 ? 1 / ratio : 1;
  const t = new AxisTaps(outLen, taps);
  let outside: StaticArray<bool> | null = null;
  const weights = new StaticArray<f32>(taps + 2);
  for (let j = 0; j < outLen; j++) {
    const x: f32 = ratio == 1 ? <f32>j : originalCoordinate(p.coord, <f32>j, scale, <f32>outLen, <f32>inLen, roiStart, roiEnd);
    const center: f32 = x + 0.5;
    if (p.coord == TF_CROP_AND_RESIZE && (x < 0 || x > <f32>(inLen - 1))) {
      if (outside === null) outside = new StaticArray<bool>(outLen);
      outside[j] = true;
    }
    const lo = <i64>Mathf.floor(center - support + 0.5);
    const hi = <i64>Mathf.floor(center + support + 0.5);
    const loCut = max<i64>(lo, 0);
    const hiCut = min<i64>(hi, <i64>inLen);
    const from = p.excludeOutside ? loCut : lo;
    const to = p.excludeOutside ? hiCut : hi;
    const count = <i32>max<i64>(hiCut - loCut, 0);
    for (let q = 0; q < count; q++) weights[q] = 0;
    let total: f32 = 0;
    for (let v = from; v < to; v++) {
      const w = antialiasFilter(cubic, p.cubicA, (<f32>v - center + 0.5) * invRatio);
      total += w;
      if (count == 0) continue;
      const at = v < loCut ? 0 : v >= hiCut ? count - 1 : <i32>(v - loCut);
      weights[at] += w;
    }
    const inv: f32 = total == 0 ? 1 : 1 / total;
    const b = j * taps;
    for (let q = 0; q < taps; q++) {
      t.index[b + q] = q < count ? <i32>loCut + q : 0;
      t.weight[b + q] = q < count ? weights[q] * inv : 0;
    }
  }
  t.outside = outside;
  return t;
}

function axisTaps(p: Params, inLen: i32, outLen: i32, scale: f32, roiStart: f32, roiEnd: f32): AxisTaps {
  if (p.antialias) return antialiasTaps(p, inLen, outLen, scale, roiStart, roiEnd);
  const taps = p.mode == NEAREST ? 1 : p.mode == LINEAR ? 2 : 4;
  const t = new AxisTaps(outLen, taps);
  const extrapolate = p.coord == TF_CROP_AND_RESIZE;
  let outside: StaticArray<bool> | null = null;
  const inF = <f32>inLen;
  const outF = <f32>outLen;
  const last: f32 = <f32>(inLen - 1);
  for (let j = 0; j < outLen; j++) {
    // onnxruntime maps an axis with scale 1 one to one, whatever the transformation mode
    const x: f32 = scale == 1 ? <f32>j : originalCoordinate(p.coord, <f32>j, scale, outF, inF, roiStart, roiEnd);
    if (extrapolate && (x < 0 || x > last)) {
      if (outside === null) outside = new StaticArray<bool>(outLen);
      outside[j] = true;
    }
    const b = j * taps;
    if (p.mode == NEAREST) {
      t.index[b] = clampIndex(nearestPixel(p.nearest, x, scale < 1), inLen);
      t.weight[b] = 1;
    } else if (p.mode == LINEAR) {
      const xc: f32 = x > 0 ? (x < last ? x : last) : 0;
      const i1 = min<i32>(<i32>xc, inLen - 1);
      const i2 = min<i32>(i1 + 1, inLen - 1);
      let d1: f32 = Mathf.abs(xc - <f32>i1);
      let d2: f32 = Mathf.abs(xc - <f32>i2);
      if (i1 == i2) {
        d1 = 0.5;
        d2 = 0.5;
      }
      t.index[b] = i1;
      t.weight[b] = d2;
      t.index[b + 1] = i2;
      t.weight[b + 1] = d1;
    } else {
      const fl = Mathf.floor(x);
      const xi: i64 = isFinite<f32>(fl) ? <i64>fl : 0;
      const s: f32 = Mathf.abs(x - fl);
      let sum: f32 = 0;
      for (let k = 0; k < 4; k++) {
        const at: i64 = xi + k - 1;
        let c = cubicCoeff(s, p.cubicA, k);
        if (p.excludeOutside && (at < 0 || at >= <i64>inLen)) c = 0;
        t.weight[b + k] = c;
        sum += c;
        t.index[b + k] = at < 0 ? 0 : at >= <i64>inLen ? inLen - 1 : <i32>at;
      }
      if (p.excludeOutside) for (let k = 0; k < 4; k++) t.weight[b + k] = t.weight[b + k] / sum;
    }
  }
  t.outside = outside;
  return t;
}

/** out[o, j, i] = sum_k w[j,k] * in[o, index[j,k], i] over a [outer, len, inner] view. */
function interpolateAxis(src: usize, dst: usize, outer: i32, inLen: i32, inner: i32, outLen: i32, t: AxisTaps): void {
  const taps = t.taps;
  const index = changetype<usize>(t.index);
  const weight = changetype<usize>(t.weight);
  const rowIn = <usize>inLen * <usize>inner;
  const rowOut = <usize>outLen * <usize>inner;
  if (inner == 1) {
    for (let o = 0; o < outer; o++) {
      const s = src + ((<usize>o * rowIn) << 2);
      const d = dst + ((<usize>o * rowOut) << 2);
      for (let j = 0; j < outLen; j++) {
        const b = <usize>(j * taps) << 2;
        let acc: f32 = 0;
        for (let k = 0; k < taps; k++) {
          const off = b + (<usize>k << 2);
          acc += load<f32>(weight + off) * load<f32>(s + (<usize>load<i32>(index + off) << 2));
        }
        store<f32>(d + (<usize>j << 2), acc);
      }
    }
    return;
  }
  const inner4 = inner & ~3;
  for (let o = 0; o < outer; o++) {
    const s = src + ((<usize>o * rowIn) << 2);
    for (let j = 0; j < outLen; j++) {
      const d = dst + ((<usize>o * rowOut + <usize>j * <usize>inner) << 2);
      for (let k = 0; k < taps; k++) {
        const off = <usize>(j * taps + k) << 2;
        const w = load<f32>(weight + off);
        const r = s + ((<usize>load<i32>(index + off) * <usize>inner) << 2);
        const vw = f32x4.splat(w);
        if (k == 0) {
          let i = 0;
          for (; i < inner4; i += 4) v128.store(d + (<usize>i << 2), f32x4.mul(vw, v128.load(r + (<usize>i << 2))));
          for (; i < inner; i++) store<f32>(d + (<usize>i << 2), w * load<f32>(r + (<usize>i << 2)));
        } else {
          let i = 0;
          for (; i < inner4; i += 4) {
            const q = d + (<usize>i << 2);
            v128.store(q, f32x4.add(v128.load(q), f32x4.mul(vw, v128.load(r + (<usize>i << 2)))));
          }
          for (; i < inner; i++) {
            const q = d + (<usize>i << 2);
            store<f32>(q, load<f32>(q) + w * load<f32>(r + (<usize>i << 2)));
          }
        }
      }
    }
  }
}

/** Nearest: one gather through per-axis offset tables, for any element size. */
function gatherNearest(x: Tensor, out: Tensor, tables: Array<StaticArray<i32> | null>): void {
  const r = x.rank;
  const es = elementSize(x.dtype);
  const offsets = new Array<StaticArray<i32>>(r);
  let stride = 1;
  for (let d = r - 1; d >= 0; d--) {
    const len = out.dims[d];
    const o = new StaticArray<i32>(len);
    const t = tables[d];
    for (let j = 0; j < len; j++) o[j] = (t === null ? j : t[j]) * stride;
    offsets[d] = o;
    stride *= x.dims[d];
  }
  const w = out.dims[r - 1];
  const lastOff = changetype<usize>(offsets[r - 1]);
  const rows = out.size / w;
  const idx = new StaticArray<i32>(r);
  let dst = out.ptr;
  const src = x.ptr;
  for (let row = 0; row < rows; row++) {
    let base = 0;
    for (let d = 0; d < r - 1; d++) base += unchecked(offsets[d][idx[d]]);
    if (es == 4) {
      for (let j = 0; j < w; j++, dst += 4) store<u32>(dst, load<u32>(src + (<usize>(base + load<i32>(lastOff + (<usize>j << 2))) << 2)));
    } else if (es == 8) {
      for (let j = 0; j < w; j++, dst += 8) store<u64>(dst, load<u64>(src + (<usize>(base + load<i32>(lastOff + (<usize>j << 2))) << 3)));
    } else if (es == 2) {
      for (let j = 0; j < w; j++, dst += 2) store<u16>(dst, load<u16>(src + (<usize>(base + load<i32>(lastOff + (<usize>j << 2))) << 1)));
    } else {
      for (let j = 0; j < w; j++, dst += 1) store<u8>(dst, load<u8>(src + <usize>(base + load<i32>(lastOff + (<usize>j << 2)))));
    }
    for (let d = r - 2; d >= 0; d--) {
      const v = idx[d] + 1;
      if (v < out.dims[d]) {
        idx[d] = v;
        break;
      }
      idx[d] = 0;
    }
  }
}

/** tf_crop_and_resize: every output whose coordinate on some axis falls outside the input gets the extrapolation value. */
function applyExtrapolation(out: Tensor, taps: Array<AxisTaps | null>, value: f32): void {
  const r = out.rank;
  const es = elementSize(out.dtype);
  for (let d = 0; d < r; d++) {
    const t = taps[d];
    if (t === null) continue;
    const outside = t.outside;
    if (outside === null) continue;
    const outer = product(out.dims, 0, d);
    const len = out.dims[d];
    const inner = product(out.dims, d + 1, r);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < len; j++) {
        if (!outside[j]) continue;
        const p = out.ptr + <usize>((o * len + j) * inner) * <usize>es;
        fillValue(p, inner, out.dtype, value);
      }
    }
  }
}

function canFill(dtype: i32): bool {
  return dtype == FLOAT || dtype == INT64 || dtype == INT32 || dtype == UINT8 || dtype == BOOL || dtype == INT8 || dtype == DOUBLE;
}

function fillValue(p: usize, n: i32, dtype: i32, value: f32): void {
  for (let i = 0; i < n; i++) {
    if (dtype == FLOAT) store<f32>(p + (<usize>i << 2), value);
    else if (dtype == INT64) store<i64>(p + (<usize>i << 3), <i64>value);
    else if (dtype == INT32) store<i32>(p + (<usize>i << 2), <i32>value);
    else if (dtype == UINT8 || dtype == BOOL) store<u8>(p + <usize>i, <u8>(<i32>value));
    else if (dtype == INT8) store<i8>(p + <usize>i, <i8>(<i32>value));
    else if (dtype == DOUBLE) store<f64>(p + (<usize>i << 3), <f64>value);
  }
}

export function resizeOp(ctx: OpContext): void {
  resize(ctx, false);
}

export function upsampleOp(ctx: OpContext): void {
  if (ctx.opset >= 10) return ctx.error("Upsample was removed in opset 10 (use Resize)");
  resize(ctx, true);
}

function resize(ctx: OpContext, isUpsample: bool): void {
  const x = ctx.input(0, "X");
  if (x === null) return;
  const r = x.rank;
  if (elementSize(x.dtype) == 0) return ctx.unsupportedType(x, "X");
  if (r == 0) return ctx.error("X must have rank >= 1");
  const p = readParams(ctx, isUpsample, r);
  if (p === null) return;
  if (p.mode != NEAREST && x.dtype != FLOAT) return ctx.unsupportedType(x, "X");
  const axes = p.axes;

  // scales or sizes, and the roi
  let scalesIn: Array<f32> | null = null;
  let sizesIn: Array<i64> | null = null;
  let roi: Array<f32> | null = null;
  if (isUpsample && ctx.opset < 9) {
    scalesIn = ctx.attrFloats("scales");
    if (failed()) return;
    if (scalesIn === null) return ctx.error("attribute scales is required");
  } else if (isUpsample || ctx.opset == 10) {
    if (!ctx.has(1)) return ctx.error("missing required input scales (input 1)");
    scalesIn = optionalFloats(ctx, 1, "scales");
    if (failed()) return;
    if (scalesIn === null) return ctx.error("scales is empty");
  } else {
    if (ctx.opset < 13 && !ctx.has(2)) return ctx.error("missing required input scales (input 2)");
    scalesIn = optionalFloats(ctx, 2, "scales");
    if (failed()) return;
    const st = ctx.optional(3);
    if (st !== null && st.size > 0) {
      const t = ctx.int64(3, "sizes", true);
      if (t === null) return;
      sizesIn = ctx.int64Values(t, "sizes");
      if (failed()) return;
    }
    if (scalesIn !== null && sizesIn !== null) return ctx.error("only one of scales and sizes may be given");
    if (scalesIn === null && sizesIn === null) return ctx.error("one of scales and sizes must be given");
    if (p.coord == TF_CROP_AND_RESIZE) {
      roi = optionalFloats(ctx, 1, "roi");
      if (failed()) return;
      if (roi === null) return ctx.error("tf_crop_and_resize needs the roi input");
    }
  }

  const inDims = x.dims;
  const outDims = new Array<i32>(r);
  const scales = new Array<f32>(r);
  if (sizesIn !== null) {
    const fill = new Array<i64>(r);
    for (let d = 0; d < r; d++) fill[d] = inDims[d];
    const sizes = spread<i64>(ctx, sizesIn, axes, r, fill, "sizes");
    if (sizes === null) return;
    for (let d = 0; d < r; d++) {
      const s = sizes[d];
      if (s < 0 || s > 0x7fffffff) return ctx.error("sizes has invalid value " + s.toString());
      if (inDims[d] == 0 && s != 0) return ctx.error("sizes asks for " + s.toString() + " along axis " + d.toString() + ", which has size 0 in X");
      outDims[d] = <i32>s;
      scales[d] = inDims[d] == 0 ? 1 : <f32>s / <f32>inDims[d];
    }
    if (p.policy != STRETCH) {
      let chosen: f32 = p.policy == NOT_LARGER ? f32.MAX_VALUE : f32.MIN_NORMAL_VALUE;
      for (let d = 0; d < r; d++) {
        if (axes !== null && !axes.includes(d)) continue;
        chosen = p.policy == NOT_LARGER ? min<f32>(chosen, scales[d]) : max<f32>(chosen, scales[d]);
      }
      for (let d = 0; d < r; d++) {
        if (axes !== null && !axes.includes(d)) {
          scales[d] = 1;
          outDims[d] = inDims[d];
        } else {
          scales[d] = chosen;
          const v = roundHalfAway(<f64>(chosen * <f32>inDims[d]));
          if (v > 0x7fffffff) return ctx.error("output size along axis " + d.toString() + " is too large");
          outDims[d] = <i32>v;
        }
      }
    }
  } else {
    const fill = new Array<f32>(r);
    for (let d = 0; d < r; d++) fill[d] = 1;
    const sc = spread<f32>(ctx, changetype<Array<f32>>(scalesIn), axes, r, fill, "scales");
    if (sc === null) return;
    for (let d = 0; d < r; d++) {
      const s = sc[d];
      if (isUpsample ? !(s >= 1) : !(s > 0)) return ctx.error("scales has invalid value " + s.toString() + (isUpsample ? " (Upsample needs scales >= 1)" : " (scales must be > 0)"));
      scales[d] = s;
      const v = <f64>(s * <f32>inDims[d]);
      if (!(v < 2147483648.0)) return ctx.error("output size along axis " + d.toString() + " is too large");
      outDims[d] = <i32>v;
    }
  }
  let roiAll: Array<f32> | null = null;
  if (roi !== null) {
    const fill = new Array<f32>(2 * r);
    for (let d = 0; d < r; d++) fill[r + d] = 1;
    if (axes === null) {
      if (roi.length != 2 * r) return ctx.error("roi has " + roi.length.toString() + " values, expected " + (2 * r).toString() + " (2 x the rank of X)");
      roiAll = roi;
    } else {
      const n = axes.length;
      if (roi.length != 2 * n) return ctx.error("roi has " + roi.length.toString() + " values, expected " + (2 * n).toString() + " (2 per axis in axes)");
      for (let i = 0; i < n; i++) {
        fill[axes[i]] = roi[i];
        fill[r + axes[i]] = roi[n + i];
      }
      roiAll = fill;
    }
  }

  const out = newTensor(x.dtype, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  let same = true;
  for (let d = 0; d < r; d++) if (outDims[d] != inDims[d]) same = false;
  if (same) {
    memory.copy(out.ptr, x.ptr, <usize>x.byteLength);
    return ctx.setOutput(0, out);
  }

  const taps = new Array<AxisTaps | null>(r);
  let extrapolated = false;
  for (let d = 0; d < r; d++) {
    // onnxruntime: an axis of unchanged length is copied when antialiasing, else when its scale is 1
    if (outDims[d] == inDims[d] && (p.antialias || scales[d] == 1)) {
      taps[d] = null;
      continue;
    }
    const rs: f32 = roiAll === null ? 0 : roiAll[d];
    const re: f32 = roiAll === null ? 1 : roiAll[r + d];
    const t = axisTaps(p, inDims[d], outDims[d], scales[d], rs, re);
    if (t.outside !== null) extrapolated = true;
    taps[d] = t;
  }

  if (p.mode == NEAREST) {
    const tables = new Array<StaticArray<i32> | null>(r);
    for (let d = 0; d < r; d++) {
      const t = taps[d];
      tables[d] = t === null ? null : t.index;
    }
    gatherNearest(x, out, tables);
  } else {
    // one axis at a time, from the last; intermediate shapes shrink or grow axis by axis
    const cur = inDims.slice(0);
    let src = x.ptr;
    // intermediates stay referenced here so the collector keeps them while in use
    const held = new Array<ArrayBuffer>();
    let last = -1;
    for (let d = r - 1; d >= 0; d--) if (taps[d] !== null) {
      last = d;
    }
    for (let d = r - 1; d >= 0; d--) {
      const t = taps[d];
      if (t === null) continue;
      const outer = product(cur, 0, d);
      const inner = product(cur, d + 1, r);
      const n = outer * outDims[d] * inner;
      let dst = out.ptr;
      if (d != last) {
        const b = allocBuffer(n * 4);
        held.push(b);
        dst = changetype<usize>(b);
      }
      interpolateAxis(src, dst, outer, cur[d], inner, outDims[d], t);
      cur[d] = outDims[d];
      src = dst;
    }
  }
  if (extrapolated) {
    if (!canFill(out.dtype)) return ctx.unsupportedType(x, "X");
    applyExtrapolation(out, taps, p.extrapolation);
  }
  ctx.setOutput(0, out);
}
