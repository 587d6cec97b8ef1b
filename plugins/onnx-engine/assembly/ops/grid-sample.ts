// GridSample (opset 16: bilinear / nearest / bicubic; opset 20: linear / nearest / cubic, and
// volumetric input): samples X [N, C, H, W] at grid [N, Ho, Wo, 2] (x, y in [-1, 1]), or
// X [N, C, D, H, W] at grid [N, Do, Ho, Wo, 3] (x, y, z), with zeros, border or reflection
// padding, following onnxruntime's CPU kernel step by step.
import { failed } from "../errors";
import { FLOAT, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";

const BILINEAR: i32 = 0;
const NEAREST: i32 = 1;
const BICUBIC: i32 = 2;

const ZEROS: i32 = 0;
const BORDER: i32 = 1;
const REFLECTION: i32 = 2;

function denormalize(v: f32, len: i32, alignCorners: bool): f32 {
  return alignCorners ? ((v + 1) / 2) * <f32>(len - 1) : ((v + 1) * <f32>len - 1) / 2;
}

/** Reflects x into [lo, hi] as often as needed. */
function reflect(x: f32, lo: f32, hi: f32): f32 {
  const range = hi - lo;
  if (x < lo) {
    const dx = lo - x;
    const n = <i32>(dx / range);
    const r = dx - <f32>n * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = <i32>(dx / range);
    const r = dx - <f32>n * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

class Sampler {
  plane: usize = 0;
  d: i32 = 1;
  h: i32 = 0;
  w: i32 = 0;
  padding: i32 = ZEROS;
  xMin: f32 = 0;
  xMax: f32 = 0;
  yMin: f32 = 0;
  yMax: f32 = 0;
  zMin: f32 = 0;
  zMax: f32 = 0;

  pixel(r: i64, c: i64): f32 {
    return this.voxel(0, r, c);
  }

  voxel(z: i64, r: i64, c: i64): f32 {
    const D = <i64>this.d, H = <i64>this.h, W = <i64>this.w;
    if (this.padding == ZEROS) {
      if (c < 0 || c >= W || r < 0 || r >= H || z < 0 || z >= D) return 0;
    } else {
      if (this.padding == REFLECTION) {
        c = <i64>reflect(<f32>c, this.xMin, this.xMax);
        r = <i64>reflect(<f32>r, this.yMin, this.yMax);
        if (D > 1) z = <i64>reflect(<f32>z, this.zMin, this.zMax);
      }
      // border; after reflection the index can still be one past the edge (max = W - 0.5)
      c = c < 0 ? 0 : c >= W ? W - 1 : c;
      r = r < 0 ? 0 : r >= H ? H - 1 : r;
      z = z < 0 ? 0 : z >= D ? D - 1 : z;
    }
    return load<f32>(this.plane + (<usize>((z * H + r) * W + c) << 2));
  }
}

function cubicCoeffs(t: f32, k: i32): f32 {
  const a: f32 = -0.75;
  const x = Mathf.abs(t);
  if (k == 0) return ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
  if (k == 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (k == 2) return ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
  return ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

export function gridSampleOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const grid = ctx.float(1, "grid");
  if (x === null || grid === null) return;
  const modeName = ctx.attrString("mode", ctx.opset >= 20 ? "linear" : "bilinear");
  const paddingName = ctx.attrString("padding_mode", "zeros");
  const align = ctx.attrInt("align_corners", 0) != 0;
  if (failed()) return;
  let mode = -1;
  if (modeName == "nearest") mode = NEAREST;
  else if (modeName == (ctx.opset >= 20 ? "linear" : "bilinear")) mode = BILINEAR;
  else if (modeName == (ctx.opset >= 20 ? "cubic" : "bicubic")) mode = BICUBIC;
  if (mode < 0) return ctx.error('attribute mode has invalid value "' + modeName + '" (' + (ctx.opset >= 20 ? "linear, nearest or cubic" : "bilinear, nearest or bicubic") + " in opset " + ctx.opset.toString() + ")");
  let padding = -1;
  if (paddingName == "zeros") padding = ZEROS;
  else if (paddingName == "border") padding = BORDER;
  else if (paddingName == "reflection") padding = REFLECTION;
  if (padding < 0) return ctx.error('attribute padding_mode has invalid value "' + paddingName + '"');
  const volumetric = x.rank == 5 && ctx.opset >= 20;
  if (x.rank != 4 && !volumetric) return ctx.error("X must be 4-D [N, C, H, W]" + (ctx.opset >= 20 ? " or 5-D [N, C, D, H, W]" : "") + ", has shape " + dimsToString(x.dims));
  if (volumetric && mode == BICUBIC) return ctx.error("mode cubic needs 4-D input, X has shape " + dimsToString(x.dims));
  const sp = x.rank - 2;
  const n = x.dims[0], c = x.dims[1];
  const d = volumetric ? x.dims[2] : 1;
  const h = x.dims[x.rank - 2], w = x.dims[x.rank - 1];
  const gridOk = grid.rank == x.rank && grid.dims[0] == n && grid.dims[x.rank - 1] == sp;
  if (!gridOk) return ctx.error("grid must have shape [" + n.toString() + (volumetric ? ", D_out, H_out, W_out, 3]" : ", H_out, W_out, 2]") + ", has " + dimsToString(grid.dims));
  const outDims = [n, c];
  for (let i = 1; i <= sp; i++) outDims.push(grid.dims[i]);
  const out = newTensor(FLOAT, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  if (h == 0 || w == 0 || d == 0) return ctx.error("X has an empty spatial dimension " + dimsToString(x.dims));
  const s = new Sampler();
  s.d = d;
  s.h = h;
  s.w = w;
  s.padding = padding;
  s.xMin = align ? 0 : -0.5;
  s.yMin = align ? 0 : -0.5;
  s.zMin = align ? 0 : -0.5;
  s.xMax = align ? <f32>(w - 1) : <f32>w - 0.5;
  s.yMax = align ? <f32>(h - 1) : <f32>h - 0.5;
  s.zMax = align ? <f32>(d - 1) : <f32>d - 0.5;
  const plane = <usize>d * <usize>h * <usize>w;
  const outPlane = <usize>(out.size / (n * c));
  const gs = <usize>sp;
  for (let b = 0; b < n; b++) {
    const g = grid.ptr + ((<usize>b * outPlane * gs) << 2);
    for (let ch = 0; ch < c; ch++) {
      s.plane = x.ptr + (((<usize>b * <usize>c + <usize>ch) * plane) << 2);
      const dst = out.ptr + (((<usize>b * <usize>c + <usize>ch) * outPlane) << 2);
      for (let p: usize = 0; p < outPlane; p++) {
        const q = g + ((p * gs) << 2);
        const fx = denormalize(load<f32>(q), w, align);
        const fy = denormalize(load<f32>(q + 4), h, align);
        const v = volumetric ? sample3(s, mode, fx, fy, denormalize(load<f32>(q + 8), d, align)) : sample(s, mode, fx, fy);
        store<f32>(dst + (p << 2), v);
      }
    }
  }
  ctx.setOutput(0, out);
}

function sample(s: Sampler, mode: i32, x: f32, y: f32): f32 {
  if (mode == NEAREST) {
    x = f32.nearest(x);
    y = f32.nearest(y);
  }
  if (mode != BICUBIC && (x < s.xMin || x > s.xMax || y < s.yMin || y > s.yMax)) {
    if (s.padding == BORDER) {
      x = x < 0 ? 0 : x > <f32>(s.w - 1) ? <f32>(s.w - 1) : x;
      y = y < 0 ? 0 : y > <f32>(s.h - 1) ? <f32>(s.h - 1) : y;
    } else if (s.padding == REFLECTION) {
      x = reflect(x, s.xMin, s.xMax);
      y = reflect(y, s.yMin, s.yMax);
    }
  }
  if (!isFinite<f32>(x) || !isFinite<f32>(y)) return s.padding == ZEROS ? 0 : NaN;
  if (mode == NEAREST) return s.pixel(<i64>y, <i64>x);
  if (mode == BILINEAR) {
    const x1 = Mathf.floor(x), y1 = Mathf.floor(y);
    const dx1 = x - x1, dy1 = y - y1;
    const dx2: f32 = 1 - dx1, dy2: f32 = 1 - dy1;
    const c1 = <i64>x1, r1 = <i64>y1;
    const p11 = s.pixel(r1, c1), p12 = s.pixel(r1, c1 + 1);
    const p21 = s.pixel(r1 + 1, c1), p22 = s.pixel(r1 + 1, c1 + 1);
    return dy2 * (dx2 * p11 + dx1 * p12) + dy1 * (dx2 * p21 + dx1 * p22);
  }
  const x0 = Mathf.floor(x) - 1, y0 = Mathf.floor(y) - 1;
  const c0 = <i64>x0, r0 = <i64>y0;
  const tx = x - x0 - 1, ty = y - y0 - 1;
  let acc: f32 = 0;
  for (let i = 0; i < 4; i++) {
    const v = cubicCoeffs(tx, 0) * s.pixel(r0 + i, c0) + cubicCoeffs(tx, 1) * s.pixel(r0 + i, c0 + 1) + cubicCoeffs(tx, 2) * s.pixel(r0 + i, c0 + 2) + cubicCoeffs(tx, 3) * s.pixel(r0 + i, c0 + 3);
    acc += cubicCoeffs(ty, i) * v;
  }
  return acc;
}


/** Trilinear / nearest sampling of a volume at (x, y, z). */
function sample3(s: Sampler, mode: i32, x: f32, y: f32, z: f32): f32 {
  if (mode == NEAREST) {
    x = f32.nearest(x);
    y = f32.nearest(y);
    z = f32.nearest(z);
  }
  if (x < s.xMin || x > s.xMax || y < s.yMin || y > s.yMax || z < s.zMin || z > s.zMax) {
    if (s.padding == BORDER) {
      x = x < 0 ? 0 : x > <f32>(s.w - 1) ? <f32>(s.w - 1) : x;
      y = y < 0 ? 0 : y > <f32>(s.h - 1) ? <f32>(s.h - 1) : y;
      z = z < 0 ? 0 : z > <f32>(s.d - 1) ? <f32>(s.d - 1) : z;
    } else if (s.padding == REFLECTION) {
      x = reflect(x, s.xMin, s.xMax);
      y = reflect(y, s.yMin, s.yMax);
      z = reflect(z, s.zMin, s.zMax);
    }
  }
  if (!isFinite<f32>(x) || !isFinite<f32>(y) || !isFinite<f32>(z)) return s.padding == ZEROS ? 0 : NaN;
  if (mode == NEAREST) return s.voxel(<i64>z, <i64>y, <i64>x);
  const x1 = Mathf.floor(x), y1 = Mathf.floor(y), z1 = Mathf.floor(z);
  const dx1 = x - x1, dy1 = y - y1, dz1 = z - z1;
  const dx2: f32 = 1 - dx1, dy2: f32 = 1 - dy1, dz2: f32 = 1 - dz1;
  const c1 = <i64>x1, r1 = <i64>y1, k1 = <i64>z1;
  const front = dy2 * (dx2 * s.voxel(k1, r1, c1) + dx1 * s.voxel(k1, r1, c1 + 1)) + dy1 * (dx2 * s.voxel(k1, r1 + 1, c1) + dx1 * s.voxel(k1, r1 + 1, c1 + 1));
  const back = dy2 * (dx2 * s.voxel(k1 + 1, r1, c1) + dx1 * s.voxel(k1 + 1, r1, c1 + 1)) + dy1 * (dx2 * s.voxel(k1 + 1, r1 + 1, c1) + dx1 * s.voxel(k1 + 1, r1 + 1, c1 + 1));
  return dz2 * front + dz1 * back;
}
