// ConvTranspose (1-D, 2-D, 3-D; pads, auto_pad, output_padding, output_shape, strides,
// dilations, group) as the adjoint of Conv: per image and group, col = W^T * X with the SIMD
// GEMM (ops/gemm.ts), then col2im scatter-adds col into the output. The geometry is a Conv
// Window (ops/window.ts) seen from the output side: the output is the "input" image and X's
// spatial positions are the window positions.
import { failed, unsupported } from "../errors";
import { FLOAT, MAX_TENSOR_BYTES, allocBuffer, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";
import { sgemm } from "./gemm";
import { Window, ints, kernelShape } from "./window";

/** Adds col [C * kd*kh*kw, inD*inH*inW] (X's positions) into image [C, D, H, W]: the adjoint of im2col. */
function col2im(pcol: usize, channels: i32, w: Window, px: usize): void {
  const D = w.inDims[0], H = w.inDims[1], W = w.inDims[2];
  const KD = w.kernel[0], KH = w.kernel[1], KW = w.kernel[2];
  const OD = w.outDims[0], OH = w.outDims[1], OW = w.outDims[2];
  const SD = w.strides[0], SH = w.strides[1], SW = w.strides[2];
  const DD = w.dilations[0], DH = w.dilations[1], DW = w.dilations[2];
  const PD = w.padBegin[0], PH = w.padBegin[1], PW = w.padBegin[2];
  let src = pcol;
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
                src += <usize>OW << 2;
                continue;
              }
              const row = plane + ((<usize>(id * H + ih) * <usize>W) << 2);
              let iw = e * DW - PW;
              for (let ow = 0; ow < OW; ow++, iw += SW, src += 4) {
                if (iw >= 0 && iw < W) {
                  const p = row + (<usize>iw << 2);
                  store<f32>(p, load<f32>(p) + load<f32>(src));
                }
              }
            }
          }
        }
      }
    }
  }
}

export function convTransposeOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const wt = ctx.float(1, "W");
  if (x === null || wt === null) return;
  const bias = ctx.optFloat(2, "B");
  if (failed()) return;
  const r = x.rank;
  if (r < 3) return ctx.error("X must have rank >= 3 (N, C, spatial...), has shape " + dimsToString(x.dims));
  const s = r - 2;
  if (s > 3) return unsupported("ConvTranspose with " + s.toString() + " spatial dimensions in " + ctx.label() + " (at most 3)");
  if (wt.rank != r) return ctx.error("W shape " + dimsToString(wt.dims) + " does not match X rank " + r.toString());
  const group64 = ctx.attrInt("group", 1);
  if (failed()) return;
  const n = x.dims[0], c = x.dims[1];
  if (group64 < 1 || group64 > <i64>c) return ctx.error("invalid group " + group64.toString());
  const group = <i32>group64;
  if (wt.dims[0] != c) return ctx.error("W shape " + dimsToString(wt.dims) + " needs " + c.toString() + " input channels first (X has " + c.toString() + ")");
  if (c % group != 0) return ctx.error("channels " + c.toString() + " are not divisible by group " + group.toString());
  const cg = c / group;
  const mg = wt.dims[1];
  const m = mg * group;
  const kernel = new StaticArray<i32>(s);
  for (let i = 0; i < s; i++) kernel[i] = wt.dims[i + 2];
  const ks = kernelShape(ctx, s, false);
  if (failed()) return;
  if (ks !== null) {
    for (let i = 0; i < s; i++) if (ks[i] != kernel[i]) return ctx.error("kernel_shape does not match W shape " + dimsToString(wt.dims));
  }
  if (bias !== null && (bias.rank != 1 || bias.dims[0] != m)) return ctx.error("B shape " + dimsToString(bias.dims) + " should be [" + m.toString() + "]");
  const strides = ints(ctx, "strides", s, 1, 1);
  if (strides === null) return;
  const dilations = ints(ctx, "dilations", s, 1, 1);
  if (dilations === null) return;
  const outPad = ints(ctx, "output_padding", s, 0, 0);
  if (outPad === null) return;
  const autoPad = ctx.attrString("auto_pad", "NOTSET");
  if (failed()) return;
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER" && autoPad != "VALID") return ctx.error('attribute auto_pad has invalid value "' + autoPad + '"');
  const padsAttr = ints(ctx, "pads", 2 * s, 0, 0);
  if (padsAttr === null) return;
  const outShape = ctx.attrInts("output_shape");
  if (failed()) return;
  if (outShape !== null && outShape.length != s) return ctx.error("attribute output_shape has " + outShape.length.toString() + " values, expected " + s.toString() + " (one per spatial dimension)");
  // i64: the full output size below may pass 2^31 before it is checked
  const pads = new StaticArray<i64>(2 * s);
  if (autoPad == "NOTSET") for (let i = 0; i < 2 * s; i++) pads[i] = padsAttr[i];

  const w = new Window();
  w.spatial = s;
  const off = 3 - s;
  const outDims = [n, m];
  for (let i = 0; i < s; i++) {
    const inD = <i64>x.dims[i + 2];
    const st = <i64>strides[i], dl = <i64>dilations[i], op = <i64>outPad[i];
    if (op >= max<i64>(st, dl)) return ctx.error("output_padding " + op.toString() + " must be less than max(stride, dilation) = " + max<i64>(st, dl).toString() + " in spatial dimension " + i.toString());
    const full: i64 = (inD - 1) * st + op + (<i64>kernel[i] - 1) * dl + 1;
    let target: i64 = -1;
    if (outShape !== null) target = outShape[i];
    else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") target = inD * st;
    if (outShape !== null && target < 0) return ctx.error("output_shape has negative value " + target.toString());
    if (outShape !== null && target > full && (target - op - ((<i64>kernel[i] - 1) * dl + 1)) / st + 1 != inD) {
      // a larger output than the full one is allowed only while a Conv of it still gives X's size
      return ctx.error("output_shape " + target.toString() + " is inconsistent with input size " + inD.toString() + " in spatial dimension " + i.toString() + " (at most " + (full + st - 1).toString() + ")");
    }
    if (target >= 0) {
      const total = max<i64>(0, full - target);
      // onnxruntime: SAME_UPPER puts the odd pad at the end, everything else at the start
      if (autoPad == "SAME_UPPER") {
        pads[i] = total / 2;
        pads[i + s] = total - total / 2;
      } else {
        pads[i] = total - total / 2;
        pads[i + s] = total / 2;
      }
    }
    const o: i64 = target >= 0 && outShape !== null ? target : full - pads[i] - pads[i + s];
    if (o <= 0 || o > 0x7fffffff) return ctx.error("computed output size " + o.toString() + " is invalid in spatial dimension " + i.toString());
    const j = i + off;
    w.inDims[j] = <i32>o; // the image col2im writes
    w.outDims[j] = <i32>inD; // X's positions
    w.kernel[j] = kernel[i];
    w.strides[j] = <i32>st;
    w.dilations[j] = <i32>dl;
    w.padBegin[j] = <i32>pads[i];
    w.padEnd[j] = <i32>pads[i + s];
    outDims.push(<i32>o);
  }
  const out = newTensor(FLOAT, outDims, "output of " + ctx.label());
  if (out === null) return;
  if (out.size == 0) return ctx.setOutput(0, out);
  const inSize = w.outSize; // X positions per channel
  const imgSize = w.inSize; // output positions per channel
  const kSize = w.kernelSize;
  const rows = <i64>mg * <i64>kSize;
  if (rows * <i64>inSize * 4 > MAX_TENSOR_BYTES) return ctx.error("col buffer would exceed the engine's tensor limit");
  // W^T per group: [group][mg * kSize][cg], so each product is a plain row-major GEMM
  const wtT = allocBuffer(<i32>(<i64>group * rows * <i64>cg * 4));
  const pT = changetype<usize>(wtT);
  for (let g = 0; g < group; g++) {
    for (let ci = 0; ci < cg; ci++) {
      const srcRow = wt.ptr + ((<usize>(g * cg + ci) * <usize>rows) << 2);
      for (let q = 0; q < <i32>rows; q++) {
        store<f32>(pT + ((<usize>g * <usize>rows * <usize>cg + <usize>q * <usize>cg + <usize>ci) << 2), load<f32>(srcRow + (<usize>q << 2)));
      }
    }
  }
  const col = allocBuffer(<i32>(rows * <i64>inSize * 4));
  const pc = changetype<usize>(col);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < group; g++) {
      memory.fill(pc, 0, <usize>(rows * <i64>inSize * 4));
      const px = x.ptr + ((<usize>(b * c + g * cg) * <usize>inSize) << 2);
      sgemm(<i32>rows, inSize, cg, 1, pT + ((<usize>g * <usize>rows * <usize>cg) << 2), false, px, false, pc);
      col2im(pc, mg, w, out.ptr + ((<usize>(b * m + g * mg) * <usize>imgSize) << 2));
    }
    if (bias !== null) {
      for (let f = 0; f < m; f++) {
        const v = bias.getF32(f);
        const row = out.ptr + ((<usize>(b * m + f) * <usize>imgSize) << 2);
        for (let p = 0; p < imgSize; p++) store<f32>(row + (<usize>p << 2), load<f32>(row + (<usize>p << 2)) + v);
      }
    }
  }
  ctx.setOutput(0, out);
}
