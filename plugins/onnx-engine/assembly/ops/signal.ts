// Signal processing (opset 17+): HannWindow, HammingWindow, BlackmanWindow (periodic or
// symmetric), DFT (forward, inverse, one-sided forward, dft_length padding/truncation), STFT
// and MelWeightMatrix; all computed in f64 (direct DFT sums over a twiddle table).
import { failed, unsupported } from "../errors";
import { CLASS_FLOAT, FLOAT, Tensor, dimsToString, isIntegerType, isNumericType, newTensor, typeClass } from "../tensor";
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
  if (!isNumericType(dtype)) return unsupported("data type " + dtype.toString() + " as the output_datatype of " + ctx.where());
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

/** A scalar integer input as i64 (optional inputs give `def`). */
function scalarInt(ctx: OpContext, i: i32, name: string, def: i64): i64 {
  const t = ctx.optional(i);
  if (t === null || failed()) return def;
  if (!isIntegerType(t.dtype)) {
    ctx.unsupportedType(t, name);
    return def;
  }
  if (t.size != 1) {
    ctx.error(name + " must be a scalar, has shape " + dimsToString(t.dims));
    return def;
  }
  return t.loadI64(0);
}

/** cos/sin of 2*pi*j/n for j in [0, n). */
function twiddles(n: i32): StaticArray<f64> {
  const t = new StaticArray<f64>(2 * max(n, 1));
  for (let j = 0; j < n; j++) {
    const a = (2 * Math.PI * <f64>j) / <f64>n;
    t[2 * j] = Math.cos(a);
    t[2 * j + 1] = Math.sin(a);
  }
  return t;
}

export function dftOp(ctx: OpContext): void {
  const x = ctx.input(0, "input");
  if (x === null) return;
  if (typeClass(x.dtype) != CLASS_FLOAT) return ctx.unsupportedType(x, "input");
  const inverse = ctx.attrInt("inverse", 0) != 0;
  const onesided = ctx.attrInt("onesided", 0) != 0;
  let axisV: i64 = ctx.opset >= 20 ? scalarInt(ctx, 2, "axis", -2) : ctx.attrInt("axis", 1);
  if (failed()) return;
  const r = x.rank;
  if (r < 2 || (x.dims[r - 1] != 1 && x.dims[r - 1] != 2)) return ctx.error("input must have shape [..., 1 or 2], has " + dimsToString(x.dims));
  if (inverse && onesided) return unsupported("attribute value onesided=1 with inverse=1 for " + ctx.where());
  if (axisV < 0) axisV += r;
  if (axisV < 0 || axisV >= <i64>(r - 1)) return ctx.error("axis is out of range for rank " + r.toString());
  const axis = <i32>axisV;
  const len = x.dims[axis];
  const nv = scalarInt(ctx, 1, "dft_length", len);
  if (failed()) return;
  if (nv < 1 || nv > 0x7fffff) return ctx.error("dft_length " + nv.toString() + " is out of range");
  const n = <i32>nv;
  const bins = onesided ? n / 2 + 1 : n;
  const dims = x.dims.slice(0);
  dims[axis] = bins;
  dims[r - 1] = 2;
  const out = newTensor(x.dtype, dims, "output of " + ctx.label());
  if (out === null) return;
  const complex = x.dims[r - 1] == 2;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= x.dims[i];
  for (let i = axis + 1; i < r - 1; i++) inner *= x.dims[i];
  const tw = twiddles(n);
  const sign: f64 = inverse ? 1 : -1;
  const scale: f64 = inverse ? 1.0 / <f64>n : 1.0;
  const used = min(len, n);
  const re = new StaticArray<f64>(used);
  const im = new StaticArray<f64>(used);
  const cs = complex ? 2 : 1;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      for (let t = 0; t < used; t++) {
        const e = ((o * len + t) * inner + j) * cs;
        re[t] = x.loadF64(e);
        im[t] = complex ? x.loadF64(e + 1) : 0;
      }
      for (let k = 0; k < bins; k++) {
        let sr: f64 = 0;
        let si: f64 = 0;
        for (let t = 0; t < used; t++) {
          const w = <i32>((<i64>k * <i64>t) % <i64>n);
          const c = tw[2 * w];
          const s = sign * tw[2 * w + 1];
          sr += re[t] * c - im[t] * s;
          si += re[t] * s + im[t] * c;
        }
        const e = ((o * bins + k) * inner + j) * 2;
        out.storeF64(e, sr * scale);
        out.storeF64(e + 1, si * scale);
      }
    }
  }
  ctx.setOutput(0, out);
}

/** STFT: frames of frame_length every frame_step, times the window, each transformed. */
export function stftOp(ctx: OpContext): void {
  const x = ctx.input(0, "signal");
  if (x === null) return;
  if (typeClass(x.dtype) != CLASS_FLOAT) return ctx.unsupportedType(x, "signal");
  const step = scalarInt(ctx, 1, "frame_step", 0);
  const win: Tensor | null = ctx.optional(2);
  const onesided = ctx.attrInt("onesided", 1) != 0;
  if (failed()) return;
  if (x.rank != 3 || (x.dims[2] != 1 && x.dims[2] != 2)) return ctx.error("signal must have shape [batch, length, 1 or 2], has " + dimsToString(x.dims));
  if (win !== null && (win.rank != 1 || win.dtype != x.dtype)) return ctx.error("window must be 1-D of the signal's type");
  let fl: i64 = win !== null ? <i64>win.dims[0] : -1;
  fl = scalarInt(ctx, 3, "frame_length", fl);
  if (failed()) return;
  if (win !== null && fl != <i64>win.dims[0]) return ctx.error("frame_length " + fl.toString() + " differs from the window length " + win.dims[0].toString());
  const len = x.dims[1];
  if (fl < 1 || fl > <i64>len) return ctx.error("frame_length " + fl.toString() + " must be in [1, " + len.toString() + "]");
  if (step < 1) return ctx.error("frame_step must be positive, is " + step.toString());
  const L = <i32>fl;
  const frames = (len - L) / <i32>step + 1;
  const complex = x.dims[2] == 2;
  const bins = onesided && !complex ? L / 2 + 1 : L;
  const out = newTensor(x.dtype, [x.dims[0], frames, bins, 2], "output of " + ctx.label());
  if (out === null) return;
  const tw = twiddles(L);
  const cs = complex ? 2 : 1;
  for (let b = 0; b < x.dims[0]; b++) {
    for (let f = 0; f < frames; f++) {
      const start = f * <i32>step;
      for (let k = 0; k < bins; k++) {
        let sr: f64 = 0;
        let si: f64 = 0;
        for (let t = 0; t < L; t++) {
          const e = (b * len + start + t) * cs;
          const w = win !== null ? win.loadF64(t) : 1.0;
          const vr = x.loadF64(e) * w;
          const vi = complex ? x.loadF64(e + 1) * w : 0;
          const q = <i32>((<i64>k * <i64>t) % <i64>L);
          const c = tw[2 * q];
          const s = -tw[2 * q + 1];
          sr += vr * c - vi * s;
          si += vr * s + vi * c;
        }
        const e = (((b * frames + f) * bins) + k) * 2;
        out.storeF64(e, sr);
        out.storeF64(e + 1, si);
      }
    }
  }
  ctx.setOutput(0, out);
}

function scalarF64(ctx: OpContext, i: i32, name: string): f64 {
  const t = ctx.input(i, name);
  if (t === null) return 0;
  if (!isNumericType(t.dtype)) {
    ctx.unsupportedType(t, name);
    return 0;
  }
  if (t.size != 1) {
    ctx.error(name + " must be a scalar, has shape " + dimsToString(t.dims));
    return 0;
  }
  return t.loadF64(0);
}

/** MelWeightMatrix: triangular filters between mel-spaced bin edges, as the ONNX reference computes them. */
export function melWeightMatrixOp(ctx: OpContext): void {
  const bins = scalarInt(ctx, 0, "num_mel_bins", -1);
  const dftLen = scalarInt(ctx, 1, "dft_length", -1);
  const rate = scalarInt(ctx, 2, "sample_rate", -1);
  const lo = scalarF64(ctx, 3, "lower_edge_hertz");
  const hi = scalarF64(ctx, 4, "upper_edge_hertz");
  const dtype = <i32>ctx.attrInt("output_datatype", FLOAT);
  if (failed()) return;
  if (!isNumericType(dtype)) return unsupported("data type " + dtype.toString() + " as the output_datatype of " + ctx.where());
  if (bins < 1 || bins > 65536 || dftLen < 1 || dftLen > 0x7fffff || rate < 1) return ctx.error("num_mel_bins, dft_length and sample_rate must be positive");
  const m = <i32>bins;
  const spec = <i32>dftLen / 2 + 1;
  const lowMel = (2595 * Math.log1p(lo / 700)) / Math.LN10;
  const highMel = (2595 * Math.log1p(hi / 700)) / Math.LN10;
  const melStep = (highMel - lowMel) / <f64>(m + 2);
  const edges = new StaticArray<i32>(m + 2);
  for (let i = 0; i < m + 2; i++) {
    const hz = 700 * Math.expm1(((<f64>i * melStep + lowMel) / 2595) * Math.LN10);
    const e = Math.floor((<f64>(dftLen + 1) * hz) / <f64>rate);
    if (!(e >= 0 && e < <f64>spec)) return ctx.error("filter edge " + e.toString() + " falls outside the " + spec.toString() + " spectrogram bins");
    edges[i] = <i32>e;
  }
  const out = newTensor(dtype, [spec, m], "output of " + ctx.label());
  if (out === null) return;
  for (let i = 0; i < m; i++) {
    const left = edges[i];
    const center = edges[i + 1];
    const right = edges[i + 2];
    if (center == left) out.storeF64(center * m + i, 1);
    else for (let j = left; j <= center; j++) out.storeF64(j * m + i, <f64>(j - left) / <f64>(center - left));
    if (right > center) for (let j = center; j < right; j++) out.storeF64(j * m + i, <f64>(right - j) / <f64>(right - center));
  }
  ctx.setOutput(0, out);
}
