// Conv (1-D, 2-D, 3-D; pads, auto_pad, strides, dilations, group) as im2col + GEMM.
import { failed, unsupported } from "../errors";
import { FLOAT, MAX_TENSOR_BYTES, allocBuffer, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";
import { sgemm } from "./gemm";
import { Window, kernelShape, resolveWindow } from "./window";

/** Unfolds one image [C, D, H, W] into col [C * kd*kh*kw, outD*outH*outW] (copies 4-byte values, so int32 too). */
export function im2col(px: usize, channels: i32, w: Window, pcol: usize): void {
  const D = w.inDims[0], H = w.inDims[1], W = w.inDims[2];
  const KD = w.kernel[0], KH = w.kernel[1], KW = w.kernel[2];
  const OD = w.outDims[0], OH = w.outDims[1], OW = w.outDims[2];
  const SD = w.strides[0], SH = w.strides[1], SW = w.strides[2];
  const DD = w.dilations[0], DH = w.dilations[1], DW = w.dilations[2];
  const PD = w.padBegin[0], PH = w.padBegin[1], PW = w.padBegin[2];
  let dst = pcol;
  for (let c = 0; c < channels; c++) {
    const plane = px + ((<usize>c * <usize>D * <usize>H * <usize>W) << 2);
    for (let a = 0; a < KD; a++) {
      for (let b = 0; b < KH; b++) {
        for (let e = 0; e < KW; e++) {
          for (let od = 0; od < OD; od++) {
            const id = od * SD - PD + a * DD;
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * SH - PH + b * DH;
              if (id < 0 || id >= D || ih < 0 || ih >= H) {
                memory.fill(dst, 0, <usize>OW << 2);
                dst += <usize>OW << 2;
                continue;
              }
              const row = plane + ((<usize>(id * H + ih) * <usize>W) << 2);
              let iw = e * DW - PW;
              for (let ow = 0; ow < OW; ow++, iw += SW, dst += 4) {
                store<f32>(dst, iw >= 0 && iw < W ? load<f32>(row + (<usize>iw << 2)) : <f32>0);
              }
            }
          }
        }
      }
    }
  }
}

export function convOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const wt = ctx.float(1, "W");
  if (x === null || wt === null) return;
  const bias = ctx.optFloat(2, "B");
  if (failed()) return;
  const r = x.rank;
  if (r < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), has shape " + dimsToString(x.dims));
  const s = r - 2;
  if (s > 3) return unsupported("Conv with " + s.toString() + " spatial dimensions in " + ctx.label() + " (at most 3)");
  if (wt.rank != r) return ctx.error("W shape " + dimsToString(wt.dims) + " does not match X rank " + r.toString());
  const group64 = ctx.attrInt("group", 1);
  if (failed()) return;
  const n = x.dims[0], c = x.dims[1], m = wt.dims[0];
  if (group64 < 1 || group64 > <i64>c) return ctx.error("invalid group " + group64.toString());
  const group = <i32>group64;
  if (c % group != 0 || m % group != 0) return ctx.error("channels " + c.toString() + " and filters " + m.toString() + " are not divisible by group " + group.toString());
  const cg = c / group;
  const mg = m / group;
  if (wt.dims[1] != cg) return ctx.error("W shape " + dimsToString(wt.dims) + " expects " + wt.dims[1].toString() + " input channels per group, X has " + cg.toString());
  const kernel = new StaticArray<i32>(s);
  for (let i = 0; i < s; i++) kernel[i] = wt.dims[i + 2];
  const ks = kernelShape(ctx, s, false);
  if (failed()) return;
  if (ks !== null) {
    for (let i = 0; i < s; i++) if (ks[i] != kernel[i]) return ctx.error("kernel_shape does not match W shape " + dimsToString(wt.dims));
  }
  if (bias !== null && (bias.rank != 1 || bias.dims[0] != m)) return ctx.error("B shape " + dimsToString(bias.dims) + " should be [" + m.toString() + "]");
  const w = resolveWindow(ctx, x.dims.slice(2), kernel, false, true);
  if (w === null) return;
  const outDims = [n, m];
  for (let i = 0; i < s; i++) outDims.push(w.outDims[3 - s + i]);
  const out = newTensor(FLOAT, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const inSize = w.inSize;
  const outSize = w.outSize;
  const kSize = w.kernelSize;
  const rows = <i64>cg * <i64>kSize; // GEMM K
  // 1x1 kernels with unit strides and no padding need no unfolding
  let direct = kSize == 1;
  for (let i = 0; i < 3; i++) if (w.strides[i] != 1 || w.padBegin[i] != 0 || w.padEnd[i] != 0) direct = false;
  let col: ArrayBuffer | null = null;
  if (!direct) {
    if (rows * <i64>outSize * 4 > MAX_TENSOR_BYTES) return ctx.error("im2col buffer would exceed the engine's tensor limit");
    col = allocBuffer(<i32>(rows * <i64>outSize * 4));
  }
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < group; g++) {
      const px = x.ptr + ((<usize>(b * c + g * cg) * <usize>inSize) << 2);
      const po = out.ptr + ((<usize>(b * m + g * mg) * <usize>outSize) << 2);
      if (bias !== null) {
        for (let f = 0; f < mg; f++) {
          const v = bias.getF32(g * mg + f);
          const row = po + ((<usize>f * <usize>outSize) << 2);
          for (let p = 0; p < outSize; p++) store<f32>(row + (<usize>p << 2), v);
        }
      }
      const pw = wt.ptr + ((<usize>(g * mg) * <usize>rows) << 2);
      if (col === null) {
        sgemm(mg, outSize, <i32>rows, 1, pw, false, px, false, po);
      } else {
        const pc = changetype<usize>(col);
        im2col(px, cg, w, pc);
        sgemm(mg, outSize, <i32>rows, 1, pw, false, pc, false, po);
      }
    }
  }
  ctx.setOutput(0, out);
}
