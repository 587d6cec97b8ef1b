// RoiAlign (opsets 10, 16): for each region of interest, output_height x output_width bins,
// each the average (or max) of bilinear samples on a sampling_ratio grid (adaptive when 0).
// Follows onnxruntime's CPU kernel, including its max mode (the max of the weighted corner
// values of each sample) and opset 10's output_half_pixel coordinates.
import { failed } from "../errors";
import { FLOAT, INT32, INT64, dimsToString, newTensor } from "../tensor";
import { OpContext } from "./context";

export function roiAlignOp(ctx: OpContext): void {
  const x = ctx.float(0, "X");
  const rois = ctx.float(1, "rois");
  const ind = ctx.input(2, "batch_indices");
  if (x === null || rois === null || ind === null) return;
  if (ind.dtype != INT64 && ind.dtype != INT32) return ctx.unsupportedType(ind, "batch_indices");
  const modeName = ctx.attrString("mode", "avg");
  const oh64 = ctx.attrInt("output_height", 1);
  const ow64 = ctx.attrInt("output_width", 1);
  const ratio64 = ctx.attrInt("sampling_ratio", 0);
  const spatialScale = ctx.attrFloat("spatial_scale", 1);
  const coord = ctx.opset >= 16 ? ctx.attrString("coordinate_transformation_mode", "half_pixel") : "output_half_pixel";
  if (failed()) return;
  if (modeName != "avg" && modeName != "max") return ctx.error('attribute mode has invalid value "' + modeName + '" (avg or max)');
  if (coord != "half_pixel" && coord != "output_half_pixel") return ctx.error('attribute coordinate_transformation_mode has invalid value "' + coord + '"');
  if (oh64 < 1 || ow64 < 1 || oh64 > 65536 || ow64 > 65536) return ctx.error("output_height and output_width must be in [1, 65536]");
  if (ratio64 < 0 || ratio64 > 65536) return ctx.error("sampling_ratio must be >= 0, is " + ratio64.toString());
  if (x.rank != 4) return ctx.error("X must be 4-D [N, C, H, W], has shape " + dimsToString(x.dims));
  if (rois.rank != 2 || rois.dims[1] != 4) return ctx.error("rois must have shape [num_rois, 4], has " + dimsToString(rois.dims));
  const numRois = rois.dims[0];
  if (ind.rank != 1 || ind.dims[0] != numRois) return ctx.error("batch_indices must have shape [" + numRois.toString() + "], has " + dimsToString(ind.dims));
  const isMax = modeName == "max";
  const offset: f32 = coord == "half_pixel" ? 0.5 : 0;
  const oh = <i32>oh64, ow = <i32>ow64, ratio = <i32>ratio64;
  const n = x.dims[0], c = x.dims[1], h = x.dims[2], w = x.dims[3];
  const out = newTensor(FLOAT, [numRois, c, oh, ow], "output of " + ctx.label());
  if (out === null) return;
  for (let r = 0; r < numRois; r++) {
    const bi: i64 = ind.dtype == INT64 ? ind.getI64(r) : <i64>load<i32>(ind.ptr + (<usize>r << 2));
    if (bi < 0 || bi >= <i64>n) return ctx.error("batch index " + bi.toString() + " of roi " + r.toString() + " is out of range for batch size " + n.toString());
    const startW = rois.getF32(r * 4) * spatialScale - offset;
    const startH = rois.getF32(r * 4 + 1) * spatialScale - offset;
    const endW = rois.getF32(r * 4 + 2) * spatialScale - offset;
    const endH = rois.getF32(r * 4 + 3) * spatialScale - offset;
    let roiW = endW - startW;
    let roiH = endH - startH;
    if (offset == 0) {
      // output_half_pixel: malformed rois are forced to be 1x1
      roiW = max<f32>(roiW, 1);
      roiH = max<f32>(roiH, 1);
    }
    const binH: f32 = roiH / <f32>oh;
    const binW: f32 = roiW / <f32>ow;
    const gridH = ratio > 0 ? ratio : <i32>Mathf.ceil(roiH / <f32>oh);
    const gridW = ratio > 0 ? ratio : <i32>Mathf.ceil(roiW / <f32>ow);
    // an adaptive grid follows the roi's size: refuse absurd rois instead of sampling for ever
    if (<i64>gridH * <i64>gridW > (1 << 24)) return ctx.error("roi " + r.toString() + " needs a " + gridH.toString() + " x " + gridW.toString() + " sampling grid per bin (at most 2^24 samples)");
    const count: f32 = <f32>max<i32>(gridH * gridW, 1);
    for (let ch = 0; ch < c; ch++) {
      const plane = x.ptr + (((<usize>bi * <usize>c + <usize>ch) * <usize>h * <usize>w) << 2);
      const dst = out.ptr + (((<usize>r * <usize>c + <usize>ch) * <usize>oh * <usize>ow) << 2);
      for (let ph = 0; ph < oh; ph++) {
        for (let pw = 0; pw < ow; pw++) {
          let acc: f32 = 0;
          let first = true;
          for (let iy = 0; iy < gridH; iy++) {
            let y: f32 = startH + <f32>ph * binH + (<f32>iy + 0.5) * binH / <f32>gridH;
            for (let ix = 0; ix < gridW; ix++) {
              let xx: f32 = startW + <f32>pw * binW + (<f32>ix + 0.5) * binW / <f32>gridW;
              let v: f32 = 0;
              let yy = y;
              if (!(yy < -1.0 || yy > <f32>h || xx < -1.0 || xx > <f32>w)) {
                if (yy <= 0) yy = 0;
                if (xx <= 0) xx = 0;
                let yLow = <i32>yy, xLow = <i32>xx;
                let yHigh: i32, xHigh: i32;
                if (yLow >= h - 1) {
                  yHigh = yLow = h - 1;
                  yy = <f32>yLow;
                } else yHigh = yLow + 1;
                if (xLow >= w - 1) {
                  xHigh = xLow = w - 1;
                  xx = <f32>xLow;
                } else xHigh = xLow + 1;
                const ly = yy - <f32>yLow, lx = xx - <f32>xLow;
                const hy: f32 = 1 - ly, hx: f32 = 1 - lx;
                const p1 = load<f32>(plane + (<usize>(yLow * w + xLow) << 2));
                const p2 = load<f32>(plane + (<usize>(yLow * w + xHigh) << 2));
                const p3 = load<f32>(plane + (<usize>(yHigh * w + xLow) << 2));
                const p4 = load<f32>(plane + (<usize>(yHigh * w + xHigh) << 2));
                if (isMax) v = max<f32>(max<f32>(max<f32>(hy * hx * p1, hy * lx * p2), ly * hx * p3), ly * lx * p4);
                else v = hy * hx * p1 + hy * lx * p2 + ly * hx * p3 + ly * lx * p4;
              }
              if (isMax) {
                acc = first ? v : max<f32>(acc, v);
                first = false;
              } else acc += v;
            }
          }
          store<f32>(dst + (<usize>(ph * ow + pw) << 2), isMax ? acc : acc / count);
        }
      }
    }
  }
  ctx.setOutput(0, out);
}
